"""Injected time. Schedule, retention and limit logic never read the wall clock directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Real time shifted by an offset that may be moved: ARM's time in a test or benchmark that
    moves the emulator's clock along with its own stopped one (ARM's buckets keep refilling
    while the product's clock stands still)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class ManualClock:
    """A clock that only moves when told to; tests simulate weeks in seconds with it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        self._now = when.astimezone(UTC)


class OffsetClock:
    """Real time shifted and optionally sped up; the local demo's accelerated clock."""

    def __init__(
        self, *, origin: datetime | None = None, speed: float = 1.0, base: Clock | None = None
    ) -> None:
        self._base = base or SystemClock()
        self._real_origin = self._base.now()
        self._origin = origin.astimezone(UTC) if origin is not None else self._real_origin
        self._speed = speed

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""
        return self._speed

    def now(self) -> datetime:
        elapsed = self._base.now() - self._real_origin
        return self._origin + elapsed * self._speed


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_millis(moment: datetime) -> int:
    """Whole milliseconds since the epoch, computed exactly.

    ``int(moment.timestamp() * 1000)`` goes through a float and can round a millisecond away
    (2038-01-19 03:34:00.001 and .002 came out equal), which would give two different times
    the same key prefix.
    """
    return (moment - _EPOCH) // _MILLISECOND


def from_epoch_millis(millis: int) -> datetime:
    return _EPOCH + millis * _MILLISECOND


MAX_INVERTED_MILLIS = (1 << 48) - 1
"""Ids that sort newest first start with this minus the time in milliseconds, in 12 hex digits."""
