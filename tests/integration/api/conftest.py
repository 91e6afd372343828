"""The API against Azurite through the real store, calling the router directly."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from backup.names import VAULT_DATA_TABLE, VAULTS_TABLE
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator.tokens import Principal, access_token
from tests.integration.api.contract import check_answer

SUB = "00000000-0000-0000-0000-0000000000ab"
APP_PRINCIPAL = Principal("a0000000-0000-4000-8000-0000000000ab")
"""Who the API's ARM credential says it is (its token is the emulator's JWT for this principal)."""
T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
BASE = "http://testserver/api"
DEFAULT_POLICY = json.loads(
    (Path(__file__).parents[2] / "unit" / "fixtures" / "azure_disk_default_policy.json").read_text()
)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


class Api:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.context = runtime.api
        self.router = build_router()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        api_version: str | None = "2026-06-01",
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = (
            BASE
            + path
            + "?"
            + "&".join(
                part for part in ((f"api-version={api_version}" if api_version else ""), query) if part
            )
        )
        request = ApiRequest.build(method, url, headers=headers, body=raw, json_body=body)
        response = await self.router.handle(request, self.context)
        text = response.json_text()
        answer = Answer(response.status, json.loads(text) if text else None, response.headers)
        check_answer(method, path, answer.status, answer.body, answer.headers)
        return answer

    async def rows(self, vault: VaultRef) -> list[tuple[str, str, str]]:
        """Every row the vault owns: its registry row and its partition, as (table, RowKey, etag)."""
        store = self.context.store
        found: list[tuple[str, str, str]] = []
        data = await self.runtime.storage.table(VAULT_DATA_TABLE)
        async for entity in data.query_entities(
            "PartitionKey eq @pk", parameters={"pk": store.partition(vault)}
        ):
            found.append(("vaultdata", entity["RowKey"], entity.metadata["etag"]))
        registry = await self.runtime.storage.table(VAULTS_TABLE)
        async for entity in registry.query_entities(
            "PartitionKey eq @pk and RowKey eq @rk",
            parameters={
                "pk": vault.subscription_id.lower(),
                "rk": f"{vault.resource_group}:{vault.name}".lower(),
            },
        ):
            found.append(("vaults", entity["RowKey"], entity.metadata["etag"]))
        return sorted(found)


@pytest.fixture
async def api(azurite: AzuriteEndpoints) -> AsyncIterator[Api]:
    runtime = Runtime.from_settings(
        Settings(
            storage_connection_string=azurite.connection_string,
            arm_static_token=access_token(APP_PRINCIPAL),
        ),
        clock=ManualClock(T0),
        auth_enabled=False,
        retry_after_seconds=0,
        page_size=3,
    )
    yield Api(runtime)
    await runtime.close()


@pytest.fixture
def vault() -> VaultRef:
    # A fresh resource group per test keeps list-by-resource-group results to this test's vaults.
    return VaultRef(SUB, "rg-" + uuid.uuid4().hex[:8], "vault-" + uuid.uuid4().hex[:6])


def vault_path(vault: VaultRef) -> str:
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{vault.name}"
    )


def vault_body(location: str = "westus", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": location,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
        },
    }
    body.update(extra)
    return body
