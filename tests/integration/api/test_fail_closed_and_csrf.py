"""Through the local Functions host: the sign-in setting never opens the API, and a write a
foreign page could send (a form's content type, a foreign Origin or Sec-Fetch-Site) changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from backup.bootstrap import Runtime, use_runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator.tokens import access_token
from localdev.functions_host import FunctionsHost
from tests.hosting import HOST_KEY, project_host
from tests.integration.api.conftest import APP_PRINCIPAL, SUB, T0, Api, vault_body, vault_path
from tests.integration.api.test_vaults_and_policies import add_instance, create_vault

pytestmark = pytest.mark.integration

API_VERSION = "?api-version=2026-06-01"
BACKUP_BODY = {
    "backupRuleOptions": {"ruleName": "BackupHourly", "triggerOption": {"retentionTagOverride": "Default"}}
}


async def serve(azurite: AzuriteEndpoints, *, auth_enabled: bool) -> AsyncIterator[tuple[FunctionsHost, Api]]:
    runtime = Runtime.from_settings(
        Settings(
            storage_connection_string=azurite.connection_string, arm_static_token=access_token(APP_PRINCIPAL)
        ),
        clock=ManualClock(T0),
        auth_enabled=auth_enabled,
        retry_after_seconds=0,
    )
    use_runtime(runtime)
    settings = {"WEBSITE_AUTH_ENABLED": "true"} if auth_enabled else {}
    host = project_host(azurite.connection_string, **settings)
    try:
        async with host:
            yield host, Api(runtime)
    finally:
        use_runtime(None)
        await runtime.close()


@pytest.fixture
async def served(azurite: AzuriteEndpoints) -> AsyncIterator[tuple[FunctionsHost, Api]]:
    async for pair in serve(azurite, auth_enabled=False):
        yield pair


@pytest.fixture
async def served_with_sign_in_setting(azurite: AzuriteEndpoints) -> AsyncIterator[tuple[FunctionsHost, Api]]:
    async for pair in serve(azurite, auth_enabled=True):
        yield pair


def forged_principal(*roles: str) -> str:
    claims = [{"typ": "name", "val": "mallory@example.com"}, *({"typ": "roles", "val": r} for r in roles)]
    document = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return base64.b64encode(json.dumps(document).encode()).decode()


async def test_the_sign_in_setting_without_easy_auth_in_front_grants_nothing_to_a_forged_principal(
    served_with_sign_in_setting: tuple[FunctionsHost, Api], vault: VaultRef
) -> None:
    # WEBSITE_AUTH_ENABLED=true set by hand and nothing in front to strip the header: a
    # principal anyone can write, claiming every role, and no function key.
    host, api = served_with_sign_in_setting
    forged = {"X-MS-CLIENT-PRINCIPAL": forged_principal("BackupReader", "BackupOperator", "RestoreOperator")}
    url = host.api_base_url + vault_path(vault) + API_VERSION
    async with aiohttp.ClientSession() as session:
        async with session.put(url, json=vault_body(), headers=forged) as response:
            assert response.status == 401
        async with session.get(url, headers=forged) as response:
            assert response.status == 401
        async with session.get(f"{host.api_base_url}/backupcenter/whoami", headers=forged) as response:
            assert response.status == 401
        async with session.get(
            f"{host.api_base_url}/x/subscriptions/{SUB}/overview{API_VERSION}", headers=forged
        ) as response:
            assert response.status == 401
    assert await api.context.store.get_vault(vault) is None
    assert await api.rows(vault) == []

    # With the key, a principal is still needed, and its roles are what it may do.
    async with aiohttp.ClientSession(headers={"x-functions-key": HOST_KEY}) as session:
        async with session.put(url, json=vault_body()) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "AuthenticationFailed"
        reader = {"X-MS-CLIENT-PRINCIPAL": forged_principal("BackupReader")}
        async with session.put(url, json=vault_body(), headers=reader) as response:
            assert response.status == 403
        assert await api.context.store.get_vault(vault) is None
        # An operator may not create vaults (an owner's act, issue 13's scoped roles)...
        operator = {"X-MS-CLIENT-PRINCIPAL": forged_principal("BackupOperator")}
        async with session.put(url, json=vault_body(), headers=operator) as response:
            assert response.status == 403
        # ...and an owner's role is not enough either: with sign-in, creating a vault also asks ARM
        # whether the caller may read its resource group, with the caller's own ARM token, which
        # only the platform's token store supplies (tests/integration/api/test_linked_checks.py).
        owner = {"X-MS-CLIENT-PRINCIPAL": forged_principal("BackupOwner")}
        async with session.put(url, json=vault_body(), headers=owner) as response:
            assert response.status == 403, await response.text()
            assert (await response.json())["error"]["code"] == "LinkedAuthorizationFailed"
    assert await api.context.store.get_vault(vault) is None


def refused_writes(origin: str) -> list[tuple[str, dict[str, str], bytes, int, str]]:
    """(what, headers, body, status, code) of writes a foreign page's form or script could send."""
    body = json.dumps(BACKUP_BODY).encode()
    return [
        ("text/plain", {"Content-Type": "text/plain"}, body, 415, "UnsupportedMediaType"),
        (
            "form-encoded",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"backupRuleOptions=x",
            415,
            "UnsupportedMediaType",
        ),
        (
            "multipart",
            {"Content-Type": "multipart/form-data; boundary=b"},
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n{}\r\n--b--\r\n',
            415,
            "UnsupportedMediaType",
        ),
        ("no content type", {}, body, 415, "UnsupportedMediaType"),
        (
            "foreign Origin",
            {"Content-Type": "application/json", "Origin": "https://evil.example"},
            body,
            403,
            "CrossSiteRequestRefused",
        ),
        (
            "same host, other port",
            {"Content-Type": "application/json", "Origin": origin.rsplit(":", 1)[0] + ":1"},
            body,
            403,
            "CrossSiteRequestRefused",
        ),
        (
            "Origin null",
            {"Content-Type": "application/json", "Origin": "null"},
            body,
            403,
            "CrossSiteRequestRefused",
        ),
        (
            "Sec-Fetch-Site cross-site",
            {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
            body,
            403,
            "CrossSiteRequestRefused",
        ),
    ]


async def test_writes_a_foreign_page_could_send_are_refused_and_change_nothing(
    served: tuple[FunctionsHost, Api], vault: VaultRef
) -> None:
    host, api = served
    await create_vault(api, vault)
    await add_instance(api, vault)
    before = await api.rows(vault)
    jobs_before = await api.context.store.list_jobs(vault)
    backup_url = (
        host.api_base_url + vault_path(vault) + "/backupInstances/disk-a-instance/backup" + API_VERSION
    )
    other = VaultRef(vault.subscription_id, vault.resource_group, vault.name + "-other")
    vault_url = host.api_base_url + vault_path(other) + API_VERSION
    async with aiohttp.ClientSession(headers={"x-functions-key": HOST_KEY}) as session:
        for what, headers, body, status, code in refused_writes(host.url):
            for method, url in (("POST", backup_url), ("PUT", vault_url)):
                async with session.request(method, url, data=body, headers=headers) as response:
                    answer: Any = await response.json()
                    assert (response.status, answer["error"]["code"]) == (status, code), (
                        what,
                        method,
                        answer,
                    )
                    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await api.rows(vault) == before
    assert await api.context.store.list_jobs(vault) == jobs_before
    assert await api.context.store.get_vault(other) is None

    # What Backup Center sends (JSON, its own origin) and what the SDK sends (JSON, no Origin) pass.
    page_headers = {"Content-Type": "application/json", "Origin": host.url, "Sec-Fetch-Site": "same-origin"}
    async with aiohttp.ClientSession(headers={"x-functions-key": HOST_KEY}) as session:
        async with session.post(backup_url, data=json.dumps(BACKUP_BODY), headers=page_headers) as response:
            assert response.status == 202, await response.text()
        async with session.put(vault_url, json=vault_body()) as response:
            assert response.status == 201, await response.text()
        # A body-less write (no content type) is not a form: stop protection takes none.
        stop = backup_url.replace("/backup?", "/stopProtection?")
        async with session.post(stop, headers={"Origin": host.url}) as response:
            assert response.status == 202, await response.text()
    assert len(await api.context.store.list_jobs(vault)) == len(jobs_before) + 1
