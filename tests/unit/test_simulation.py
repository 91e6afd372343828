"""Whole days of scheduling, backups and retention, driven by a ManualClock and nothing else.

The engine below is the smallest loop the service will run: at every tick, for every disk,
take the due slot if it was not attempted, then delete what retention selects. The expected
results are computed independently of the domain code, from the policy's plain meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from backup.domain.clock import ManualClock
from backup.domain.models import ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.policy import BackupPolicy
from backup.domain.retention import label_scheduled_backup, select_expired
from backup.domain.schedule import plan_scheduled_run, slot_id
from backup.shapes.policy import parse_backup_policy
from tests.unit.policy_builders import build_policy, default_template, utc


@dataclass
class Disk:
    name: str
    points: dict[str, RecoveryPoint] = field(default_factory=dict)
    last_attempted_slot: datetime | None = None
    deleted: list[RecoveryPoint] = field(default_factory=list)

    def newest(self) -> RecoveryPoint:
        return max(self.points.values(), key=lambda point: point.created_at)


def tick(policy: BackupPolicy, disk: Disk, now: datetime, fails: Callable[[Disk, datetime], bool]) -> None:
    run = plan_scheduled_run(policy.schedule, now, disk.last_attempted_slot)
    if run is not None:
        disk.last_attempted_slot = run.slot
        if not fails(disk, run.slot):
            label = label_scheduled_backup(policy, run.slot, now, disk.points.values())
            point = RecoveryPoint(
                id=f"{disk.name}-{slot_id(run.slot)}",
                instance=disk.name,
                slot=run.slot,
                created_at=now,
                retention_tag=label.retention_tag,
                earned_tags=label.earned_tags,
                expires_at=label.expires_at,
                snapshot_id=f"/subscriptions/0/resourceGroups/snaps/providers/Microsoft.Compute/snapshots/{disk.name}",
            )
            disk.points[point.id] = point
    newest = disk.newest().id if disk.points else None
    for point in select_expired(disk.points.values(), now, ProtectionState.PROTECTION_CONFIGURED):
        assert point.id != newest
        disk.deleted.append(disk.points.pop(point.id))


def simulate(
    policy: BackupPolicy,
    disks: list[Disk],
    start: datetime,
    end: datetime,
    step: timedelta,
    fails: Callable[[Disk, datetime], bool] = lambda disk, slot: False,
) -> None:
    clock = ManualClock(start)
    while clock.now() <= end:
        for disk in disks:
            tick(policy, disk, clock.now(), fails)
        clock.advance(step)


def test_nine_days_of_the_default_policy_on_three_disks() -> None:
    policy = parse_backup_policy(default_template())  # every 4 hours from 13:00 UTC, keep 7 days
    disks = [Disk(f"disk-{index}") for index in range(3)]
    start, end = utc(2024, 6, 1, 1, 0), utc(2024, 6, 10, 0, 0)

    simulate(policy, disks, start, end, step=timedelta(minutes=30))

    # The last tick is at 00:00 on 10 June; the slot at 21:00 on 9 June was the last one taken.
    # Points younger than 7 days survive: slots from 01:00 on 3 June on (21:00 on 2 June expired at 21:00).
    expected = [utc(2024, 6, 3, 1, 0) + timedelta(hours=4) * index for index in range(42)]
    assert expected[-1] == utc(2024, 6, 9, 21, 0)
    for disk in disks:
        assert sorted(point.slot for point in disk.points.values() if point.slot) == expected
        assert all(point.created_at == point.slot for point in disk.points.values())
        # Nine days of slots, from 01:00 on 1 June to 21:00 on 9 June: 54 taken, 12 deleted.
        assert len(disk.deleted) == 54 - 42
        assert {point.retention_tag for point in disk.points.values()} == {RetentionTag.DEFAULT}


def test_the_newest_point_outlives_its_retention_when_backups_stop() -> None:
    policy = parse_backup_policy(default_template())
    disk = Disk("disk-0")

    simulate(policy, [disk], utc(2024, 6, 1), utc(2024, 6, 2), step=timedelta(hours=1))
    last = disk.newest()
    simulate(
        policy,
        [disk],
        utc(2024, 6, 2),
        utc(2024, 6, 20),
        step=timedelta(hours=1),
        fails=lambda disk, slot: True,
    )

    assert list(disk.points) == [last.id]
    assert last.expires_at < utc(2024, 6, 20)


BERLIN = ZoneInfo("Europe/Berlin")


def test_daily_and_weekly_tags_over_five_weeks_with_failures() -> None:
    # Every 6 hours from midnight Berlin time; keep 2 days, the first of each day 7 days,
    # the first of each week 3 weeks. The 00:00 backup fails every Wednesday and the whole
    # of Monday 15 January fails, so Wednesday's Daily and that week's Weekly move later.
    policy = build_policy(
        interval="R/2024-01-01T00:00:00+01:00/PT6H",
        time_zone="W. Europe Standard Time",
        default="P2D",
        daily="P7D",
        weekly="P3W",
    )
    disk = Disk("disk-0")

    def fails(_: Disk, slot: datetime) -> bool:
        local = slot.astimezone(BERLIN)
        return (local.weekday() == 2 and local.hour == 0) or local.date() == date(2024, 1, 15)

    end = datetime(2024, 2, 5, 13, 0, tzinfo=BERLIN).astimezone(UTC)
    simulate(policy, [disk], utc(2024, 1, 1, 0, 0), end, step=timedelta(hours=1), fails=fails)

    successes = [
        slot
        for slot in (
            datetime(2024, 1, 1, tzinfo=BERLIN).astimezone(UTC) + timedelta(hours=6) * index
            for index in range(200)
        )
        if slot <= end and not fails(disk, slot)
    ]
    first_of_day: dict[date, datetime] = {}
    first_of_week: dict[date, datetime] = {}
    for slot in successes:
        local_day = slot.astimezone(BERLIN).date()
        first_of_day.setdefault(local_day, slot)
        first_of_week.setdefault(local_day - timedelta(days=local_day.weekday()), slot)
    kept = {slot for slot in successes if slot > end - timedelta(days=2)}
    kept |= {slot for slot in first_of_day.values() if slot > end - timedelta(days=7)}
    kept |= {slot for slot in first_of_week.values() if slot > end - timedelta(days=21)}

    assert {point.slot for point in disk.points.values()} == kept
    # Spot checks of the rules the oracle encodes.
    wednesday_daily = datetime(2024, 1, 31, 6, 0, tzinfo=BERLIN)
    assert disk.points[f"disk-0-{slot_id(wednesday_daily)}"].retention_tag is RetentionTag.DAILY
    tuesday_weekly = datetime(2024, 1, 16, 0, 0, tzinfo=BERLIN)
    assert disk.points[f"disk-0-{slot_id(tuesday_weekly)}"].retention_tag is RetentionTag.WEEKLY
    assert disk.points[f"disk-0-{slot_id(tuesday_weekly)}"].earned_tags == {
        RetentionTag.DEFAULT,
        RetentionTag.DAILY,
        RetentionTag.WEEKLY,
    }
    # Weeks of 15 (from Tuesday), 22 and 29 January and 5 February.
    assert sum(point.retention_tag is RetentionTag.WEEKLY for point in disk.points.values()) == 4


def test_catch_up_after_downtime_takes_one_backup_not_one_per_missed_slot() -> None:
    policy = parse_backup_policy(default_template())
    disk = Disk("disk-0")
    simulate(policy, [disk], utc(2024, 6, 1, 1), utc(2024, 6, 1, 13, 30), step=timedelta(minutes=30))
    assert disk.last_attempted_slot == utc(2024, 6, 1, 13)

    # The service is down until 10:15 on 2 June (slots 17, 21, 01, 05 and 09 pass unseen).
    simulate(policy, [disk], utc(2024, 6, 2, 10, 15), utc(2024, 6, 2, 12, 45), step=timedelta(minutes=30))

    assert sorted(point.slot for point in disk.points.values() if point.slot) == [
        utc(2024, 6, 1, 1),
        utc(2024, 6, 1, 5),
        utc(2024, 6, 1, 9),
        utc(2024, 6, 1, 13),
        utc(2024, 6, 2, 9),
    ]
    catch_up = disk.points[f"disk-0-{slot_id(utc(2024, 6, 2, 9))}"]
    assert catch_up.created_at == utc(2024, 6, 2, 10, 15)
