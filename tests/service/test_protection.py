"""Protection service decisions: the checks before protecting (each failure with Azure's code and
nothing written), one disk in one vault, the state transitions and their planner rows, soft
delete, undelete and the purge that removes only what is ours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backup.domain.instance import VaultRef
from backup.domain.limits import CLAIM_LEASE
from backup.domain.models import JobOperation, ProtectionState
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import TAG_INSTANCE
from backup.errors import ConflictError, NotFoundError, ValidationError
from backup.services.backup_runner import Outcome
from backup.services.protection import ProtectionCheckError
from backup.shapes.backup_instance import parse_backup_instance
from tests.fakes._types import DatasourceClaim
from tests.fakes.compute import APP_PRINCIPAL
from tests.service.conftest import (
    OTHER_VAULT,
    SNAP_RG,
    SRC_RG,
    START,
    SUB,
    VAULT,
    Env,
    disk_id,
    policy_document,
)

DAY = timedelta(days=1)


def properties(
    vault: VaultRef, disk: str = "disk-a", *, snapshot_group: str = SNAP_RG, policy: str = "policy"
) -> dict[str, Any]:
    return {
        "objectType": "BackupInstance",
        "dataSourceInfo": {"datasourceType": "Microsoft.Compute/disks", "resourceID": disk_id(disk)},
        "policyInfo": {
            "policyId": f"{vault.id}/backupPolicies/{policy}",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": snapshot_group,
                    }
                ]
            },
        },
    }


async def protect(env: Env, name: str = "disk-a-instance", vault: VaultRef = VAULT, **options: Any) -> Any:
    if await env.store.get_vault(vault) is None:
        await env.store.register_vault(vault, {"location": "eastus", "id": vault.id})
        await env.store.put_policy(vault, "Policy", options.pop("policy_document", policy_document()))
    request = parse_backup_instance(properties(vault, **options), vault)
    return await env.protection.configure(vault, "eastus", name, request)


async def plan_active(env: Env, name: str = "disk-a-instance") -> bool:
    [plan] = [
        p for i, p in await env.store.instances_with_plans(VAULT) if i is not None and i.value.name == name
    ]
    assert plan is not None
    return plan.value.active


async def test_protecting_creates_the_instance_its_plan_and_its_claim(env: Env) -> None:
    instance, created = await protect(env)
    assert created
    assert instance.protection_state is ProtectionState.PROTECTION_CONFIGURED
    assert instance.policy_name == "Policy"
    assert instance.document["dataSourceInfo"]["resourceName"] == "disk-a"
    assert await env.instance() == instance
    assert await plan_active(env)
    claim = await env.store.get_datasource_claim(disk_id("disk-a"))
    assert claim is not None
    assert claim.value.names(VAULT, "disk-a-instance")

    again, created_again = await protect(env)
    assert not created_again
    assert again == instance
    assert len(await env.store.list_instances(VAULT)) == 1


async def test_protecting_keeps_the_disk_facts_a_backup_needs_so_it_reads_no_disk(env: Env) -> None:
    instance, _ = await protect(env)
    disk = env.arm.disks[disk_id("disk-a").lower()]
    assert (instance.disk_facts, instance.disk_facts_refreshed_at) == (disk, START)
    reads = env.arm.calls["Disks_Get"]
    await env.planner.tick()
    assert await env.drain() == [Outcome.RECORDED]
    assert env.arm.calls["Disks_Get"] == reads


async def test_a_disk_protected_in_one_vault_is_refused_in_another(env: Env) -> None:
    await protect(env)
    with pytest.raises(ValidationError) as refused:
        await protect(env, "elsewhere", vault=OTHER_VAULT)
    assert refused.value.code == "UserErrorDppDatasourceAlreadyProtected"
    assert VAULT.id in refused.value.message
    assert await env.store.get_instance(OTHER_VAULT, "elsewhere") is None


async def test_a_stale_claim_of_an_instance_that_never_appeared_is_taken_over(env: Env) -> None:
    await env.store.put_datasource_claim(DatasourceClaim(disk_id("disk-a"), OTHER_VAULT, "crashed", START))
    with pytest.raises(ValidationError):
        await protect(env)
    env.advance(CLAIM_LEASE)
    instance, created = await protect(env)
    assert created
    claim = await env.store.get_datasource_claim(disk_id("disk-a"))
    assert claim.value.names(VAULT, instance.name)


@pytest.mark.parametrize(
    ("setup", "options", "code"),
    [
        ("revoke-reader", {}, "UserErrorMissingRequiredPermissions"),
        ("revoke-contributor", {}, "UserErrorMissingRequiredPermissions"),
        ("none", {"disk": "no-such-disk"}, "UserErrorManagedDiskNotFound"),
        (
            "none",
            {"snapshot_group": f"/subscriptions/{SUB}/resourceGroups/rg-missing"},
            "UserErrorSnapshotRGNotFound",
        ),
        (
            "none",
            {"snapshot_group": "/subscriptions/66666666-0000-4000-8000-000000000006/resourceGroups/rg-snaps"},
            "UserErrorSnapshotRGSubscriptionMismatch",
        ),
        ("west-disk", {"disk": "disk-west"}, "UserErrorDatasourceAndVaultLocationMismatch"),
        ("none", {"disk": "disk-fast"}, "UserErrorPolicyFrequencyNotSupportedForDisk"),
    ],
)
async def test_each_failed_check_has_its_code_and_writes_nothing(
    env: Env, setup: str, options: dict[str, Any], code: str
) -> None:
    if setup == "revoke-reader":
        env.arm.revoke(APP_PRINCIPAL, "Disk Backup Reader", SRC_RG)
    elif setup == "revoke-contributor":
        env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    elif setup == "west-disk":
        env.arm.add_disk(disk_id("disk-west"), location="westus2")
    with pytest.raises(ProtectionCheckError) as refused:
        await protect(env, **options)
    assert refused.value.code == code
    assert await env.store.list_instances(VAULT) == []
    for disk in ("disk-a", "no-such-disk", "disk-west", "disk-fast"):
        assert await env.store.get_datasource_claim(disk_id(disk)) is None


async def test_a_missing_permission_names_the_role_and_the_scope(env: Env) -> None:
    env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    with pytest.raises(ProtectionCheckError) as refused:
        await protect(env)
    assert "Disk Snapshot Contributor" in refused.value.message
    assert refused.value.target == SNAP_RG
    assert [detail["target"] for detail in refused.value.details] == [SNAP_RG]


async def test_an_unknown_policy_is_refused_before_any_arm_call(env: Env) -> None:
    with pytest.raises(ValidationError) as refused:
        await protect(env, policy="nope")
    assert refused.value.code == "UserErrorPolicyNotFound"
    assert sum(env.arm.calls.values()) == 0


async def test_stop_suspend_and_resume_move_the_state_and_the_plan_row(env: Env) -> None:
    await protect(env)
    stopped = await env.protection.stop_protection(VAULT, "disk-a-instance")
    assert stopped.protection_state is ProtectionState.PROTECTION_STOPPED
    assert not await plan_active(env)
    assert (await env.planner.tick()).enqueued == []

    writes = env.store.writes
    assert (await env.protection.stop_protection(VAULT, "disk-a-instance")) == stopped
    assert env.store.writes == writes  # the same state again is a no-op

    suspended = await env.protection.suspend_backups(VAULT, "disk-a-instance")
    assert suspended.protection_state is ProtectionState.BACKUP_SCHEDULES_SUSPENDED
    env.advance(timedelta(hours=5))
    resumed = await env.protection.resume_backups(VAULT, "disk-a-instance")
    assert resumed.protection_state is ProtectionState.PROTECTION_CONFIGURED
    assert resumed.last_attempted_slot == START + timedelta(hours=4)  # the pause's slot is skipped
    assert await plan_active(env)
    assert (await env.planner.tick()).enqueued == []
    env.advance(timedelta(hours=3))
    assert [r.slot for r in (await env.planner.tick()).enqueued] == [START + timedelta(hours=8)]


async def test_transitions_of_a_soft_deleted_or_unknown_instance_are_not_found(env: Env) -> None:
    await protect(env)
    await env.protection.delete(VAULT, "disk-a-instance")
    for transition in (
        env.protection.stop_protection,
        env.protection.resume_protection,
        env.protection.suspend_backups,
    ):
        with pytest.raises(NotFoundError):
            await transition(VAULT, "disk-a-instance")
    with pytest.raises(NotFoundError):
        await env.protection.stop_protection(VAULT, "never-existed")


async def test_soft_delete_hides_the_instance_until_undeleted_as_stopped(env: Env) -> None:
    await protect(env)
    deleted = await env.protection.delete(VAULT, "disk-a-instance")
    assert deleted is not None
    assert (deleted.protection_state, deleted.purge_at) == (ProtectionState.SOFT_DELETED, START + 14 * DAY)
    assert not await plan_active(env)
    assert await env.protection.list_instances(VAULT) == []
    assert [i.name for i in await env.protection.list_deleted(VAULT)] == ["disk-a-instance"]
    with pytest.raises(NotFoundError):
        await env.protection.get(VAULT, "disk-a-instance")
    assert await env.protection.delete(VAULT, "disk-a-instance") is None
    with pytest.raises(ConflictError) as soft:
        await protect(env)
    assert soft.value.code == "UserErrorBackupInstanceSoftDeleted"

    back = await env.protection.undelete(VAULT, "disk-a-instance")
    assert (back.protection_state, back.deleted_at, back.purge_at) == (
        ProtectionState.PROTECTION_STOPPED,
        None,
        None,
    )
    with pytest.raises(NotFoundError):
        await env.protection.undelete(VAULT, "disk-a-instance")


async def test_purge_waits_for_its_date_then_removes_only_what_is_ours(env: Env) -> None:
    await protect(env, policy_document=policy_document(default="P30D"))
    await env.run_slots(2)
    [newer, older] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    foreign = dict(env.arm.snapshots[older.snapshot_id.lower()].info.tags)
    env.arm.set_snapshot_tags(older.snapshot_id, {**foreign, TAG_INSTANCE: "someone-else"})
    deleted = await env.protection.delete(VAULT, "disk-a-instance")
    assert deleted is not None
    assert deleted.purge_at is not None

    env.advance(deleted.purge_at - env.now - timedelta(minutes=1))
    assert (await env.purger.purge_due()).purged == []
    assert len(await env.store.list_recovery_points(VAULT, "disk-a-instance")) == 2

    env.advance(timedelta(minutes=1))
    result = await env.purger.purge_due()
    assert len(result.purged) == 1
    assert result.snapshots_deleted == 1
    assert [s.lower() for s in result.not_ours] == [older.snapshot_id.lower()]
    assert [s.lower() for s in env.arm.snapshot_ids()] == [older.snapshot_id.lower()]
    assert await env.store.get_instance(VAULT, "disk-a-instance") is None
    assert await env.store.list_recovery_points(VAULT, "disk-a-instance", include_deleted=True) == []
    assert await env.store.get_datasource_claim(disk_id("disk-a")) is None
    jobs = [j for j in await env.store.list_jobs(VAULT) if j.operation is JobOperation.RETENTION_DELETION]
    assert [j.recovery_point_id for j in jobs] == [newer.id]

    _, created = await protect(env, "disk-a-again")  # the disk is free again
    assert created


async def test_purge_removes_a_snapshot_no_row_names(env: Env) -> None:
    await protect(env)
    await env.run_slots(1)
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    await env.store.delete_recovery_points(VAULT, [point])  # a backup that was never recorded
    await env.protection.delete(VAULT, "disk-a-instance")
    env.advance(15 * DAY)
    result = await env.purger.purge_due()
    assert result.snapshots_deleted == 1
    assert env.arm.snapshot_ids() == []
    assert await env.compute.get_snapshot(ComputeResourceId.snapshot(point.snapshot_id)) is None
