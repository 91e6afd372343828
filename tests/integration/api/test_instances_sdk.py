"""Backup instances driven by the official SDK through the local Functions host (no mocks):
create, get, list, validate, stop/suspend/resume, delete, the deleted list, undelete, and the
cross-vault extension-routing list."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from backup.bootstrap import use_runtime
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from localdev.functions_host import FunctionsHost
from tests.hosting import project_host
from tests.integration.api.conftest import DEFAULT_POLICY, SUB
from tests.integration.api.test_instances import APP, Env, instance_body, instance_env, make_vault
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
                    "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}],
                    # The deleted instance's purge date below is the vault's soft-delete period.
                    "securitySettings": {
                        "softDeleteSettings": {"state": "On", "retentionDurationInDays": 14}
                    },
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
        # The extension-routed list on a disk: the instance protecting it, or nothing.
        [protecting] = client.backup_instances_extension_routing.list(env.disk().lstrip("/"))
        assert protecting.name == "bi-a"
        assert protecting.properties["backupSummary"]["vaultName"] == vault.name
        assert (
            list(client.backup_instances_extension_routing.list(env.disk("disk-unprotected").lstrip("/")))
            == []
        )

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


async def test_the_sdk_pagers_walk_every_instance_once_while_instances_come_and_go(
    hosted: tuple[FunctionsHost, Env],
) -> None:
    host, env = hosted
    store = env.api.context.store
    resource_group = "rg-sdk-walk-" + uuid.uuid4().hex[:6]
    vaults = [VaultRef(SUB, resource_group, "vault-1"), VaultRef(SUB, resource_group, "vault-2")]
    sizes = {vaults[0]: 40, vaults[1]: 25}  # 65 instances: 22 pages of this runtime's 3
    for vault, size in sizes.items():
        await make_vault(env, vault)  # through the API: other tests list this subscription's vaults
        for number in range(size):
            await store.create_instance(*stored_instance(vault, f"bi-{number:03d}"))
    loop = asyncio.get_running_loop()

    def meanwhile(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    async def churn(page: int) -> None:
        """Between pages: an instance appears behind the walk and one ahead; for the first five
        pages, one ahead (in the second vault, which the walk reaches at page 13) goes."""
        await store.create_instance(*stored_instance(vaults[0], f"bi-000-{page:02d}"))
        await store.create_instance(*stored_instance(vaults[1], f"bi-zzz-{page:02d}"))
        if page < 5:
            doomed = await store.get_instance(vaults[1], f"bi-{24 - page:03d}")
            assert doomed is not None
            await store.delete_instance(doomed)

    def scenario() -> None:
        client = sdk(host)
        served: list[str] = []
        pages = client.backup_instances_extension_routing.list(
            f"subscriptions/{SUB}/resourceGroups/{resource_group}"
        ).by_page()
        walked = 0
        for number, page in enumerate(pages):
            served.extend(item.id.lower() for item in page)
            meanwhile(churn(number))
            walked += 1
        in_one_vault = [item.name for item in client.backup_instances.list(resource_group, vaults[0].name)]

        survivors = {
            f"{vault.id}/backupInstances/bi-{n:03d}".lower()
            for vault, size in sizes.items()
            for n in range(size)
            if not (vault == vaults[1] and n >= 20)
        }
        assert len(served) == len(set(served))
        assert survivors <= set(served)
        assert served == sorted(served, key=lambda item: (item.split("/")[4], item.split("/")[8], item))
        assert walked >= 20
        assert len(in_one_vault) == 40 + walked  # and one added behind the walk after each page
        assert in_one_vault == sorted(in_one_vault, key=str.lower)

    await asyncio.to_thread(scenario)


def stored_instance(vault: VaultRef, name: str) -> tuple[BackupInstance, PlanState]:
    instance = BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/{name}",
        disk_location="westus",
        policy_name="p1",
        policy_document=DEFAULT_POLICY,
        snapshot_resource_group_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    return instance, PlanState(name, DEFAULT_POLICY, active=True)
