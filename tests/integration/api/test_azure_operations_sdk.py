"""The operations Azure has beside the resources, driven by the official SDK through the local
Functions host (no mocks): the provider's operations list, checkNameAvailability,
checkFeatureSupport, sync, validateForModifyBackup and findRestorableTimeRanges."""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from backup.domain.instance import VaultRef
from localdev.functions_host import FunctionsHost
from tests.integration.api.conftest import DEFAULT_POLICY, SUB, T0
from tests.integration.api.test_instances import APP, Env, instance_body, record_point
from tests.integration.api.test_instances_sdk import hosted
from tests.integration.api.test_through_host_and_sdk import sdk

pytestmark = pytest.mark.integration
__all__ = ["hosted"]  # the fixture, imported for pytest

VAULT_TYPE = "Microsoft.DataProtection/BackupVaults"


async def test_the_provider_lists_its_operations_and_answers_name_and_feature_checks(
    hosted: tuple[FunctionsHost, Env],
) -> None:
    host, _ = hosted
    resource_group = "rg-sdk-names-" + uuid.uuid4().hex[:6]

    def scenario() -> None:
        client = sdk(host)
        operations = list(client.data_protection_operations.list())
        names = {operation.name for operation in operations}
        assert {
            "Microsoft.DataProtection/backupVaults/read",
            "Microsoft.DataProtection/backupVaults/write",
            "Microsoft.DataProtection/backupVaults/backupInstances/sync/action",
            "Microsoft.DataProtection/locations/checkNameAvailability/action",
            "Microsoft.DataProtection/operations/read",
        } <= names
        assert all(
            o.display.provider == "Microsoft.DataProtection" and o.origin == "user" for o in operations
        )
        assert not any("overview" in name.lower() for name in names)  # product extensions are not Azure's

        def check(name: str) -> tuple[bool | None, str | None]:
            answer = client.backup_vaults.check_name_availability(
                resource_group, "westus", {"name": name, "type": VAULT_TYPE}
            )
            return answer.name_available, answer.reason

        assert check("vault-names") == (True, None)
        client.backup_vaults.begin_create_or_update(
            resource_group,
            "vault-names",
            {
                "location": "westus",
                "properties": {
                    "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
                },
            },
        ).result()
        assert check("vault-names") == (False, "AlreadyExists")
        assert check("VAULT-NAMES") == (False, "AlreadyExists")
        assert check("-not a name") == (False, "Invalid")
        with pytest.raises(HttpResponseError) as foreign:
            client.backup_vaults.check_name_availability(
                resource_group, "westus", {"name": "x", "type": "Microsoft.Storage/storageAccounts"}
            )
        assert foreign.value.status_code == 400
        assert foreign.value.error is not None
        assert foreign.value.error.code == "InvalidRequestContent"

        disks = client.data_protection.check_feature_support(
            "westus",
            {
                "objectType": "FeatureValidationRequest",
                "featureType": "DataSourceType",
                "featureName": "Microsoft.Compute/disks",
            },
        )
        assert disks.object_type == "FeatureValidationResponse"
        assert [(f.feature_name, f.support_status) for f in disks.features or []] == [
            ("Microsoft.Compute/disks", "GenerallyAvailable")
        ]
        blobs = client.data_protection.check_feature_support(
            "westus",
            {
                "objectType": "FeatureValidationRequest",
                "featureType": "DataSourceType",
                "featureName": "Microsoft.Storage/storageAccounts/blobServices",
            },
        )
        assert [f.support_status for f in blobs.features or []] == ["NotSupported"]

    await asyncio.to_thread(scenario)


