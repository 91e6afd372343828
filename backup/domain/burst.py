"""Whether an on-demand backup may take one of the disk's snapshot creations now.

The platform allows 7 incremental snapshots per disk in any 5 minutes
(:data:`~backup.domain.limits.SNAPSHOT_BURST_LIMIT`). Reservations live on the instance row
(:attr:`~backup.domain.instance.BackupInstance.snapshot_reservations`), written with the row's
ETag, so concurrent requests for one disk cannot both take the last one. An on-demand request
takes its reservation when the API accepts it, and it is refused up front (never a failed job)
when there is none to take, or when taking one would leave no room for a scheduled backup that
is due, or falls due, inside the window: a burst of on-demand backups must never cost the
schedule a backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backup.domain.instance import BackupInstance, instance_key
from backup.domain.limits import SNAPSHOT_BURST_LIMIT, SNAPSHOT_BURST_WINDOW
from backup.domain.schedule import Schedule
from backup.domain.snapshots import recovery_point_id


@dataclass(frozen=True)
class BurstRefusal:
    """Why an on-demand snapshot cannot be reserved now, and from when it may be."""

    taken: int
    """Snapshots taken or reserved on the disk in the last 5 minutes."""
    kept_for_schedule: int
    """Creations held back for scheduled backups due inside the window."""
    retry_after: datetime


def scheduled_slots_to_keep(instance: BackupInstance, schedule: Schedule, now: datetime) -> list[datetime]:
    """Scheduled slots whose backup may still take a snapshot of the disk within the next
    5 minutes and has not reserved it yet: the slot due now (not yet attempted, its start window
    still open) and the next slot, when it starts inside the window."""
    key = instance_key(instance.vault.id, instance.name)
    attempted = instance.last_attempted_slot
    candidates: list[datetime] = []
    due = schedule.due_slot(now)
    if due is not None and (attempted is None or attempted < due) and not schedule.is_missed(due, now):
        candidates.append(due)
    upcoming = schedule.next_slot(now)
    if upcoming < now + SNAPSHOT_BURST_WINDOW:
        candidates.append(upcoming)
    return [
        slot
        for slot in candidates
        if not instance.holds_reservation(recovery_point_id(key, slot, "scheduled"))
    ]


def on_demand_burst_refusal(
    instance: BackupInstance, schedule: Schedule | None, now: datetime
) -> BurstRefusal | None:
    """``None`` when one more snapshot fits the disk's 5-minute budget with room left for the
    schedule (``schedule`` None: the instance takes no scheduled backups); else the refusal."""
    recent = sorted(
        moment
        for moment in (*instance.recent_snapshot_times, *instance.snapshot_reservations.values())
        if now - moment < SNAPSHOT_BURST_WINDOW
    )
    kept = len(scheduled_slots_to_keep(instance, schedule, now)) if schedule is not None else 0
    surplus = len(recent) + 1 + kept - SNAPSHOT_BURST_LIMIT
    if surplus <= 0:
        return None
    # The surplus oldest creations must leave the window first; when the scheduled backups
    # alone stand in the way, their own snapshots must leave it, 5 minutes from now at least.
    retry_after = (
        recent[surplus - 1] + SNAPSHOT_BURST_WINDOW if surplus <= len(recent) else now + SNAPSHOT_BURST_WINDOW
    )
    return BurstRefusal(taken=len(recent), kept_for_schedule=kept, retry_after=retry_after)
