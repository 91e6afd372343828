"""Backup Center's routes as the worker indexes them: the page and its assets are anonymous GETs
that hold no data; ``whoami`` needs the key and answers as the API's auth would."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from backup.bootstrap import Runtime, use_runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from backup.entrypoints.web import ASSETS, asset_files
from tests.functions.conftest import IndexedFunction

pytestmark = pytest.mark.functions

SUB = "33333333-0000-4000-8000-000000000003"


def test_the_page_and_its_assets_are_anonymous_get_routes(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    for name, route in (
        ("backup-center", "backupcenter"),
        ("backup-center-assets", "backupcenter/assets/{name}"),
    ):
        trigger = indexed_functions[name].binding("httpTrigger")
        assert trigger["route"] == route
        assert trigger["methods"] == ["GET"]
        assert trigger["authLevel"].lower() == func.AuthLevel.ANONYMOUS.value


def test_whoami_needs_the_functions_key(indexed_functions: dict[str, IndexedFunction]) -> None:
    trigger = indexed_functions["backup-center-whoami"].binding("httpTrigger")
    assert trigger["route"] == "backupcenter/whoami"
    assert trigger["methods"] == ["GET"]
    assert trigger["authLevel"].lower() == func.AuthLevel.FUNCTION.value


def _get(url: str, **route_params: str) -> func.HttpRequest:
    return func.HttpRequest("GET", url, body=b"", route_params=route_params)


def test_the_page_points_at_versioned_assets_under_its_own_prefix_with_a_strict_policy(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    response = indexed_functions["backup-center"](_get("https://app.example/api/backupcenter?subscription=x"))
    html = response.get_body().decode()
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert '<meta name="api-base" content="/api">' in html
    assert 'src="/api/backupcenter/assets/app.js?v=' in html
    assert "{{" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["Cache-Control"] == "no-cache"
    # No route prefix: the page still finds its assets and the API.
    bare = indexed_functions["backup-center"](_get("https://app.example/backupcenter/")).get_body().decode()
    assert '<meta name="api-base" content="">' in bare
    assert 'src="/backupcenter/assets/app.js?v=' in bare


def _page_version(functions: dict[str, IndexedFunction]) -> str:
    html = functions["backup-center"](_get("https://app.example/api/backupcenter")).get_body().decode()
    found = re.search(r'src="/api/backupcenter/assets/app\.js\?v=([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def _asset(functions: dict[str, IndexedFunction], name: str, version: str | None) -> func.HttpResponse:
    params = {"v": version} if version is not None else {}
    url = f"https://app.example/api/backupcenter/assets/{name}"
    request = func.HttpRequest("GET", url, body=b"", params=params, route_params={"name": name})
    response: func.HttpResponse = functions["backup-center-assets"](request)
    return response


def test_the_assets_are_the_files_of_the_assets_folder() -> None:
    on_disk = {path.name for path in ASSETS.iterdir() if path.is_file()}
    assert set(asset_files()) == on_disk
    assert {"app.js", "api.js", "styles.css", "favicon.svg"} <= on_disk


@pytest.mark.parametrize("name", sorted(asset_files()))
def test_assets_are_served_with_their_type(indexed_functions: dict[str, IndexedFunction], name: str) -> None:
    mimetype = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}[(ASSETS / name).suffix]
    response = _asset(indexed_functions, name, None)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.get_body() == (ASSETS / name).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


def test_modules_of_the_pages_version_import_their_siblings_under_that_version(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    version = _page_version(indexed_functions)
    imported: set[str] = set()
    for name in sorted(n for n in asset_files() if n.endswith(".js")):
        response = _asset(indexed_functions, name, version)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=86400"
        source = (ASSETS / name).read_text("utf-8")
        served = response.get_body().decode()
        siblings = re.findall(r' from "\./([^"]+)";$', source, re.MULTILINE)
        assert re.findall(rf' from "\./([a-z0-9-]+\.js)\?v={version}";$', served, re.MULTILINE) == siblings
        assert served.replace(f"?v={version}", "") == source  # nothing else changes
        imported.update(siblings)
    # Every import names an asset, and every module but the type declarations is loaded.
    assert imported <= set(asset_files())
    assert {n for n in asset_files() if n.endswith(".js")} - imported == {"app.js", "types.js"}
    # The CSS and the icon are served as they are, cached as long.
    styles = _asset(indexed_functions, "styles.css", version)
    assert styles.get_body() == (ASSETS / "styles.css").read_bytes()
    assert styles.headers["Cache-Control"] == "public, max-age=86400"


def test_an_asset_of_another_version_is_served_as_it_is_and_not_kept(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    response = _asset(indexed_functions, "app.js", "0123456789ab")
    assert response.status_code == 200
    assert response.get_body() == (ASSETS / "app.js").read_bytes()
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "name",
    [
        "../index.html",
        "..",
        ".",
        "",
        "../../entrypoints/web.py",
        "..%2Findex.html",
        "%2e%2e%2findex.html",
        "%2E%2E",
        "..%5Cindex.html",
        "..\\index.html",
        "....//app.js",
        "./app.js",
        "assets/app.js",
        "/etc/passwd",
        "app.js/",
        "app.js%00.css",
        "app.js\x00",
        "index.html",
        "app.py",
        ".hidden.js",
        "missing.js",
        "APP.JS",
        "a/b.js",
    ],
)
def test_nothing_but_the_assets_is_served(indexed_functions: dict[str, IndexedFunction], name: str) -> None:
    response = _asset(indexed_functions, name, None)
    assert response.status_code == 404
    assert response.get_body() == b"Not found"


def test_the_cold_load_of_the_page_stays_small() -> None:
    total = (
        sum(path.stat().st_size for path in ASSETS.iterdir()) + (ASSETS.parent / "index.html").stat().st_size
    )
    assert total < 300 * 1024


class _Vaults:
    async def list_vaults(self) -> list[VaultRef]:
        return [
            VaultRef(SUB, "rg", "a"),
            VaultRef(SUB.upper(), "rg", "b"),
            VaultRef("4" * 8 + SUB[8:], "rg", "c"),
        ]


@pytest.fixture
def easy_auth() -> Iterator[None]:
    clock = ManualClock(datetime(2026, 11, 2, 8, 30, tzinfo=UTC))
    use_runtime(Runtime.from_settings(Settings(), clock=clock, store=_Vaults(), auth_enabled=True))  # type: ignore[arg-type]
    try:
        yield
    finally:
        use_runtime(None)


def _whoami(functions: dict[str, IndexedFunction], principal: dict[str, Any] | None) -> tuple[int, Any]:
    headers = {}
    if principal is not None:
        headers["X-MS-CLIENT-PRINCIPAL"] = base64.b64encode(json.dumps(principal).encode()).decode()
    request = func.HttpRequest(
        "GET", "https://app.example/api/backupcenter/whoami", body=b"", headers=headers
    )
    response = asyncio.run(functions["backup-center-whoami"](request))
    return response.status_code, json.loads(response.get_body())


def test_whoami_answers_the_callers_roles_and_the_subscriptions_with_vaults(
    indexed_functions: dict[str, IndexedFunction], easy_auth: None
) -> None:
    claims = [{"typ": "name", "val": "rita@example.com"}, {"typ": "roles", "val": "BackupReader"}]
    status, body = _whoami(indexed_functions, {"claims": claims})
    assert status == 200
    assert body == {
        "principalName": "rita@example.com",
        "authenticated": True,
        "authEnabled": True,
        "roles": ["BackupReader"],
        "grants": [{"role": "BackupReader", "scope": "/"}],
        "subscriptions": [SUB, "44444444-0000-4000-8000-000000000003"],
        "now": "2026-11-02T08:30:00Z",
    }
    # Signed in without an app role: told so, shown nothing.
    status, body = _whoami(indexed_functions, {"claims": [{"typ": "name", "val": "nobody"}]})
    assert (status, body["roles"], body["subscriptions"]) == (200, [], [])
    # Easy Auth on but no principal: the API's own 401.
    status, body = _whoami(indexed_functions, None)
    assert (status, body["error"]["code"]) == (401, "AuthenticationFailed")
