"""Recording missed slots: each one a Failed ``BackupSlotMissed`` job, and the instance moved past it.

The planner calls this for slots the app, the queue or the budget could not take (downtime, a
message that could not be sent in time); the backup runner calls :func:`record_missed` when a
backup's start window closed before it could start. Both are idempotent: the job id is the
slot's own (``scheduled_backup_job_id``), and a slot the instance has already moved past
(``last_attempted_slot``) has its outcome and is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance
from backup.domain.jobs import Job
from backup.domain.records import Versioned
from backup.domain.slots import SLOT_MISSED, MissedBecause, missed_message, missed_slot_job, start_deadline
from backup.ports import VaultStore
from backup.services.etag_retry import write_with_retry
from backup.telemetry import Telemetry

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MissedSlot:
    slot: datetime
    reason: str
    """The Failed job's message: says what was missed and why (``slots.missed_message``)."""


async def record_missed(
    store: VaultStore,
    clock: Clock,
    telemetry: Telemetry,
    instance: Versioned[BackupInstance],
    slot: datetime,
    reason: str,
) -> Versioned[BackupInstance] | None:
    """Record one missed slot (the runner's call when the start window closed before it could
    start). Returns the instance as written, or ``None`` if it no longer exists."""
    return await record_missed_slots(store, clock, telemetry, instance, [MissedSlot(slot, reason)])


async def record_window_closed(
    store: VaultStore,
    clock: Clock,
    telemetry: Telemetry,
    instance: Versioned[BackupInstance],
    slot: datetime,
    planned_at: datetime | None,
    window: timedelta,
) -> Versioned[BackupInstance] | None:
    """The runner's call at the start phase when ``slots.window_closed(slot, planned_at, now,
    window)``: the slot is recorded as missed, with the deadline it could not meet."""
    deadline = start_deadline(slot, planned_at, window)
    message = missed_message(MissedBecause.WINDOW_CLOSED, slot, deadline)
    return await record_missed(store, clock, telemetry, instance, slot, message)


async def record_missed_slots(
    store: VaultStore,
    clock: Clock,
    telemetry: Telemetry,
    instance: Versioned[BackupInstance],
    missed: Sequence[MissedSlot],
) -> Versioned[BackupInstance] | None:
    """Record each slot as a Failed job and move the instance's ``last_attempted_slot`` past them.

    The older slots' jobs are written first, then the newest one's job together with the
    instance row (one transaction), so a crash in between leaves slots the next call records
    again under the same job ids. A job already final under a slot's id (the runner recorded
    the slot's real failure, but could not move the instance) is kept, not overwritten.
    Returns the instance as written, or ``None`` if it no longer exists.
    """
    if not missed:
        return instance
    now = clock.now()
    recorded: dict[str, Job] = {}

    async def write(latest: Versioned[BackupInstance]) -> Versioned[BackupInstance]:
        attempted = latest.value.last_attempted_slot
        pending = sorted(
            (entry for entry in missed if attempted is None or entry.slot > attempted), key=lambda e: e.slot
        )
        if not pending:
            return latest
        updated = latest.value
        jobs = []
        for entry in pending:
            job = missed_slot_job(latest.value, entry.slot, entry.reason, now)
            existing = await store.get_job(latest.value.vault, job.id)
            kept = existing is not None and existing.status.is_terminal
            if kept:
                assert existing is not None
                job = existing
            updated = updated.after_failure(
                job.error_code or SLOT_MISSED, job.error_message or entry.reason, entry.slot
            )
            jobs.append((job, kept))
        *older, (newest, newest_kept) = jobs
        for job, kept in older:
            if not kept:
                await store.put_job(job)
                recorded[job.id] = job
        await store.record_failure(latest, updated, newest)
        if not newest_kept:
            recorded[newest.id] = newest
        written = await store.get_instance(latest.value.vault, latest.value.name)
        return written if written is not None else Versioned(updated, latest.etag)

    async def gone() -> Versioned[BackupInstance] | None:
        return None

    async def exhausted() -> Versioned[BackupInstance] | None:
        # The instance keeps changing under us: the jobs are kept, the next tick moves it on.
        _log.warning("could not record missed slots of %s: its row kept changing", instance.value.name)
        return None

    result = await write_with_retry(
        write,
        lambda: store.get_instance(instance.value.vault, instance.value.name),
        current=instance,
        gone=gone,
        exhausted=exhausted,
    )
    for job in recorded.values():
        telemetry.slot_missed(job)
        _log.warning("slot of %s missed: %s", job.instance, job.error_message)
    return result
