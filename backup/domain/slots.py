"""Every slot accounted for: the start window, missed slots, slots skipped by design, and the
invariant that ties them together.

The start window
    ``BACKUP_START_WINDOW`` (default one hour) is the latest a scheduled backup may *start*,
    not a target to spread backups over: the engine starts each backup as soon as ARM's budget
    allows, and a slot whose backup cannot start by ``slot + window`` is *missed*. The single
    catch-up backup after downtime is planned after its slot, so its window counts from when it
    was planned (:func:`start_deadline`); otherwise it would be missed the moment it is planned.

    How this relates to Azure: Azure Disk Backup's documentation gives no start guarantee for
    scheduled backups (its policy has a start time and an interval, nothing else); the two hours
    this repository long assumed for Azure (``backup.domain.limits.BACKUP_START_WINDOW``, still
    the default of ``Schedule.is_missed``) is Azure Backup's allowance for other workloads, not a
    documented disk-backup promise. AWS Data Lifecycle Manager promises to start a policy's
    snapshots within one hour of the scheduled time. One hour is our default because
    most disk backups here are hourly or every few hours: a backup starting later than that
    would crowd the next slot. An operator may widen it (up to the policy interval is sensible);
    a started backup may still *finish* after its window (the snapshot's LRO, ARM's pacing).

The invariant
    For every protected instance and every slot since protection began, exactly one of:

    * a recovery point of that slot (live, or deleted by retention with its deletion job);
    * a Failed job with a reason (``scheduled_backup_job_id(key, slot)``, so at most one);
    * a slot skipped by design (the instance suspended or protection stopped, or its
      datasource missing), recorded as a :class:`SkipSpan`.

    :func:`account_for_slots` checks it; tests and the benchmark use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backup.domain.instance import BackupInstance, instance_key
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.models import JobOperation, JobStatus, RecoveryPoint, RecoveryPointState

DEFAULT_START_WINDOW = timedelta(hours=1)
"""The latest start allowed after a slot, unless ``BACKUP_START_WINDOW`` says otherwise."""

SLOT_MISSED = "BackupSlotMissed"
"""The error code of the Failed job that records a slot no backup was started for."""

SKIP_HISTORY = timedelta(days=400)
"""Skip spans that ended longer ago than this are dropped: no recovery point outlives a year."""


def start_deadline(slot: datetime, planned_at: datetime | None, window: timedelta) -> datetime:
    """The latest moment a backup of ``slot`` may start.

    The window counts from the slot, or from when the slot was planned if that was later (the
    catch-up after downtime, or a planner that ran late): a slot is never missed the moment it
    is planned.
    """
    if window <= timedelta(0):
        raise ValueError("a start window must be longer than zero")
    origin = slot if planned_at is None else max(slot, planned_at)
    return origin + window


def window_closed(slot: datetime, planned_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Whether a backup of ``slot`` that has not started by ``now`` is a missed slot."""
    return now >= start_deadline(slot, planned_at, window)


class MissedBecause(StrEnum):
    """Why a slot was missed; the Failed job's message says it in words (:func:`missed_message`)."""

    NOT_PLANNED = "NotPlanned"
    """The scheduler did not plan the slot while it was due: it did not run (the app, its timer or
    storage down), or the previous slot was still waiting for its outcome (one slot of an
    instance is in flight at a time, so a late outcome never lands after a newer one)."""
    NOT_SENT = "NotSent"
    """The slot was planned but its message could not be queued before the window closed."""
    SUPERSEDED = "Superseded"
    """A newer slot was due when the scheduler could plan again: only the newest is caught up."""
    WINDOW_CLOSED = "WindowClosed"
    """The worker could not start the backup within the start window (ARM budget exhausted)."""


def missed_message(because: MissedBecause, slot: datetime, deadline: datetime, detail: str = "") -> str:
    """The Failed job's message: what was missed, until when it could have started, and why."""
    when = f"The scheduled backup of slot {_iso(slot)} was not started by {_iso(deadline)}"
    reason = {
        MissedBecause.NOT_PLANNED: "the scheduler did not plan it while it was due: the app, its timer "
        "trigger or its storage was unavailable, or the previous slot's backup had not finished",
        MissedBecause.NOT_SENT: "its backup request could not be put on the queue in time",
        MissedBecause.SUPERSEDED: "a newer slot was already due when the scheduler could plan again; "
        "after downtime only the newest due slot is backed up",
        MissedBecause.WINDOW_CLOSED: "the backup could not start within its start window "
        "(the ARM request budget was exhausted or the workers were behind)",
    }[because]
    return f"{when}: {reason}." + (f" {detail}" if detail else "")


