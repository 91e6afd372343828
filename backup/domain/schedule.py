"""When backups are due: slots of a policy's repeating schedule, in the policy's time zone.

Semantics (Azure documents none of this, so these are ours):

* Slots are **wall-clock times** in the policy time zone. The anchor is the local time of day
  of the policy start (``R/<start>/<interval>``); every day has the slots anchor, anchor +
  interval, ... wrapping at midnight. Every allowed interval divides 24 hours, so each day has
  the same set of local times, and a 13:00 daily backup stays at 13:00 across DST changes, as
  a person reading the policy expects.
* A local time that does not exist (spring forward) runs at the same wall-clock distance
  after the gap: 02:30 in a 02:00 to 03:00 gap runs at 03:30. If that lands on another slot,
  the two are one slot.
* A local time that occurs twice (fall back) runs at its first occurrence only. An hourly
  schedule therefore has one slot in the repeated hour, not two.
* There are no slots before the policy start, and the start itself is always a slot. Seconds
  in the start are dropped: schedules have minute resolution, which keeps :func:`slot_id` exact.
* A slot is *due* from its start until the next slot starts. It is *on time* within its start
  window (``BACKUP_START_WINDOW``, see :mod:`backup.domain.slots`) or until the next slot,
  whichever is first; after that it is a *catch-up*. After downtime only the most recent due
  slot is backed up (one catch-up backup), never one per missed slot; the slots before it are
  recorded as missed (:func:`missed_slots`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from backup.domain.limits import BACKUP_START_WINDOW

_DAY = timedelta(days=1)
_SLOT_ID_FORMAT = "%Y%m%dT%H%M"
# Far enough to cross any real time-zone oddity (Samoa skipped a whole calendar day in 2011).
_DAYS_SEARCHED = 4


@dataclass(frozen=True)
class Schedule:
    """A parsed ``repeatingTimeIntervals`` entry plus the policy ``timeZone``.

    ``start`` is an aware instant; ``time_zone_name`` is what the policy said (or ``"UTC"`` /
    ``"UTC+05:30"`` when it named none and the start's offset was used).
    """

    start: datetime
    interval: timedelta
    time_zone: tzinfo
    time_zone_name: str
    _local_times: tuple[time, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("Schedule.start must be timezone-aware")
        if self.interval <= timedelta(0) or _DAY % self.interval:
            raise ValueError(f"a schedule interval must divide one day, got {self.interval}")
        start = self.start.astimezone(UTC).replace(second=0, microsecond=0)
        object.__setattr__(self, "start", start)
        anchor = start.astimezone(self.time_zone)
        anchor_offset = timedelta(hours=anchor.hour, minutes=anchor.minute)
        count = _DAY // self.interval
        offsets = sorted((anchor_offset + index * self.interval) % _DAY for index in range(count))
        object.__setattr__(self, "_local_times", tuple(_time_of_day(offset) for offset in offsets))

    @property
    def local_start_time(self) -> time:
        """The wall-clock time of day the schedule is anchored at."""
        anchor = self.start.astimezone(self.time_zone)
        return time(anchor.hour, anchor.minute)

    @property
    def is_daily(self) -> bool:
        return self.interval == _DAY

    def due_slot(self, at: datetime) -> datetime | None:
        """The latest slot starting at or before ``at``; ``None`` before the first slot."""
        _require_aware(at)
        if at < self.start:
            return None
        local_day = at.astimezone(self.time_zone).date()
        candidates = [
            slot
            for days_back in range(_DAYS_SEARCHED)
            for slot in self._slots_on(local_day - timedelta(days=days_back))
            if self.start <= slot <= at
        ]
        return max(candidates, default=None)

    def next_slot(self, after: datetime) -> datetime:
        """The first slot starting strictly after ``after`` (and never before the policy start)."""
        _require_aware(after)
        local_day = max(after, self.start).astimezone(self.time_zone).date()
        for days_ahead in range(-1, _DAYS_SEARCHED):
            later = [
                slot
                for slot in self._slots_on(local_day + timedelta(days=days_ahead))
                if slot > after and slot >= self.start
            ]
            if later:
                return min(later)
        raise AssertionError(f"no slot within {_DAYS_SEARCHED} days after {after}")  # pragma: no cover

    def slots_between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Slots ``s`` with ``after < s <= until``, oldest first, strictly increasing."""
        _require_aware(after)
        _require_aware(until)
        if until <= after:
            return
        local_day = max(after, self.start).astimezone(self.time_zone).date() - _DAY
        last_local_day = until.astimezone(self.time_zone).date() + _DAY
        previous = after
        while local_day <= last_local_day:
            for slot in sorted(self._slots_on(local_day)):
                if previous < slot <= until and slot >= self.start:
                    yield slot
                    previous = slot
            local_day += _DAY

    def window_end(self, slot: datetime, window: timedelta = BACKUP_START_WINDOW) -> datetime:
        """When a backup for ``slot`` stops being on time."""
        return min(slot + window, self.next_slot(slot))

    def is_missed(self, slot: datetime, at: datetime, window: timedelta = BACKUP_START_WINDOW) -> bool:
        """Whether a backup of ``slot`` that has not started by ``at`` has missed its window."""
        return at >= self.window_end(slot, window)

    def _slots_on(self, local_day: date) -> list[datetime]:
        # fold=0 gives exactly the documented DST rules: a gap time maps with the offset from
        # before the transition (so it moves forward), an ambiguous time to its first occurrence.
        slots = [
            datetime.combine(local_day, local_time, tzinfo=self.time_zone).astimezone(UTC)
            for local_time in self._local_times
        ]
        # The start is always a slot, even when it names the second occurrence of a repeated hour.
        if local_day == self.start.astimezone(self.time_zone).date() and self.start not in slots:
            slots.append(self.start)
        return slots


@dataclass(frozen=True)
class ScheduledRun:
    """The backup the scheduler should take now."""

    slot: datetime
    is_catch_up: bool
    """The slot's on-time window had passed (after downtime or a long outage)."""
    skipped_slots: int
    """Slots after the last attempted one and before ``slot`` that will never be backed up."""


def plan_scheduled_run(
    schedule: Schedule,
    now: datetime,
    last_attempted_slot: datetime | None,
    window: timedelta = BACKUP_START_WINDOW,
) -> ScheduledRun | None:
    """The slot to back up at ``now``, or ``None`` when the due slot was already attempted.

    A slot is attempted once; retrying a failed attempt is the job queue's business, so a
    failing disk is not hammered at every scheduler tick.
    """
    due = schedule.due_slot(now)
    if due is None or (last_attempted_slot is not None and last_attempted_slot >= due):
        return None
    skipped = len(missed_slots(schedule, last_attempted_slot, due))
    return ScheduledRun(slot=due, is_catch_up=schedule.is_missed(due, now, window), skipped_slots=skipped)


def missed_slots(schedule: Schedule, last_attempted_slot: datetime | None, due: datetime) -> list[datetime]:
    """The slots after ``last_attempted_slot`` and before ``due`` that will never be backed up
    (none before the first attempt: protection begins with the slot first planned)."""
    if last_attempted_slot is None:
        return []
    return [slot for slot in schedule.slots_between(last_attempted_slot, due) if slot != due]


def slot_id(slot: datetime) -> str:
    """A slot's stable identity: ``YYYYMMDDTHHMM`` in UTC.

    13 characters that sort like the times they name and fit in an Azure resource name.
    """
    _require_aware(slot)
    return slot.astimezone(UTC).strftime(_SLOT_ID_FORMAT)


def parse_slot_id(text: str) -> datetime:
    """The slot time a :func:`slot_id` came from; raises ``ValueError`` for anything else."""
    parsed = datetime.strptime(text, _SLOT_ID_FORMAT).replace(tzinfo=UTC)
    if slot_id(parsed) != text:
        raise ValueError(f"not a slot id: {text!r}")
    return parsed


def _time_of_day(offset: timedelta) -> time:
    minutes = int(offset.total_seconds()) // 60
    return time(minutes // 60, minutes % 60)


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None:
        raise ValueError("schedule math needs timezone-aware datetimes")
