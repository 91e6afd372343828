"""Backup instances driven by the official SDK through the local Functions host (no mocks):
create, get, list, validate, stop/suspend/resume, delete, the deleted list, undelete, and the
cross-vault extension-routing list."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from backup.bootstrap import use_runtime
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from localdev.functions_host import FunctionsHost
from tests.hosting import project_host
from tests.integration.api.conftest import DEFAULT_POLICY, SUB
from tests.integration.api.test_instances import APP, Env, instance_body, instance_env
from tests.integration.api.test_through_host_and_sdk import sdk

pytestmark = pytest.mark.integration


@pytest.fixture
async def hosted(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> AsyncIterator[tuple[FunctionsHost, Env]]:
    async with instance_env(azurite, compute_emulator) as env:
        use_runtime(env.api.runtime)
        try:
            async with project_host(azurite.connection_string) as host:
                yield host, env
        finally:
            use_runtime(None)


async def test_the_sdk_configures_and_manages_protection(hosted: tuple[FunctionsHost, Env]) -> None:
    host, env = hosted
    resource_group = "rg-sdk-bi-" + uuid.uuid4().hex[:6]
    vault = VaultRef(SUB, resource_group, "vault-bi")

    def scenario() -> None:
        client = sdk(host)
        client.backup_vaults.begin_create_or_update(
            resource_group,
            vault.name,
            {
                "location": "westus",
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
                },
            },
        ).result()
        client.backup_policies.create_or_update(
            resource_group, vault.name, "p1", {"properties": copy.deepcopy(DEFAULT_POLICY)}
        )
        body = instance_body(env, vault)
        validated = client.backup_instances.begin_validate_for_backup(
            resource_group, vault.name, {"backupInstance": body["properties"]}
        ).result()
        assert validated.object_type == "OperationJobExtendedInfo"

        created = client.backup_instances.begin_create_or_update(
            resource_group, vault.name, "bi-a", body
        ).result()
        assert created.name == "bi-a"
        assert created.properties.current_protection_state == "ProtectionConfigured"
        assert created.properties.protection_status.status == "ProtectionConfigured"
        assert created.properties.provisioning_state == "Succeeded"
        assert created.properties.data_source_info.resource_id == env.disk()
        got = client.backup_instances.get(resource_group, vault.name, "bi-a")
        assert got.properties.policy_info.policy_parameters.data_store_parameters_list[
            0
        ].resource_group_id == (env.snapshot_rg)
        client.backup_instances.begin_create_or_update(
            resource_group, vault.name, "bi-b", instance_body(env, vault, env.disk("disk-b"))
        ).result()
        assert [item.name for item in client.backup_instances.list(resource_group, vault.name)] == [
            "bi-a",
            "bi-b",
        ]

        with pytest.raises(HttpResponseError) as refused:
            client.backup_instances.begin_validate_for_backup(
                resource_group, vault.name, {"backupInstance": body["properties"]}
            ).result()
        assert refused.value.status_code == 400
        assert refused.value.error is not None
        assert refused.value.error.code == "UserErrorDppDatasourceAlreadyProtected"
        env.admin.revoke(APP, "Disk Snapshot Contributor", env.snapshot_rg)
        with pytest.raises(HttpResponseError) as failed:
            client.backup_instances.begin_validate_for_backup(
                resource_group,
                vault.name,
                {"backupInstance": instance_body(env, vault, env.disk("disk-c"))["properties"]},
            ).result()
        assert failed.value.error is not None
        assert failed.value.error.code == "UserErrorMissingRequiredPermissions"
        env.admin.grant(APP, "Disk Snapshot Contributor", env.snapshot_rg)

        def state() -> object:
            return client.backup_instances.get(
                resource_group, vault.name, "bi-a"
            ).properties.current_protection_state

        client.backup_instances.begin_stop_protection(resource_group, vault.name, "bi-a").result()
        assert state() == "ProtectionStopped"
        client.backup_instances.begin_resume_protection(resource_group, vault.name, "bi-a").result()
        assert state() == "ProtectionConfigured"
        client.backup_instances.begin_suspend_backups(resource_group, vault.name, "bi-a").result()
        assert state() == "BackupSchedulesSuspended"
        client.backup_instances.begin_resume_backups(resource_group, vault.name, "bi-a").result()
        assert state() == "ProtectionConfigured"

        client.backup_instances.begin_delete(resource_group, vault.name, "bi-a").result()
        with pytest.raises(ResourceNotFoundError):
            client.backup_instances.get(resource_group, vault.name, "bi-a")
        [deleted] = list(client.deleted_backup_instances.list(resource_group, vault.name))
        assert deleted.name == "bi-a"
        assert deleted.properties.deletion_info.scheduled_purge_time == "2026-12-10T04:00:00Z"
        assert client.deleted_backup_instances.get(resource_group, vault.name, "bi-a").id == deleted.id
        client.deleted_backup_instances.begin_undelete(resource_group, vault.name, "bi-a").result()
        assert state() == "ProtectionStopped"

        across = list(client.backup_instances_extension_routing.list(f"subscriptions/{SUB}"))
        mine = [item for item in across if item.id.startswith(vault.id + "/")]
        assert sorted(item.name for item in mine) == ["bi-a", "bi-b"]
        summary = next(item for item in mine if item.name == "bi-b").properties["backupSummary"]
        assert summary["vaultName"] == vault.name
        assert summary["nextScheduledBackupTime"] == "2026-11-26T05:00:00Z"

    await asyncio.to_thread(scenario)
