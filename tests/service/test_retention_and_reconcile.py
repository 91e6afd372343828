"""Retention and reconciliation decisions.

Retention deletes only expired points, only snapshots whose own tags name that very point,
keeps the newest point of a paused instance and everything of a stopped one, skips points a
restore holds, and one instance's trouble does not stop the sweep. Reconciliation rebuilds
lost recovery points from snapshot tags, reports strays, and discards failed snapshots.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, JobStatus, ProtectionState, RecoveryPointState
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import TAG_RECOVERY_POINT, TAG_VAULT
from backup.errors import AuthorizationError
from backup.services.messages import SCHEDULED, BackupRequest
from backup.services.reconcile import FAILED_SNAPSHOT_GRACE
from tests.fakes.compute import APP_PRINCIPAL
from tests.service.conftest import OTHER_VAULT, SNAP_RG, SRC_RG, START, VAULT, Env, policy_document

DAY = timedelta(days=1)
IDENTITY = "/subscriptions/x/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b"


async def backed_up(env: Env, slots: int, *, disks: tuple[str, ...] = ("disk-a",)) -> None:
    for disk in disks:
        await env.protect(disk, policy_document(default="P1D"))
    await env.run_slots(slots)


async def points(env: Env, name: str = "disk-a-instance", *, include_deleted: bool = False) -> list[object]:
    return [
        p.slot for p in await env.store.list_recovery_points(VAULT, name, include_deleted=include_deleted)
    ]


async def test_only_expired_points_and_their_snapshots_are_deleted_with_a_job_each(env: Env) -> None:
    await backed_up(env, 8)  # slots 00:00 .. 28:00, now 32:00; 1-day retention
    before = set(env.arm.snapshot_ids())
    result = await env.sweeper.sweep()
    assert len(result.deleted) == 3
    kept = [START + timedelta(hours=hours) for hours in (28, 24, 20, 16, 12)]
    assert await points(env) == kept
    gone = before - set(env.arm.snapshot_ids())
    assert len(gone) == 3
    assert len(env.arm.snapshot_ids()) == 5
    instance = await env.instance()
    assert instance.live_recovery_points == 5
    deletions = [
        job for job in await env.store.list_jobs(VAULT) if job.operation is JobOperation.RETENTION_DELETION
    ]
    assert sorted(job.recovery_point_id for job in deletions) == sorted(result.deleted)
    assert all(job.status is JobStatus.COMPLETED for job in deletions)
    assert (await env.sweeper.sweep()).deleted == []


async def test_a_paused_instance_keeps_its_newest_point_and_a_stopped_one_keeps_all(env: Env) -> None:
    await backed_up(env, 3, disks=("disk-a", "disk-b"))
    for name, state in (
        ("disk-a-instance", ProtectionState.BACKUP_SCHEDULES_SUSPENDED),
        ("disk-b-instance", ProtectionState.PROTECTION_STOPPED),
    ):
        current = await env.versioned(name)
        await env.store.update_instance(current, current.value.with_protection_state(state))
    env.advance(30 * DAY)
    result = await env.sweeper.sweep()
    assert await points(env) == [START + timedelta(hours=8)]
    assert len(await points(env, "disk-b-instance")) == 3
    assert len(result.deleted) == 2
    assert result.kept_newest == 1 + 3  # the paused one's newest, and all of the stopped one


async def test_a_snapshot_whose_tags_name_another_point_is_kept_and_reported(env: Env) -> None:
    await backed_up(env, 2)
    [newer, older] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    tags = dict(env.arm.snapshots[older.snapshot_id.lower()].info.tags)
    env.arm.set_snapshot_tags(older.snapshot_id, {**tags, TAG_RECOVERY_POINT: newer.id})
    env.advance(30 * DAY)
    await env.protection.suspend_backups(VAULT, "disk-a-instance")
    result = await env.sweeper.sweep()
    assert [s.lower() for s in result.not_ours] == [older.snapshot_id.lower()]
    assert older.snapshot_id.lower() in (s.lower() for s in env.arm.snapshot_ids())
    listed = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert [p.id for p in listed] == [newer.id, older.id]
    assert result.deleted == []


async def test_a_point_whose_snapshot_is_already_gone_is_still_retired(env: Env) -> None:
    await backed_up(env, 8)
    oldest = (await env.store.list_recovery_points(VAULT, "disk-a-instance"))[-1]
    env.arm.remove_snapshot(oldest.snapshot_id)
    result = await env.sweeper.sweep()
    assert result.already_gone == 1
    assert oldest.id in result.deleted
    everything = await env.store.list_recovery_points(VAULT, "disk-a-instance", include_deleted=True)
    assert {p.id: p.state for p in everything}[oldest.id] is RecoveryPointState.DELETING


async def test_a_point_a_restore_holds_is_skipped_until_its_lease_ends(env: Env) -> None:
    await backed_up(env, 8)
    oldest = await env.store.get_recovery_point(
        VAULT, "disk-a-instance", (await env.store.list_recovery_points(VAULT, "disk-a-instance"))[-1].id
    )
    instance = await env.instance()
    job = Job.for_instance(
        instance, id=job_id(env.now, "r"), operation=JobOperation.RESTORE, start_time=env.now
    )
    lease = env.now + timedelta(hours=12)
    await env.store.accept_restore(
        VAULT, instance.name, usage=None, recent_restores=[env.now], job=job, point=oldest, in_use_until=lease
    )
    result = await env.sweeper.sweep()
    assert (result.skipped_in_use, len(result.deleted)) == (1, 2)
    assert oldest.value.id in [p.id for p in await env.store.list_recovery_points(VAULT, instance.name)]
    env.advance(timedelta(hours=13))
    assert oldest.value.id in (await env.sweeper.sweep()).deleted


async def test_one_instances_missing_role_does_not_stop_the_sweep(env: Env) -> None:
    env.arm.attach_identity(IDENTITY)
    env.bind_identity(IDENTITY)
    env.arm.grant(IDENTITY, "Disk Backup Reader", SRC_RG)
    env.arm.grant(IDENTITY, "Disk Snapshot Contributor", SNAP_RG)
    await env.protect("disk-a", policy_document(default="P1D"))
    await env.protect("disk-b", policy_document(default="P1D"), identity=IDENTITY)
    await env.run_slots(8)
    env.arm.revoke(IDENTITY, "Disk Snapshot Contributor", SNAP_RG)
    env.arm.grant(IDENTITY, "Reader", SNAP_RG)
    result = await env.sweeper.sweep()
    assert result.errors == ["disk-b-instance: AuthorizationFailed"]
    assert len(result.deleted) == 3
    assert len(await points(env, "disk-b-instance")) == 8
    assert len(await points(env)) == 5


# --- reconciliation -------------------------------------------------------------------------------


async def test_a_lost_recovery_point_is_rebuilt_from_its_snapshot_tags_once(env: Env) -> None:
    await backed_up(env, 2)
    [newer, older] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    await env.store.delete_recovery_points(VAULT, [older])
    report = await env.reconciler.reconcile()
    assert report.recovered == [older.id]
    [again_newer, rebuilt] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert again_newer == newer
    assert (rebuilt.id, rebuilt.slot, rebuilt.expires_at, rebuilt.snapshot_id.lower()) == (
        older.id,
        older.slot,
        older.expires_at,
        older.snapshot_id.lower(),
    )
    assert (await env.instance()).live_recovery_points == 3  # two recorded, one recovered
    assert (await env.reconciler.reconcile()).recovered == []
    assert len(await env.store.expired(VAULT, older.expires_at)) == 1


async def test_strays_are_reported_and_another_vaults_snapshots_ignored(env: Env) -> None:
    await backed_up(env, 1)
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    tags = dict(env.arm.snapshots[point.snapshot_id.lower()].info.tags)
    disk = await env.compute.get_disk(
        ComputeResourceId.disk(f"{SRC_RG}/providers/Microsoft.Compute/disks/disk-b")
    )
    stray = ComputeResourceId.snapshot(f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/stray")
    foreign = ComputeResourceId.snapshot(f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/foreign")
    await env.compute.create_incremental_snapshot(disk, stray, {**tags, "adb-instance": "gone-instance"})
    await env.compute.create_incremental_snapshot(disk, foreign, {**tags, TAG_VAULT: OTHER_VAULT.id})
    report = await env.reconciler.reconcile()
    assert [s.lower() for s in report.unmatched] == [str(stray).lower()]
    assert report.recovered == []
    assert len(env.arm.snapshot_ids()) == 3


async def test_our_failed_snapshot_is_discarded_only_after_the_grace_period(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.fail("Snapshots_CreateOrUpdate", "lroFailed", times=1)
    request = BackupRequest(VAULT, "disk-a-instance", SCHEDULED, slot=START)
    # The PUT is accepted and its operation fails; the worker goes no further (its poll is lost).
    await env.runner.handle_message(request.to_json(), 1)
    env.backups.take()
    [failed] = env.arm.snapshot_ids()
    assert (await env.reconciler.reconcile()).discarded == []
    env.advance(FAILED_SNAPSHOT_GRACE)
    report = await env.reconciler.reconcile()
    assert [s.lower() for s in report.discarded] == [failed.lower()]
    assert env.arm.snapshot_ids() == []
    assert await env.store.list_recovery_points(VAULT, "disk-a-instance") == []


async def test_the_reconciler_reads_each_group_as_an_identity_that_may(env: Env) -> None:
    await backed_up(env, 1)
    env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    with pytest.raises(AuthorizationError):
        await env.reconciler.reconcile()


async def test_the_instance_knows_its_oldest_live_point_through_backups_and_retention(env: Env) -> None:
    await backed_up(env, 8)  # slots 00:00 .. 28:00; 1-day retention
    live = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert (await env.instance()).health.oldest_point_at == min(p.created_at for p in live)

    await env.sweeper.sweep()

    left = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert len(left) == 5
    assert (await env.instance()).health.oldest_point_at == min(p.created_at for p in left)