async def test_sync_validate_for_modify_and_restorable_time_ranges(hosted: tuple[FunctionsHost, Env]) -> None:
    host, env = hosted
    resource_group = "rg-sdk-sync-" + uuid.uuid4().hex[:6]
    vault = VaultRef(SUB, resource_group, "vault-sync")
    store = env.api.context.store
    body = instance_body(env, vault)

    def protect() -> None:
        client = sdk(host)
        client.backup_vaults.begin_create_or_update(
            resource_group,
            vault.name,
            {
                "location": "westus",
                "properties": {
                    "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
                },
            },
        ).result()
        client.backup_policies.create_or_update(
            resource_group, vault.name, "p1", {"properties": copy.deepcopy(DEFAULT_POLICY)}
        )
        client.backup_instances.begin_create_or_update(resource_group, vault.name, "bi-a", body).result()

        # Which vault protects this disk? The id as a disk resource gives it (leading slash and
        # all), in any letter case, as ARM ids are compared.
        for disk_id in (env.disk(), env.disk().upper(), env.disk().lower()):
            [protecting] = client.backup_instances_extension_routing.list(disk_id)
            assert protecting.id == f"{vault.id}/backupInstances/bi-a"
            assert protecting.properties.data_source_info.resource_id == env.disk()
        assert list(client.backup_instances_extension_routing.list(env.disk("disk-b"))) == []

        # validateForModifyBackup: the same properties would be accepted; a new snapshot resource
        # group is a request error (400 at once); a missing role fails the operation.
        assert (
            client.backup_instances.begin_validate_for_modify_backup(
                resource_group, vault.name, "bi-a", {"backupInstance": body["properties"]}
            ).result()
            is None
        )
        moved = instance_body(
            env, vault, snapshot_rg=f"/subscriptions/{env.subscription}/resourceGroups/rg-src"
        )
        with pytest.raises(HttpResponseError) as changed:
            client.backup_instances.begin_validate_for_modify_backup(
                resource_group, vault.name, "bi-a", {"backupInstance": moved["properties"]}
            )
        assert changed.value.status_code == 400
        assert changed.value.error is not None
        assert changed.value.error.code == "UserErrorSnapshotRGChangeNotAllowed"
        env.admin.revoke(APP, "Disk Snapshot Contributor", env.snapshot_rg)
        with pytest.raises(HttpResponseError) as failed:
            client.backup_instances.begin_validate_for_modify_backup(
                resource_group, vault.name, "bi-a", {"backupInstance": body["properties"]}
            ).result()
        assert failed.value.error is not None
        assert failed.value.error.code == "UserErrorMissingRequiredPermissions"
        with pytest.raises(ResourceNotFoundError):
            client.backup_instances.begin_validate_for_modify_backup(
                resource_group, vault.name, "bi-none", {"backupInstance": body["properties"]}
            )

    await asyncio.to_thread(protect)

    # A scheduled backup failed on the missing role: the instance is in ProtectionError.
    current = await store.get_instance(vault, "bi-a")
    assert current is not None
    await store.update_instance(
        current,
        current.value.after_failure("UserErrorMissingRequiredPermissions", "The vault lacks a role."),
    )

    def sync_while_the_role_is_missing() -> None:
        client = sdk(host)
        with pytest.raises(HttpResponseError) as refused:
            client.backup_instances.begin_sync_backup_instance(
                resource_group, vault.name, "bi-a", {"syncType": "Default"}
            ).result()
        assert refused.value.error is not None
        assert refused.value.error.code == "UserErrorMissingRequiredPermissions"
        properties = client.backup_instances.get(resource_group, vault.name, "bi-a").properties
        assert properties.current_protection_state == "ProtectionError"
        assert properties.protection_error_details is not None

        env.admin.grant(APP, "Disk Snapshot Contributor", env.snapshot_rg)
        assert (
            client.backup_instances.begin_sync_backup_instance(
                resource_group, vault.name, "bi-a", {"syncType": "Default"}
            ).result()
            is None
        )
        properties = client.backup_instances.get(resource_group, vault.name, "bi-a").properties
        assert properties.current_protection_state == "ProtectionConfigured"
        assert properties.protection_error_details is None
        # Nothing to clear: Default leaves it be, ForceResync re-reads it all the same.
        client.backup_instances.begin_sync_backup_instance(
            resource_group, vault.name, "bi-a", {"syncType": "Default"}
        ).result()
        client.backup_instances.begin_sync_backup_instance(
            resource_group, vault.name, "bi-a", {"syncType": "ForceResync"}
        ).result()
        with pytest.raises(HttpResponseError) as bad_type:
            client.backup_instances.begin_sync_backup_instance(
                resource_group, vault.name, "bi-a", {"syncType": "Sometimes"}
            )
        assert bad_type.value.status_code == 400

    await asyncio.to_thread(sync_while_the_role_is_missing)
    synced = await store.get_instance(vault, "bi-a")
    assert synced is not None
    assert synced.value.health.consecutive_failures == 0

    # Three recovery points, 4 hours apart: the restorable moments.
    created = []
    for index in range(3):
        slot = T0 + timedelta(hours=4 * index)
        point = await record_point(env, vault, "bi-a", slot, slot + timedelta(minutes=1), f"s{index}")
        created.append(point.created_at)

    def ranges() -> None:
        client = sdk(host)
        found = client.restorable_time_ranges.find(
            resource_group, vault.name, "bi-a", {"sourceDataStoreType": "OperationalStore"}
        )
        assert found.id == "bi-a"
        assert found.properties is not None
        assert [(r.start_time, r.end_time) for r in found.properties.restorable_time_ranges or []] == [
            (moment.strftime("%Y-%m-%dT%H:%M:%SZ"),) * 2 for moment in created
        ]
        window = client.restorable_time_ranges.find(
            resource_group,
            vault.name,
            "bi-a",
            {
                "sourceDataStoreType": "OperationalStore",
                "startTime": "2026-11-26T05:00:00.0000000Z",
                "endTime": "2026-11-26T10:00:00Z",
            },
        )
        assert window.properties is not None
        assert [r.start_time for r in window.properties.restorable_time_ranges or []] == [
            created[1].strftime("%Y-%m-%dT%H:%M:%SZ")
        ]
        with pytest.raises(HttpResponseError) as vault_store:
            client.restorable_time_ranges.find(
                resource_group, vault.name, "bi-a", {"sourceDataStoreType": "VaultStore"}
            )
        assert vault_store.value.status_code == 400
        assert vault_store.value.error is not None
        assert vault_store.value.error.code == "UserErrorInvalidSourceDataStore"

    await asyncio.to_thread(ranges)
