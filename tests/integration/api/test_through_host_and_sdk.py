"""The API over HTTP through the local Functions host, driven by the official SDK (no mocks)."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.dataprotection import DataProtectionMgmtClient

from backup.bootstrap import Runtime, use_runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator.tokens import access_token
from localdev.functions_host import FunctionsHost
from tests.hosting import HOST_KEY, project_host
from tests.integration.api.conftest import APP_PRINCIPAL, DEFAULT_POLICY, SUB, T0, Api
from tests.integration.api.contract import check_answer
from tests.integration.api.test_jobs_points_operations import INSTANCE, seed_backups

pytestmark = pytest.mark.integration


class FunctionKeyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Sends the Functions key instead of a bearer token (the SDK refuses tokens over http)."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.http_request.headers["x-functions-key"] = HOST_KEY

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        """Every answer the SDK gets must be one the OpenAPI document describes."""
        answer = response.http_response
        text = answer.read().decode("utf-8")
        path = urlsplit(request.http_request.url).path.removeprefix("/api")
        body = json.loads(text) if text else None
        check_answer(request.http_request.method, path, answer.status_code, body, dict(answer.headers))


class NoCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no token should be requested")


@pytest.fixture
async def served(azurite: AzuriteEndpoints) -> AsyncIterator[tuple[FunctionsHost, Api]]:
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
    use_runtime(runtime)
    host = project_host(azurite.connection_string)
    try:
        async with host:
            yield host, Api(runtime)
    finally:
        use_runtime(None)
        await runtime.close()


def sdk(host: FunctionsHost) -> DataProtectionMgmtClient:
    return DataProtectionMgmtClient(
        NoCredential(),  # type: ignore[arg-type]
        SUB,
        base_url=host.api_base_url,
        authentication_policy=FunctionKeyPolicy(),
        polling_interval=0,
    )


async def test_http_errors_are_arm_errors_and_keys_are_required(served: tuple[FunctionsHost, Api]) -> None:
    host, _ = served
    url = f"{host.api_base_url}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection"
    url += "/backupVaults/v"
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "?api-version=2026-06-01") as response:
            assert response.status == 401  # no function key
        headers = {"x-functions-key": HOST_KEY, "x-ms-client-request-id": "client-1"}
        json_headers = {**headers, "Content-Type": "application/json"}
        async with session.put(
            url + "?api-version=2026-06-01", data=b"{nope", headers=json_headers
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "InvalidRequestContent"
            assert response.headers["x-ms-correlation-request-id"] == "client-1"
            assert response.headers["Content-Type"].startswith("application/json")
        async with session.get(url, headers=headers) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "MissingApiVersionParameter"
        async with session.get(url + "/nothing/here?api-version=2026-06-01", headers=headers) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "InvalidResourceType"


async def test_the_official_sdk_drives_vaults_policies_jobs_and_recovery_points(
    served: tuple[FunctionsHost, Api],
) -> None:
    host, api = served
    resource_group = "rg-sdk-" + uuid.uuid4().hex[:6]
    vault = VaultRef(SUB, resource_group, "vault-sdk")
    seeded = await seed_backups(api, VaultRef(SUB, resource_group, "vault-seeded"), 4)

    def scenario() -> None:
        client = sdk(host)
        created = client.backup_vaults.begin_create_or_update(
            resource_group,
            vault.name,
            {
                "location": "westus",
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}]
                },
            },
        ).result()
        assert created.properties.provisioning_state == "Succeeded"
        # The object id and tenant in the app's ARM token, as the official client reads them.
        assert (created.identity.principal_id, created.identity.tenant_id) == (
            APP_PRINCIPAL.id,
            APP_PRINCIPAL.tenant_id,
        )
        # Soft delete is on by default (as on Azure), immutability off: one of the two.
        assert (created.properties.secure_score, created.properties.bcdr_security_level) == (
            "Minimum",
            "Fair",
        )
        with pytest.raises(HttpResponseError) as geo:
            client.backup_vaults.begin_create_or_update(
                resource_group,
                "vault-geo",
                {
                    "location": "westus",
                    "properties": {
                        "storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}]
                    },
                },
            ).result()
        assert geo.value.status_code == 400
        assert geo.value.error is not None
        assert geo.value.error.target == "properties.storageSettings[0].type"
        assert client.backup_vaults.get(resource_group, vault.name).id == vault.id
        names = [v.name for v in client.backup_vaults.get_in_resource_group(resource_group)]
        assert sorted(names) == ["vault-sdk", "vault-seeded"]
        assert vault.name in [v.name for v in client.backup_vaults.get_in_subscription()]

        policy = client.backup_policies.create_or_update(
            resource_group, vault.name, "DiskPolicy1", {"properties": copy.deepcopy(DEFAULT_POLICY)}
        )
        assert policy.properties.datasource_types == ["Microsoft.Compute/disks"]
        retention = next(r for r in policy.properties.policy_rules if r.object_type == "AzureRetentionRule")
        assert retention.lifecycles[0].target_data_store_copy_settings == []
        assert client.backup_policies.get(resource_group, vault.name, "diskpolicy1").name == "DiskPolicy1"
        assert [p.name for p in client.backup_policies.list(resource_group, vault.name)] == ["DiskPolicy1"]
        with pytest.raises(HttpResponseError) as refused:
            client.backup_policies.create_or_update(
                resource_group,
                vault.name,
                "bad",
                {"properties": {**DEFAULT_POLICY, "datasourceTypes": ["x"]}},
            )
        assert refused.value.status_code == 400
        assert refused.value.error is not None
        assert refused.value.error.code == "UnsupportedDatasourceType"
        # azure-core reads the UserFacingError as ARM's additionalInfo: {type, info}.
        [user_facing] = refused.value.error.additional_info
        assert user_facing.type == "UserFacingError"
        assert user_facing.info["isUserError"] is True
        assert user_facing.info["recommendedAction"][0].startswith("Correct the property")
        client.backup_policies.delete(resource_group, vault.name, "DiskPolicy1")
        with pytest.raises(ResourceNotFoundError):
            client.backup_policies.get(resource_group, vault.name, "DiskPolicy1")

        jobs = list(client.jobs.list(resource_group, "vault-seeded"))  # pages of 3, follows nextLink
        assert [job.name for job in jobs] == [job.id for _, job in reversed(seeded)]
        assert (jobs[0].properties.operation, jobs[0].properties.is_user_triggered) == ("Backup", False)
        assert jobs[0].properties.status == "Completed"
        assert client.jobs.get(resource_group, "vault-seeded", jobs[1].name).properties.duration == "PT1M30S"

        points = list(client.recovery_points.list(resource_group, "vault-seeded", INSTANCE))
        assert [p.name for p in points] == [point.id for point, _ in reversed(seeded)]
        filtered = list(
            client.recovery_points.list(
                resource_group,
                "vault-seeded",
                INSTANCE,
                filter="startDate eq '2026-11-26T05:00:00' and endDate eq '2026-11-26T12:01:00'",
            )
        )
        assert [p.name for p in filtered] == [seeded[2][0].id, seeded[1][0].id]
        point = client.recovery_points.get(resource_group, "vault-seeded", INSTANCE, seeded[0][0].id)
        assert point.properties.object_type == "AzureBackupDiscreteRecoveryPoint"
        instance = client.backup_instances.get(resource_group, "vault-seeded", INSTANCE)
        assert point.properties.policy_version == instance.properties.policy_info.policy_version
        assert point.properties.policy_version
        [store] = point.properties.recovery_point_data_stores_details
        assert (store.rehydration_status, store.rehydration_expiry_time) == (None, None)
        assert point.properties.recovery_point_data_stores_details[0].meta_data == seeded[0][0].snapshot_id
        assert point.properties.recovery_point_time is not None

        with pytest.raises(HttpResponseError) as busy:
            client.backup_vaults.begin_delete(resource_group, "vault-seeded").result()
        assert busy.value.status_code == 409
        client.backup_vaults.begin_delete(resource_group, vault.name).result()
        with pytest.raises(ResourceNotFoundError):
            client.backup_vaults.get(resource_group, vault.name)

    await asyncio.to_thread(scenario)
