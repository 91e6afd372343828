"""The on-demand side of the disk's 7-snapshots-per-5-minutes rule: what counts, which scheduled
slots keep their room, and when a refused request may be sent again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from backup.domain.burst import on_demand_burst_refusal, scheduled_slots_to_keep
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.models import ProtectionState
from backup.domain.schedule import Schedule
from backup.domain.snapshots import recovery_point_id

START = datetime(2026, 11, 2, tzinfo=UTC)
EVERY_4_HOURS = Schedule(START, timedelta(hours=4), UTC, "UTC")
SUB = "00000000-0000-0000-0000-0000000000aa"


def instance(**changes: object) -> BackupInstance:
    made = BackupInstance(
        vault=VaultRef(SUB, "rg", "vault"),
        name="bi",
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
        disk_location="westus",
        policy_name="policy",
        policy_document={},
        snapshot_resource_group_id=f"/subscriptions/{SUB}/resourceGroups/snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
        last_attempted_slot=START,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def seconds_before(now: datetime, *offsets: int) -> tuple[datetime, ...]:
    return tuple(now - timedelta(seconds=offset) for offset in offsets)


def test_with_no_slot_near_seven_fit_and_the_eighth_waits_for_the_oldest_to_leave() -> None:
    now = START + timedelta(hours=1)
    six = seconds_before(now, 290, 200, 100, 50, 20, 10)
    assert on_demand_burst_refusal(instance(recent_snapshot_times=six), EVERY_4_HOURS, now) is None
    refusal = on_demand_burst_refusal(
        instance(recent_snapshot_times=six, snapshot_reservations={"p": now}), EVERY_4_HOURS, now
    )
    assert refusal is not None
    assert (refusal.taken, refusal.kept_for_schedule) == (7, 0)
    assert refusal.retry_after == now + timedelta(seconds=10)  # 290 s ago + 5 minutes
    # Snapshots older than 5 minutes no longer count.
    old = seconds_before(now, 300, 301, 400, 500, 600, 700, 800)
    assert on_demand_burst_refusal(instance(recent_snapshot_times=old), EVERY_4_HOURS, now) is None


def test_a_slot_starting_within_five_minutes_keeps_one_creation_unless_it_holds_its_reservation() -> None:
    now = START + timedelta(hours=3, minutes=58)
    five = seconds_before(now, 100, 90, 80, 70, 60)
    assert scheduled_slots_to_keep(instance(), EVERY_4_HOURS, now) == [START + timedelta(hours=4)]
    assert on_demand_burst_refusal(instance(recent_snapshot_times=five), EVERY_4_HOURS, now) is None
    six = seconds_before(now, 100, 90, 80, 70, 60, 50)
    refusal = on_demand_burst_refusal(instance(recent_snapshot_times=six), EVERY_4_HOURS, now)
    assert refusal is not None
    assert refusal.kept_for_schedule == 1
    assert refusal.retry_after == now + timedelta(seconds=200)
    held = recovery_point_id(instance_key(instance().vault.id, "bi"), START + timedelta(hours=4), "scheduled")
    running = instance(recent_snapshot_times=six[:-1], snapshot_reservations={held: now})
    assert scheduled_slots_to_keep(running, EVERY_4_HOURS, now) == []
    assert on_demand_burst_refusal(running, EVERY_4_HOURS, now) is None


def test_a_due_slot_not_yet_attempted_keeps_its_room_until_its_start_window_closes() -> None:
    pending = instance(last_attempted_slot=START - timedelta(hours=4))
    assert scheduled_slots_to_keep(pending, EVERY_4_HOURS, START + timedelta(minutes=30)) == [START]
    assert scheduled_slots_to_keep(pending, EVERY_4_HOURS, START + timedelta(hours=2)) == []
    assert scheduled_slots_to_keep(instance(), EVERY_4_HOURS, START + timedelta(minutes=30)) == []


def test_without_a_schedule_only_the_platform_rule_counts() -> None:
    now = START + timedelta(hours=3, minutes=58)
    six = seconds_before(now, 100, 90, 80, 70, 60, 50)
    assert on_demand_burst_refusal(instance(recent_snapshot_times=six), None, now) is None
