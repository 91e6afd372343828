"""Timer triggers: NCRONTAB (or TimeSpan) schedules evaluated on an injectable clock.

Like the host: one invocation at a time per timer, ``runOnStartup`` fires once when the host
starts, and occurrences missed while an invocation ran long (or while the clock jumped) are
coalesced into one invocation with ``past_due=True``. An occurrence is also past due when it
fires more than ``past_due_after`` (real seconds, times the clock's ``speed``) behind schedule.
There is no schedule monitor: occurrences missed while the host was stopped are not replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from azure.functions.timer import TimerRequest

from localdev.functions_host.clock import ClockWaiter
from localdev.functions_host.indexing import IndexedFunction, Outcome
from localdev.functions_host.schedules import parse_schedule

log = logging.getLogger("localdev.functions_host")

Invoker = Callable[[IndexedFunction, Any, str], Awaitable[Outcome]]

# Enough to catch up with a clock running thousands of times faster than real time.
_MAX_COALESCED = 1_000_000


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class TimerRunner:
    def __init__(
        self,
        function: IndexedFunction,
        waiter: ClockWaiter,
        invoke: Invoker,
        stop: asyncio.Event,
        *,
        past_due_after: float = 1.0,
    ) -> None:
        self.function = function
        trigger = function.trigger
        self.schedule = parse_schedule(str(trigger["schedule"]))
        self.run_on_startup = bool(trigger.get("runOnStartup"))
        self._waiter = waiter
        self._invoke = invoke
        self._stop = stop
        self._tolerance = timedelta(seconds=past_due_after * waiter.speed)
        # The schedule starts when the host starts, not when this runner's task first runs.
        self.first = self.schedule.next_after(waiter.now())

    async def _fire(
        self, *, past_due: bool, last: datetime | None, following: datetime | None, why: str
    ) -> None:
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": _iso(last),
                "Next": _iso(following),
                "LastUpdated": _iso(self._waiter.now()),
            },
            schedule={"AdjustForDST": True},
        )
        await self._invoke(self.function, request, f"trigger=timer:{why} pastDue={past_due}")

    async def run(self) -> None:
        upcoming = self.first
        last: datetime | None = None
        if self.run_on_startup:
            await self._fire(past_due=False, last=None, following=upcoming, why="startup")
        while upcoming is not None:
            if not await self._waiter.wait_until(upcoming, self._stop):
                return
            now = self._waiter.now()
            scheduled = upcoming
            following = self.schedule.next_after(scheduled)
            missed = 0
            while following is not None and following <= now and missed < _MAX_COALESCED:
                scheduled, following = following, self.schedule.next_after(following)
                missed += 1
            past_due = missed > 0 or now - scheduled > self._tolerance
            await self._fire(past_due=past_due, last=last, following=following, why=scheduled.isoformat())
            last = scheduled
            upcoming = following
        log.warning("Timer '%s' (%s) has no further occurrence", self.function.name, self.schedule)
