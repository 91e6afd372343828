"""Scoped roles and linked checks through the local Functions host with its App Service
Authentication stand-in on: bearer tokens the Compute emulator issued, validated by the stand-in,
which injects the principal and the ARM token (forged principal headers are stripped). The app's
ARM calls and the caller's linked checks both go to the emulator."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from backup.adapters.caller_rights import ArmCallerRights
from backup.adapters.compute import ComputeGateway
from backup.bootstrap import Runtime, use_runtime
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.access import ROLE_DEFINITION_IDS, Role
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from localdev.functions_host import FunctionsHost
from localdev.functions_host.easy_auth import EasyAuthStandIn
from tests.hosting import HOST_KEY, project_host
from tests.integration.api.conftest import T0, vault_body, vault_path

pytestmark = pytest.mark.integration

APP = "d1111111-0000-4000-8000-0000000000a0"
APP_TOKEN = "stand-in-app-token"
OWNER = "d1111111-0000-4000-8000-0000000000a1"
ALICE = "d1111111-0000-4000-8000-0000000000a2"
API_VERSION = "api-version=2026-06-01"


class Client:
    def __init__(self, host: FunctionsHost, session: aiohttp.ClientSession) -> None:
        self.base = host.api_base_url
        self.session = session

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        url = f"{self.base}{path}?{API_VERSION}"
        all_headers = {"x-functions-key": HOST_KEY, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, url, data=None if body is None else json.dumps(body), headers=all_headers
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


@pytest.fixture
async def served(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> AsyncIterator[tuple[Client, str, dict[str, str]]]:
    subscription = str(uuid.uuid4())
    admin = compute_emulator.admin
    admin.reset(
        {
            "subscriptions": [
                {
                    "id": subscription,
                    "resourceGroups": [
                        {"name": "rg-a", "location": "eastus"},
                        {"name": "rg-b", "location": "eastus"},
                    ],
                }
            ],
            "principals": [{"id": APP, "token": APP_TOKEN}],
            "roleAssignments": [
                {"principalId": OWNER, "role": "Reader", "scope": f"/subscriptions/{subscription}"}
            ],
        }
    )
    tokens = {oid: admin.add_principal(oid) for oid in (OWNER, ALICE)}
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        arm_endpoint=compute_emulator.url,
        arm_ca_bundle=compute_emulator.ca_bundle,
        arm_static_token=APP_TOKEN,
    )
    gateway = ComputeGateway(
        AsyncStaticTokenCredential(APP_TOKEN),
        endpoint=compute_emulator.url,
        ca_bundle=compute_emulator.ca_bundle,
        retry_total=0,
    )
    runtime = Runtime.from_settings(
        settings,
        clock=ManualClock(T0),
        auth_enabled=True,
        retry_after_seconds=0,
        compute=gateway,
        caller_rights=ArmCallerRights(settings, retry_total=0),
    )
    use_runtime(runtime)
    stand_in = EasyAuthStandIn(
        app_roles={OWNER: ["BackupOwner"]}, names={OWNER: "owner@example.com", ALICE: "alice@example.com"}
    )
    host = project_host(azurite.connection_string, easy_auth=stand_in)
    try:
        async with host, aiohttp.ClientSession() as session:
            yield Client(host, session), subscription, tokens
    finally:
        use_runtime(None)
        await runtime.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(*roles: str) -> dict[str, str]:
    claims = [{"typ": "name", "val": "mallory"}, *({"typ": "roles", "val": role} for role in roles)]
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps({"claims": claims}).encode()).decode()}


async def test_signed_in_principals_get_what_their_scoped_roles_allow_and_forgeries_nothing(
    served: tuple[Client, str, dict[str, str]],
) -> None:
    client, subscription, tokens = served
    a, b = VaultRef(subscription, "rg-a", "vault-a"), VaultRef(subscription, "rg-b", "vault-b")
    vaults = f"/subscriptions/{subscription}/providers/Microsoft.DataProtection/backupVaults"

    # A forged principal header without a token: stripped, so no principal reaches the app.
    status, body = await client.call("GET", vaults, headers=forged("BackupOwner"))
    assert status == 401, body
    # Nor with another principal's valid token: the stand-in's principal wins.
    status, body = await client.call(
        "PUT", vault_path(a), vault_body(), headers={**bearer(tokens[ALICE]), **forged("BackupOwner")}
    )
    assert (status, body["error"]["code"]) == (403, "AuthorizationFailed"), body

    # The owner (an app role assigned in "Enterprise applications") creates both vaults: the
    # linked check asks the emulator, with the owner's own token, whether it may read the groups.
    for vault in (a, b):
        status, body = await client.call(
            "PUT", vault_path(vault), vault_body(), headers=bearer(tokens[OWNER])
        )
        assert status == 201, body
    definition = f"/providers/Microsoft.Authorization/roleDefinitions/{ROLE_DEFINITION_IDS[Role.READER]}"
    grant = vault_path(a) + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    status, body = await client.call(
        "PUT",
        grant,
        {"properties": {"roleDefinitionId": definition, "principalId": ALICE}},
        headers=bearer(tokens[OWNER]),
    )
    assert status == 201, body

    # Alice reads vault A, and the subscription's list shows it alone.
    status, body = await client.call("GET", vaults, headers=bearer(tokens[ALICE]))
    assert status == 200, body
    assert [vault["name"] for vault in body["value"]] == ["vault-a"]
    status, body = await client.call("GET", vault_path(b), headers=bearer(tokens[ALICE]))
    assert (status, body["error"]["code"]) == (403, "AuthorizationFailed")
    status, body = await client.call("GET", vaults, headers=bearer(tokens[OWNER]))
    assert sorted(vault["name"] for vault in body["value"]) == ["vault-a", "vault-b"]
    # Backup Center's whoami: Alice's one grant, and only her vault's subscription.
    status, body = await client.call("GET", "/backupcenter/whoami", headers=bearer(tokens[ALICE]))
    assert status == 200, body
    assert body["principalName"] == "alice@example.com"
    assert body["grants"] == [{"role": "BackupReader", "scope": vault_path(a)}]
    assert body["subscriptions"] == [subscription]
