"""Weeks of schedules and retention, simulated in seconds against Azurite and the emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.mgmt.compute import ComputeManagementClient

from backup.credentials import StaticTokenCredential
from backup.domain.models import JobOperation, JobStatus, RetentionTag
from backup.domain.resource_ids import ResourceGroupId
from backup.domain.snapshots import SnapshotTags
from tests.integration.engine.conftest import (
    DISKS,
    SNAP_RG,
    SRC_RG,
    START,
    VAULT,
    Simulation,
    policy_document,
)

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


async def run_for(sim: Simulation, duration: timedelta, step: timedelta = HOUR) -> None:
    end = sim.now + duration
    while sim.now < end:
        await sim.tick()
        sim.advance(step)
    await sim.tick()


async def let_the_boundary_expire(sim: Simulation) -> None:
    """A point expires at its creation time (the snapshot's timeCreated, a moment after its slot)
    plus its retention, as Azure's do: at a slot exactly one retention later it still lives.
    One more minute and a retention pass remove it."""
    sim.advance(timedelta(minutes=1))
    await sim.runtime.sweeper.sweep()


async def our_snapshots(sim: Simulation) -> dict[str, list[SnapshotTags]]:
    by_instance: dict[str, list[SnapshotTags]] = {}
    for snapshot in await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG)):
        assert snapshot.incremental, snapshot.id
        tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
        assert tags is not None, f"{snapshot.id} is not tagged as ours"
        by_instance.setdefault(tags.instance, []).append(tags)
    return by_instance


async def test_nine_days_of_four_hourly_backups_keep_exactly_seven_days(sim: Simulation) -> None:
    for disk in DISKS:
        await sim.protect(disk)

    await run_for(sim, timedelta(days=9))

    assert sim.now == START + timedelta(days=9)
    expected_slots = [sim.now - timedelta(hours=4 * index) for index in range(42)]
    await let_the_boundary_expire(sim)
    snapshots = await our_snapshots(sim)
    for disk in DISKS:
        name = f"{disk}-instance"
        points = await sim.runtime.store.list_recovery_points(VAULT, name)
        assert [point.slot for point in points] == expected_slots, name
        assert {tags.recovery_point_id for tags in snapshots[name]} == {point.id for point in points}
        assert all(
            tags.source.id == f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}" for tags in snapshots[name]
        )
        instance = await sim.runtime.store.get_instance(VAULT, name)
        assert instance is not None
        assert instance.value.live_recovery_points == 42
        assert instance.value.health.consecutive_failures == 0

    jobs = await sim.runtime.store.list_jobs(VAULT)
    backups = [job for job in jobs if job.operation is JobOperation.SCHEDULED_BACKUP]
    deletions = [job for job in jobs if job.operation is JobOperation.RETENTION_DELETION]
    assert len(backups) == 3 * (9 * 6 + 1)
    assert all(job.status is JobStatus.COMPLETED for job in backups)
    assert len(deletions) == 3 * (9 * 6 + 1 - 42)


async def test_the_newest_point_survives_its_expiry_when_backups_stop(sim: Simulation) -> None:
    await sim.protect("disk-a")
    await run_for(sim, timedelta(days=1), step=4 * HOUR)
    # The disk disappears: backups fail once, then pause; retention must not empty the instance.
    delete_disk(sim, "disk-a")

    await run_for(sim, timedelta(days=9), step=4 * HOUR)

    points = await sim.runtime.store.list_recovery_points(VAULT, "disk-a-instance")
    assert len(points) == 1
    assert points[0].slot == START + timedelta(days=1)
    instance = await sim.runtime.store.get_instance(VAULT, "disk-a-instance")
    assert instance is not None
    assert instance.value.health.last_error_code == "UserErrorManagedDiskNotFound"
    failed = [job for job in await sim.runtime.store.list_jobs(VAULT) if job.status is JobStatus.FAILED]
    assert len(failed) == 1, "one failed job, then the slots are skipped until the disk is back"


def delete_disk(sim: Simulation, disk: str) -> None:
    """Delete a source disk through ARM as an owner (the app's own roles cannot)."""
    sim.admin.add_principal("a2222222-0000-4000-8000-0000000000ff", "owner-token")
    sim.admin.grant("a2222222-0000-4000-8000-0000000000ff", "Owner", SRC_RG)
    with ComputeManagementClient(
        StaticTokenCredential("owner-token"),
        SRC_RG.split("/")[2],
        base_url=sim.runtime.settings.arm_endpoint,
        connection_verify=sim.runtime.settings.arm_ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=0,
    ) as owner:
        owner.disks.begin_delete("rg-src", disk).result()


async def test_first_backup_of_each_day_and_week_is_kept_for_its_tag(sim: Simulation) -> None:
    policy = policy_document(interval="PT6H", default="P1D", extra={"Daily": "P7D", "Weekly": "P28D"})
    await sim.protect("disk-a", policy)
    # 2 November 2026 is a Monday. The first slot of Wednesday fails (role revoked for one tick),
    # so Wednesday's 06:00 backup is that day's first successful one and earns Daily.
    wednesday = START + timedelta(days=2)
    while sim.now < wednesday:
        await sim.tick()
        sim.advance(6 * HOUR)
    sim.admin.revoke("a2222222-0000-4000-8000-0000000000a1", "Disk Snapshot Contributor", SNAP_RG)
    await sim.tick()
    sim.admin.grant("a2222222-0000-4000-8000-0000000000a1", "Disk Snapshot Contributor", SNAP_RG)
    sim.advance(6 * HOUR)
    await run_for(sim, timedelta(days=19, hours=18), step=6 * HOUR)

    now = sim.now
    assert now == START + timedelta(days=22)
    await let_the_boundary_expire(sim)
    points = await sim.runtime.store.list_recovery_points(VAULT, "disk-a-instance")
    by_slot = {point.slot: point for point in points}
    weekly = sorted(slot for slot, point in by_slot.items() if RetentionTag.WEEKLY in point.earned_tags)
    daily = sorted(slot for slot, point in by_slot.items() if point.retention_tag is RetentionTag.DAILY)
    # Mondays 00:00 whose 28 days have not run out: 2, 9, 16 and 23 November.
    assert weekly == [START + timedelta(days=7 * week) for week in range(4)]
    # First backups of the days whose 7 days have not run out (18 to 24 November), except
    # Monday the 23rd, whose primary tag is Weekly. The 17th expired just now.
    assert daily == [START + timedelta(days=day) for day in range(16, 23) if day % 7 != 0]
    wednesday_points = [slot for slot in by_slot if wednesday <= slot < wednesday + timedelta(days=1)]
    assert wednesday_points == [], "Wednesday of week 1 is older than every retention but Weekly"
    # Default points: the last day only (P1D), plus the Daily/Weekly ones above.
    defaults = sorted(slot for slot, point in by_slot.items() if point.retention_tag is RetentionTag.DEFAULT)
    assert defaults == [now - timedelta(hours=6 * index) for index in (3, 2, 1)]


async def test_a_failed_first_slot_passes_the_daily_tag_to_the_next_success(sim: Simulation) -> None:
    policy = policy_document(interval="PT6H", default="P1D", extra={"Daily": "P7D"})
    await sim.protect("disk-a", policy)
    sim.admin.revoke("a2222222-0000-4000-8000-0000000000a1", "Disk Snapshot Contributor", SNAP_RG)
    await sim.tick()
    sim.admin.grant("a2222222-0000-4000-8000-0000000000a1", "Disk Snapshot Contributor", SNAP_RG)
    sim.advance(6 * HOUR)
    await run_for(sim, timedelta(days=3), step=6 * HOUR)

    points = {
        point.slot: point for point in await sim.runtime.store.list_recovery_points(VAULT, "disk-a-instance")
    }
    assert START not in points
    assert points[START + 6 * HOUR].retention_tag is RetentionTag.DAILY
    first_daily = points[START + 6 * HOUR]
    assert START + 6 * HOUR <= first_daily.created_at < START + 6 * HOUR + timedelta(minutes=1)
    assert first_daily.expires_at == first_daily.created_at + timedelta(days=7)  # from creation, as Azure
    for day in (1, 2, 3):
        assert points[START + timedelta(days=day)].retention_tag is RetentionTag.DAILY
