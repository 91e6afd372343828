"""The pure slot rules: the start window, missed-slot jobs, skip spans, and the every-slot invariant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.jobs import Job, job_id, scheduled_backup_job_id
from backup.domain.models import (
    JobOperation,
    JobStatus,
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
)
from backup.domain.slots import (
    SLOT_MISSED,
    MissedBecause,
    SkipReason,
    SkipSpan,
    account_for_slots,
    closed_skips,
    missed_message,
    missed_slot_job,
    opened_skip,
    start_deadline,
    unaccounted_slots,
    window_closed,
)

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
VAULT = VaultRef("sub", "rg", "vault")
INSTANCE = BackupInstance(
    vault=VAULT,
    name="disk-a-instance",
    disk_id="/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/disks/disk-a",
    disk_location="eastus",
    policy_name="policy",
    policy_document={},
    snapshot_resource_group_id="/subscriptions/sub/resourceGroups/snaps",
    protection_state=ProtectionState.PROTECTION_CONFIGURED,
)
KEY = instance_key(VAULT.id, INSTANCE.name)
SLOTS = [T0 + index * HOUR for index in range(6)]


def point(slot: datetime, *, deleted: bool = False) -> RecoveryPoint:
    return RecoveryPoint(
        id=f"rp-{slot:%H}",
        instance=INSTANCE.name,
        slot=slot,
        created_at=slot + timedelta(minutes=2),
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + timedelta(days=7),
        snapshot_id=f"snap-{slot:%H}",
        state=RecoveryPointState.DELETING if deleted else RecoveryPointState.COMMITTED,
    )


def deletion_job(recovery_point: RecoveryPoint) -> Job:
    started = T0 + timedelta(days=8)
    return Job.for_instance(
        INSTANCE,
        id=job_id(started, recovery_point.id),
        operation=JobOperation.RETENTION_DELETION,
        start_time=started,
        recovery_point_id=recovery_point.id,
    ).completed(started)


# --- the start window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned_at", "now", "closed"),
    [
        (T0, T0 + HOUR - timedelta(seconds=1), False),
        (T0, T0 + HOUR, True),
        (T0 + timedelta(minutes=5), T0 + HOUR, False),  # planned late: its window counts from then
        (None, T0 + HOUR, True),  # never planned: from the slot
        (T0 + 5 * HOUR, T0 + 5 * HOUR + timedelta(minutes=59), False),  # the catch-up after downtime
        (T0 + 5 * HOUR, T0 + 6 * HOUR, True),
        (T0 - timedelta(minutes=1), T0 + HOUR, True),  # planned early: never before the slot
    ],
)
def test_the_window_is_the_latest_start_and_counts_from_the_slot_or_its_later_planning(
    planned_at: datetime | None, now: datetime, closed: bool
) -> None:
    assert window_closed(T0, planned_at, now, HOUR) is closed


def test_a_start_window_must_be_longer_than_zero() -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        start_deadline(T0, None, timedelta(0))


# --- missed slots -------------------------------------------------------------------------------


@pytest.mark.parametrize("because", list(MissedBecause))
def test_a_missed_slot_message_names_the_slot_the_deadline_and_the_reason(because: MissedBecause) -> None:
    message = missed_message(because, T0, T0 + HOUR)
    assert "2026-11-02T00:00:00Z" in message
    assert "2026-11-02T01:00:00Z" in message
    others = [missed_message(other, T0, T0 + HOUR) for other in MissedBecause if other is not because]
    assert message not in others, "each reason reads differently"


def test_a_missed_slot_job_is_the_slots_own_failed_job() -> None:
    job = missed_slot_job(INSTANCE, T0, "why", T0 + 2 * HOUR)
    assert job.id == scheduled_backup_job_id(KEY, T0)
    assert (job.status, job.error_code, job.error_message) == (JobStatus.FAILED, SLOT_MISSED, "why")
    assert (job.operation, job.start_time, job.end_time) == (JobOperation.SCHEDULED_BACKUP, T0, T0 + 2 * HOUR)
    assert job.datasource_id == INSTANCE.disk_id


# --- skip spans ---------------------------------------------------------------------------------


def test_a_span_covers_the_slots_after_its_start_up_to_its_end() -> None:
    span = SkipSpan(SkipReason.SUSPENDED, SLOTS[1], SLOTS[3])
    assert [slot for slot in SLOTS if span.covers(slot)] == [SLOTS[2], SLOTS[3]]
    assert [slot for slot in SLOTS if SkipSpan(SkipReason.STOPPED, SLOTS[3]).covers(slot)] == SLOTS[4:]
    assert all(SkipSpan(SkipReason.STOPPED, None).covers(slot) for slot in SLOTS)


def test_spans_open_once_and_close_at_the_last_slot_moved_past() -> None:
    spans = opened_skip((), SkipReason.SUSPENDED, SLOTS[1])
    assert opened_skip(spans, SkipReason.SUSPENDED, SLOTS[2]) == spans, "already open"
    spans = opened_skip(spans, SkipReason.DATASOURCE_MISSING, SLOTS[1])
    closed = closed_skips(spans, SkipReason.SUSPENDED, SLOTS[4], now=SLOTS[5])
    assert closed == (
        SkipSpan(SkipReason.SUSPENDED, SLOTS[1], SLOTS[4]),
        SkipSpan(SkipReason.DATASOURCE_MISSING, SLOTS[1]),
    )
    assert closed_skips(closed, SkipReason.SUSPENDED, SLOTS[5], now=SLOTS[5]) == closed, "closed stays closed"
    # A span that covered no slot (suspended and resumed between two slots) covers none when closed.
    empty = closed_skips(opened_skip((), SkipReason.STOPPED, SLOTS[2]), SkipReason.STOPPED, None, SLOTS[3])
    assert not any(span.covers(slot) for span in empty for slot in SLOTS)


def test_spans_that_ended_long_ago_are_dropped() -> None:
    old = (SkipSpan(SkipReason.SUSPENDED, T0 - timedelta(days=500), T0 - timedelta(days=450)),)
    assert closed_skips(old, SkipReason.STOPPED, None, now=T0) == ()


# --- the invariant ------------------------------------------------------------------------------


def failed(slot: datetime, code: str = SLOT_MISSED, message: str = "missed") -> Job:
    return missed_slot_job(INSTANCE, slot, message, slot + HOUR).failed(slot + HOUR, code, message)


def test_every_slot_has_exactly_one_outcome() -> None:
    points = [point(SLOTS[0]), point(SLOTS[2]), point(SLOTS[4], deleted=True)]
    jobs = [
        failed(SLOTS[1]),
        failed(SLOTS[3], "UserErrorManagedDiskNotFound", "gone"),
        deletion_job(points[2]),
    ]
    skips = [SkipSpan(SkipReason.SUSPENDED, SLOTS[4], SLOTS[5])]
    account = account_for_slots(KEY, SLOTS, points, jobs, skips)
    assert account.holds
    assert (account.unaccounted, account.ambiguous) == ([], [])


def test_a_slot_with_nothing_is_unaccounted() -> None:
    assert unaccounted_slots(KEY, SLOTS, [point(SLOTS[0])], [failed(SLOTS[1])]) == SLOTS[2:]


def test_a_deleted_point_counts_only_with_its_deletion_job() -> None:
    deleted = point(SLOTS[0], deleted=True)
    assert unaccounted_slots(KEY, SLOTS[:1], [deleted], []) == SLOTS[:1]
    assert unaccounted_slots(KEY, SLOTS[:1], [deleted], [deletion_job(deleted)]) == []


def test_a_job_that_did_not_fail_with_a_reason_is_no_outcome() -> None:
    running = missed_slot_job(INSTANCE, SLOTS[0], "x", T0)
    in_progress = Job(
        running.id, running.vault_id, running.instance, running.operation, JobStatus.IN_PROGRESS, T0
    )
    no_reason = failed(SLOTS[1], message="")
    other_instance = missed_slot_job(
        BackupInstance(**{**INSTANCE.__dict__, "name": "other"}), SLOTS[2], "missed", T0
    )
    assert unaccounted_slots(KEY, SLOTS[:3], [], [in_progress, no_reason, other_instance]) == SLOTS[:3]


def test_a_point_and_a_failed_job_for_one_slot_is_ambiguous() -> None:
    account = account_for_slots(KEY, SLOTS[:1], [point(SLOTS[0])], [failed(SLOTS[0])])
    assert account.ambiguous == SLOTS[:1]
    assert not account.holds


def test_a_skip_gives_way_to_a_real_outcome() -> None:
    # A backup in flight when the instance was suspended may still finish: the point accounts for it.
    skips = [SkipSpan(SkipReason.SUSPENDED, None)]
    account = account_for_slots(KEY, SLOTS[:2], [point(SLOTS[0])], [], skips)
    assert account.holds
