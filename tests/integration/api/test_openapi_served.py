"""``GET /api/openapi.json`` through the local Functions host with keys enforced: no key needed."""

from __future__ import annotations

from urllib.parse import urljoin

import aiohttp
import pytest

from localdev.azurite import AzuriteEndpoints
from tests.hosting import project_host
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration


async def test_the_document_is_served_without_a_key_while_the_api_needs_one(
    azurite: AzuriteEndpoints,
) -> None:
    host = project_host(azurite.connection_string)
    committed = (REPO_ROOT / "docs" / "openapi.json").read_text("utf-8")
    async with host, aiohttp.ClientSession() as session:
        url = f"{host.api_base_url}/openapi.json"
        async with session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert await response.text() == committed
            document = await response.json()
        # The relative server URL resolves to the API base, wherever the app is served.
        assert urljoin(url, document["servers"][0]["url"]) == host.api_base_url
        vaults = "/subscriptions/00000000-0000-0000-0000-0000000000ab/providers/Microsoft.DataProtection"
        async with session.get(
            f"{host.api_base_url}{vaults}/backupVaults?api-version=2026-06-01"
        ) as response:
            assert response.status == 401  # the ARM API itself still takes a key
