"""Nothing is lost and nothing is duplicated: faults, limits, crashes and poison messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient

from backup.adapters.tables.store import VaultStore
from backup.credentials import StaticTokenCredential
from backup.domain.instance import instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobStatus
from backup.domain.resource_ids import ResourceGroupId
from backup.domain.schedule import slot_id
from backup.domain.snapshots import SnapshotTags
from backup.services.backup_runner import RETRIES_EXHAUSTED, Outcome
from backup.services.messages import SCHEDULED, BackupRequest
from tests.integration.engine.conftest import (
    DISKS,
    SNAP_RG,
    SRC_RG,
    START,
    SUB,
    VAULT,
    Simulation,
)

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
OWNER = "a2222222-0000-4000-8000-0000000000ff"


def owner_client(sim: Simulation) -> ComputeManagementClient:
    sim.admin.add_principal(OWNER, "owner-token")
    sim.admin.grant(OWNER, "Owner", f"/subscriptions/{SUB}")
    return ComputeManagementClient(
        StaticTokenCredential("owner-token"),
        SUB,
        base_url=sim.runtime.settings.arm_endpoint,
        connection_verify=sim.runtime.settings.arm_ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=0,
    )


def foreign_snapshot(
    sim: Simulation, name: str, disk: str = "disk-a", tags: dict[str, str] | None = None
) -> str:
    """A snapshot someone else took in the same resource group."""
    with owner_client(sim) as owner:
        created = owner.snapshots.begin_create_or_update(
            "rg-snaps",
            name,
            {
                "location": "eastus",
                "tags": tags or {"owner": "dba-team"},
                "properties": {
                    "creationData": {
                        "createOption": "Copy",
                        "sourceResourceId": f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}",
                    },
                    "incremental": True,
                },
            },
        ).result()
    return str(created.id)


async def snapshot_ids(sim: Simulation) -> set[str]:
    return {s.id for s in await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG))}


async def test_under_faults_every_slot_ends_as_a_point_or_a_failed_job_and_foreign_snapshots_survive(
    sim: Simulation,
) -> None:
    for disk in DISKS:
        await sim.protect(disk)
    bystander = foreign_snapshot(sim, "nightly-by-hand")
    impostor = foreign_snapshot(sim, "looks-like-ours", tags={"adb-managed-by": "azure-disk-backup"})
    sim.admin.set_faults(
        [
            {"operation": "*", "throttle429": 0.3, "error500": 0.1, "retryAfterSeconds": 0},
            {"operation": "Snapshots_CreateOrUpdate", "lroFailed": 0.15},
        ],
        seed=7,
    )
    end = START + timedelta(days=2)
    while sim.now <= end:
        await sim.tick()
        sim.advance(4 * HOUR)
    # Retention runs long after every point expired, still under faults.
    sim.advance(timedelta(days=8))
    for _ in range(6):
        await sim.runtime.sweeper.sweep()
    sim.admin.clear_faults()
    # The daily reconciliation settles what faults left half-done: creates whose poll failed
    # become points (then expire), creates that ended Failed are deleted.
    report = await sim.runtime.reconciler.reconcile()
    await sim.runtime.sweeper.sweep()

    slots = [START + 4 * HOUR * index for index in range(13)]
    jobs = {job.id: job for job in await sim.runtime.store.list_jobs(VAULT)}
    outcome_counts = {"Completed": 0, "Failed": 0}
    for disk in DISKS:
        name = f"{disk}-instance"
        for slot in slots:
            job = jobs.get(scheduled_backup_job_id(instance_key(VAULT.id, name), slot))
            assert job is not None, f"slot {slot_id(slot)} of {name} was silently lost"
            assert job.status in (JobStatus.COMPLETED, JobStatus.FAILED)
            if job.status is JobStatus.FAILED:
                assert job.error_code, job
                assert job.error_message, job
            outcome_counts[job.status.value] += 1
    assert outcome_counts["Completed"] > 0
    remaining = await snapshot_ids(sim)
    assert bystander in remaining
    assert impostor in remaining
    assert impostor in report.unmatched
    # Nothing of ours is left behind: every point expired long ago, only the newest of each
    # instance is kept, and every snapshot we still hold backs one of those points.
    for snapshot in await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG)):
        tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
        if tags is None:
            continue
        point = await sim.runtime.store.get_recovery_point(VAULT, tags.instance, tags.recovery_point_id)
        assert point is not None, f"{snapshot.id} is ours but backs no recovery point"
        # Recovery points list newest first; deleted ones included, so "newest" is the true newest.
        newest = (await sim.runtime.store.list_recovery_points(VAULT, tags.instance, include_deleted=True))[0]
        assert point.value.id == newest.id


async def test_limits_are_refused_before_any_arm_call_with_a_clear_job_error(sim: Simulation) -> None:
    await sim.protect("disk-a")
    await sim.protect("disk-b")
    store = sim.runtime.store
    burst = await store.get_instance(VAULT, "disk-a-instance")
    full = await store.get_instance(VAULT, "disk-b-instance")
    assert burst is not None
    assert full is not None
    recent = tuple(sim.now - timedelta(seconds=30 * index) for index in range(7))
    await store.update_instance(burst, replace(burst.value, recent_snapshot_times=recent))
    await store.update_instance(full, replace(full.value, live_recovery_points=500))
    sim.admin.reset_counters()

    await sim.tick()

    jobs = {job.instance: job for job in await store.list_jobs(VAULT)}
    assert jobs["disk-a-instance"].status is JobStatus.FAILED
    assert jobs["disk-a-instance"].error_code == "UserErrorSnapshotRateLimitReached"
    assert "7 incremental snapshots in the last 5 minutes" in (jobs["disk-a-instance"].error_message or "")
    assert jobs["disk-b-instance"].error_code == "SnapshotsLimitReached"
    assert "Snapshots_CreateOrUpdate" not in sim.admin.counters()["byOperation"]


async def test_the_platform_snapshot_quota_is_a_failed_job_not_a_retry(sim: Simulation) -> None:
    await sim.protect("disk-a")
    sim.admin.configure({"maxIncrementalSnapshotsPerDisk": 2})
    foreign_snapshot(sim, "manual-1")
    foreign_snapshot(sim, "manual-2")
    sim.admin.reset_counters()

    outcomes = await sim.tick()

    assert outcomes == [Outcome.FAILED]
    (job,) = await sim.runtime.store.list_jobs(VAULT)
    assert job.error_code == "SnapshotsLimitReached"
    assert sim.admin.counters()["byOperation"]["Snapshots_CreateOrUpdate"] == 1


class CrashAfterSnapshot(VaultStore):
    """The process dies between the snapshot and the table write (once)."""

    crashes = 1

    async def record_backup(self, *args: Any, **kwargs: Any) -> Any:
        if self.crashes:
            self.crashes -= 1
            raise SystemExit("worker killed after the snapshot was taken")
        return await super().record_backup(*args, **kwargs)


async def test_reconciliation_restores_a_point_whose_write_was_lost(sim: Simulation) -> None:
    await sim.protect("disk-a")
    crashing = CrashAfterSnapshot(sim.runtime.storage)
    sim.runtime = sim.runtime.replacing(store=crashing)  # a root whose services use the crashing store
    await sim.runtime.planner.tick()
    with pytest.raises(SystemExit):
        await sim.drain(visibility_timeout=1)
    assert await crashing.list_recovery_points(VAULT, "disk-a-instance") == []
    (taken,) = await snapshot_ids(sim)

    report = await sim.runtime.reconciler.reconcile()

    (point,) = await crashing.list_recovery_points(VAULT, "disk-a-instance")
    assert report.recovered == [point.id]
    assert point.snapshot_id == taken
    assert point.slot == START
    instance = await crashing.get_instance(VAULT, "disk-a-instance")
    assert instance is not None
    assert instance.value.live_recovery_points == 1
    # The redelivered message finds the slot done: no second snapshot, no second point.
    sim.admin.reset_counters()
    await asyncio.sleep(1.5)  # the dead worker's message becomes visible again
    assert await sim.drain() == [Outcome.DUPLICATE]
    assert await snapshot_ids(sim) == {taken}
    assert "Snapshots_CreateOrUpdate" not in sim.admin.counters()["byOperation"]
    assert (await sim.runtime.reconciler.reconcile()).recovered == []


async def test_retryable_failures_end_as_a_failed_job_on_the_last_delivery(sim: Simulation) -> None:
    await sim.protect("disk-a")
    sim.admin.set_faults([{"operation": "Snapshots_CreateOrUpdate", "error500": 1.0}], seed=1)
    sim.admin.reset_counters()

    outcomes = await sim.tick()

    assert outcomes == [Outcome.FAILED]
    (job,) = await sim.runtime.store.list_jobs(VAULT)
    assert job.status is JobStatus.FAILED
    assert job.error_code == "InternalServerError"
    # Five deliveries, each with the SDK's own retry (retry_total=1 in these tests).
    assert sim.admin.counters()["byOperation"]["Snapshots_CreateOrUpdate"] == 5 * 2


async def test_a_message_that_crashes_every_delivery_ends_in_poison_as_a_failed_job(sim: Simulation) -> None:
    await sim.protect("disk-a")

    class Crashing(VaultStore):
        async def record_backup(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("a bug, not an Azure error")

    sim.runtime = sim.runtime.replacing(store=Crashing(sim.runtime.storage))
    await sim.runtime.planner.tick()
    await sim.drain()

    poison = await sim.runtime.storage.queue("backup-runs-poison")
    assert len(await poison.peek_messages(max_messages=32)) == 1
    (job,) = await sim.runtime.store.list_jobs(VAULT)
    assert job.status is JobStatus.FAILED
    assert job.error_code == RETRIES_EXHAUSTED
    # The poison handler is idempotent: a second look changes nothing.
    await sim.runtime.runner.handle_poison(
        BackupRequest(VAULT, job.instance, SCHEDULED, slot=START).to_json()
    )
    assert await sim.runtime.store.list_jobs(VAULT) == [job]
