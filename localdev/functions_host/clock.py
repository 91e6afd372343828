"""The time source timer triggers are evaluated on.

Any object with ``now() -> aware datetime`` will do, so the product's own clock
(``backup.domain.clock.SystemClock``/``ManualClock``/``OffsetClock``) can be passed in as is.
``AcceleratedClock`` is this host's own "demo" clock: it starts at ``origin`` (default: now)
and runs ``speed`` times faster than real time.

The host never asks a clock how fast it runs: it sleeps in short real-time steps and measures
the rate it observes, so a clock that only moves when a test advances it works as well as one
that runs 3600 times faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class AcceleratedClock:
    """``origin + (real time elapsed since construction) * speed``, timezone-aware, UTC."""

    def __init__(self, *, speed: float = 1.0, origin: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if origin is not None and origin.tzinfo is None:
            raise ValueError("origin must be timezone-aware")
        self.speed = speed
        self._real_start = time.monotonic()
        self.origin = origin.astimezone(UTC) if origin is not None else datetime.now(UTC)

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.monotonic() - self._real_start) * self.speed)


class ClockWaiter:
    """Sleeps in real time until a clock reaches a moment, whatever the clock's speed.

    A clock's public ``speed`` attribute (as on ``AcceleratedClock``), if any, is the first
    guess of its rate and the scale for "late" (past due); the rate actually observed across
    each sleep then steers the next one. A clock that does not move (a test's manual clock) is
    re-read every ``max_step`` seconds.
    """

    def __init__(self, clock: Clock, *, max_step: float = 0.5) -> None:
        self.clock = clock
        self.max_step = max_step
        speed = getattr(clock, "speed", None)
        self.speed = float(speed) if isinstance(speed, int | float) and speed > 0 else 1.0
        self.rate = self.speed

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    async def wait_until(self, moment: datetime, stop: asyncio.Event) -> bool:
        """True once ``clock.now() >= moment``; False if ``stop`` was set first."""
        while not stop.is_set():
            before = self.now()
            remaining = (moment - before).total_seconds()
            if remaining <= 0:
                return True
            step = min(remaining / self.rate, self.max_step) if self.rate > 0 else self.max_step
            started = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(step, 0.001))
            real = time.monotonic() - started
            if real > 0:
                self.rate = max((self.now() - before).total_seconds() / real, 0.0)
        return False
