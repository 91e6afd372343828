"""Backup Center's assets through the local Functions host, as a browser (or an attacker) asks
for them: raw, percent-encoded paths that the host decodes into the route's ``{name}``."""

from __future__ import annotations

import re

import aiohttp
import pytest
from yarl import URL

from localdev.azurite import AzuriteEndpoints
from tests.hosting import project_host
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration

ASSETS = REPO_ROOT / "backup" / "web" / "assets"


async def test_the_page_loads_its_modules_and_nothing_outside_the_assets_folder(
    azurite: AzuriteEndpoints,
) -> None:
    host = project_host(azurite.connection_string)
    async with host, aiohttp.ClientSession() as session:
        base = host.api_base_url

        async def get(raw_path: str) -> tuple[int, bytes, str]:
            # encoded=True: the path goes out byte for byte, neither normalised nor re-encoded.
            async with session.get(URL(base + raw_path, encoded=True)) as response:
                return response.status, await response.read(), response.headers.get("Cache-Control", "")

        status, page, _ = await get("/backupcenter")
        assert status == 200
        found = re.search(rb'src="(/api/backupcenter/assets/app\.js\?v=[0-9a-f]+)"', page)
        assert found
        app_url = found.group(1).decode().removeprefix("/api")
        status, app, cache = await get(app_url)
        assert (status, cache) == (200, "public, max-age=86400")
        # The modules app.js imports, under the page's version, are served and cached alike.
        version = app_url.rsplit("?v=", 1)[1]
        imports = re.compile(rb' from "\./([a-z0-9-]+\.js)\?v=' + version.encode() + rb'";$', re.MULTILINE)
        siblings = imports.findall(app)
        assert b"overview.js" in siblings
        for name in siblings:
            status, body, cache = await get(f"/backupcenter/assets/{name.decode()}?v={version}")
            assert (status, cache) == (200, "public, max-age=86400")
            assert body.replace(f"?v={version}".encode(), b"") == (ASSETS / name.decode()).read_bytes()

        for raw in [
            "/backupcenter/assets/..%2Findex.html",
            "/backupcenter/assets/%2e%2e%2Findex.html",
            "/backupcenter/assets/%2E%2E%2F%2E%2E%2Fentrypoints%2Fweb.py",
            "/backupcenter/assets/..%5Cindex.html",
            "/backupcenter/assets/%2e%2e",
            "/backupcenter/assets/..",
            "/backupcenter/assets/../index.html",
            "/backupcenter/assets/app.js%00.css",
            "/backupcenter/assets/index.html",
            "/backupcenter/assets/missing.js",
            "/backupcenter/assets/App.js",
        ]:
            status, body, _ = await get(raw)
            assert (status, body) in {(404, b"Not found"), (404, b"")}, raw