def missed_slot_job(instance: BackupInstance, slot: datetime, message: str, at: datetime) -> Job:
    """The Failed job of a missed slot, under the slot's own job id (so recording it twice is one job).

    It starts at the slot (it never ran) and ends when the miss was recorded.
    """
    return Job.for_instance(
        instance,
        id=scheduled_backup_job_id(instance_key(instance.vault.id, instance.name), slot),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=slot,
    ).failed(at, SLOT_MISSED, message)


class SkipReason(StrEnum):
    """Why slots were skipped by design (recorded, so they are not mistaken for lost slots)."""

    SUSPENDED = "BackupSchedulesSuspended"
    STOPPED = "ProtectionStopped"
    DATASOURCE_MISSING = "DatasourceMissing"


@dataclass(frozen=True)
class SkipSpan:
    """Slots ``after < slot <= until`` (``until`` ``None``: still going) were skipped by design."""

    reason: SkipReason
    after: datetime | None
    """The newest slot that had its outcome before the skipping began (``None``: none yet)."""
    until: datetime | None = None

    def covers(self, slot: datetime) -> bool:
        return (self.after is None or slot > self.after) and (self.until is None or slot <= self.until)

    @property
    def is_open(self) -> bool:
        return self.until is None

    def closed(self, until: datetime | None) -> SkipSpan:
        """The span ended; ``until`` is the newest slot it covers (``None``: it covered none)."""
        return SkipSpan(self.reason, self.after, until if until is not None else self.after)


def opened_skip(
    spans: Sequence[SkipSpan], reason: SkipReason, after: datetime | None
) -> tuple[SkipSpan, ...]:
    """``spans`` with an open span of ``reason`` (unchanged if one is already open)."""
    if any(span.is_open and span.reason is reason for span in spans):
        return tuple(spans)
    return (*spans, SkipSpan(reason, after))


def closed_skips(
    spans: Sequence[SkipSpan], reason: SkipReason, until: datetime | None, now: datetime
) -> tuple[SkipSpan, ...]:
    """``spans`` with any open span of ``reason`` closed at ``until``, and ancient spans dropped."""
    kept = []
    for span in spans:
        if span.is_open and span.reason is reason:
            span = span.closed(until)
        if span.until is None or span.until > now - SKIP_HISTORY:
            kept.append(span)
    return tuple(kept)


@dataclass(frozen=True)
class SlotAccount:
    """What :func:`account_for_slots` found. Both lists empty: the invariant holds."""

    unaccounted: list[datetime]
    """Slots with neither a recovery point, nor a Failed job with a reason, nor a recorded skip."""
    ambiguous: list[datetime]
    """Slots with both a recovery point and a Failed job (exactly one outcome is allowed)."""

    @property
    def holds(self) -> bool:
        return not self.unaccounted and not self.ambiguous


def account_for_slots(
    instance_key: str,
    slots: Iterable[datetime],
    points: Iterable[RecoveryPoint],
    jobs: Iterable[Job],
    skips: Iterable[SkipSpan] = (),
) -> SlotAccount:
    """Check the invariant for one instance.

    ``instance_key`` is :func:`backup.domain.instance.instance_key` of the instance; ``slots``
    the schedule's slots since protection began (``Schedule.slots_between``); ``points`` its
    recovery points, deleted ones included; ``jobs`` the vault's jobs (others are ignored);
    ``skips`` its recorded skip spans. A deleted point counts only with its deletion job. A
    skip only accounts for a slot that has no other outcome (a backup already in flight when
    the instance was suspended may still finish).
    """
    by_id = {job.id: job for job in jobs}
    deletion_jobs = {
        job.recovery_point_id
        for job in by_id.values()
        if job.operation is JobOperation.RETENTION_DELETION and job.status.succeeded
    }
    pointed = {
        point.slot
        for point in points
        if point.slot is not None
        and (point.state is not RecoveryPointState.DELETING or point.id in deletion_jobs)
    }
    spans = list(skips)
    unaccounted, ambiguous = [], []
    for slot in slots:
        job = by_id.get(scheduled_backup_job_id(instance_key, slot))
        failed = (
            job is not None
            and job.status is JobStatus.FAILED
            and bool(job.error_code)
            and bool(job.error_message)
        )
        has_point = slot in pointed
        if has_point and failed:
            ambiguous.append(slot)
        elif not has_point and not failed and not any(span.covers(slot) for span in spans):
            unaccounted.append(slot)
    return SlotAccount(unaccounted, ambiguous)


def unaccounted_slots(
    instance_key: str,
    slots: Iterable[datetime],
    points: Iterable[RecoveryPoint],
    jobs: Iterable[Job],
    skips: Iterable[SkipSpan] = (),
) -> list[datetime]:
    """The slots :func:`account_for_slots` finds no outcome for."""
    return account_for_slots(instance_key, slots, points, jobs, skips).unaccounted


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
