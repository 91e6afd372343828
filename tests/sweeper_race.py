"""Two retention sweepers over one store, made to meet where a race can hurt.

Each sweeper sees the store through a :class:`Rendezvous`, which holds every caller of one method
until both sweepers have reached it: both have read the same expired points (``expired``), or
both have deleted the snapshots and are about to record it (``record_deletions``). What happens
next is the race two app instances running the timer at once would run, without relying on luck.
"""

from __future__ import annotations

import asyncio
from typing import Any

from backup.domain.clock import Clock
from backup.ports import ArmGateway
from backup.services.retention import RetentionSweeper, SweepResult
from backup.telemetry import Telemetry


class Rendezvous:
    """A store whose ``method`` waits until ``barrier`` has every party; everything else passes."""

    def __init__(self, store: Any, method: str, barrier: asyncio.Barrier) -> None:
        self._store = store
        self._method = method
        self._barrier = barrier
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if name == self._method and self.calls[name] == 1:
                await self._barrier.wait()
            return await target(*args, **kwargs)

        return call


async def race_two_sweepers(
    store: Any, compute: ArmGateway, clock: Clock, telemetry: Telemetry, *, meet_at: str
) -> tuple[tuple[SweepResult, SweepResult], tuple[Rendezvous, Rendezvous]]:
    """Sweep with two sweepers at once; they meet (once) at the store method ``meet_at``."""
    barrier = asyncio.Barrier(2)
    views = (Rendezvous(store, meet_at, barrier), Rendezvous(store, meet_at, barrier))
    sweepers = [RetentionSweeper(view, compute, clock, telemetry) for view in views]
    first, second = await asyncio.wait_for(asyncio.gather(*(s.sweep() for s in sweepers)), timeout=120)
    return (first, second), views
