"""A backlog of due backups waiting for ARM's write budget, delivered as the queue would deliver
it (each message when its delay has passed, on a manual clock): every backup is recorded, and
waiting costs at most one message more per backup. Every message is a queue receive and delete
and a fresh execution, so a start that went round the queue once per "not yet" multiplied the
engine's queue traffic at estate scale."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from datetime import datetime, timedelta

from backup.adapters.queues import visibility_delay
from backup.domain.pacing import ARM_DEFAULT_LIMITS, BucketLimits, Category
from backup.services.backup_runner import BackupRunner, Outcome
from backup.services.messages import START, BackupRequest
from tests.fakes.budget import FakeArmBudget
from tests.service.conftest import START as SLOT
from tests.service.conftest import Env, disk_id

DISKS = 40
WRITES = BucketLimits(capacity=5, refill=1.0)
"""A small write bucket: 35 of the 40 starts wait, most of them past the hold horizon."""


async def test_a_backlog_waiting_for_the_write_budget_costs_at_most_one_more_message_per_start(
    env: Env,
) -> None:
    for index in range(DISKS):
        env.arm.add_disk(disk_id(f"disk-{index:02d}"), content=f"content {index}")
        await env.protect(f"disk-{index:02d}")
    budget = FakeArmBudget(env.clock, limits={**ARM_DEFAULT_LIMITS, Category.WRITES: WRITES})
    queue = SimulatedQueue(env)
    runner = BackupRunner(
        env.store,
        env.runtime.compute,
        env.clock,
        env.telemetry,
        env.policies,
        rows=env.runtime.instance_rows,
        send_later=env.backups.later,
        budget=budget,
        sleep=queue.sleep,
    )
    env.clock.set(SLOT)
    await env.planner.tick()
    outcomes, starts = await queue.deliver_all(runner)

    assert outcomes == [Outcome.RECORDED] * DISKS
    assert budget.deferred > 0, "the bucket was meant to be too small for the backlog"
    # One message from the planner, at most one more after a "come back later" ticket: the
    # ticket brings it back just before its token, and that short wait is slept in-process.
    assert max(starts.values()) <= 2
    assert len(starts) == DISKS
    assert queue.slept
    assert max(queue.slept) <= runner.defer_after


class SimulatedQueue:
    """Delivers every message when its delay has passed, all that are due at once concurrently
    (as a host with free execution slots would), and wakes in-process sleeps at their time; the
    manual clock jumps from one event to the next."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self._due: list[tuple[datetime, int, str]] = []
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._parked: set[asyncio.Task[object]] = set()
        self._order = itertools.count()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._env.now + timedelta(seconds=seconds), next(self._order), wake))
        task = asyncio.current_task()
        assert task is not None
        self._parked.add(task)
        try:
            await wake
        finally:
            self._parked.discard(task)

    def _take_sent(self) -> None:
        delays = dict(self._env.backups.delays)
        self._env.backups.delays.clear()
        for body in self._env.backups.take():
            # Whole seconds, rounded up, as the queue adapter asks the queue for them.
            at = self._env.now + timedelta(seconds=visibility_delay(delays.get(body, 0.0)))
            heapq.heappush(self._due, (at, next(self._order), body))

    async def deliver_all(self, runner: BackupRunner) -> tuple[list[Outcome], Counter[str]]:
        outcomes: list[Outcome] = []
        starts: Counter[str] = Counter()
        running: set[asyncio.Task[Outcome]] = set()
        self._take_sent()
        while True:
            # Let every execution run until it ends or sleeps (the fakes never block otherwise).
            # Yielding is the point here: no task sets an event when it parks or ends.
            while any(not task.done() and task not in self._parked for task in running):  # noqa: ASYNC110
                await asyncio.sleep(0)
            for task in [task for task in running if task.done()]:
                running.discard(task)
                if task.result().is_final:
                    outcomes.append(task.result())
            self._take_sent()
            times = [heap[0][0] for heap in (self._due, self._sleepers) if heap]
            if not times:
                return outcomes, starts
            now = min(times)
            self._env.clock.set(max(now, self._env.now))
            while self._sleepers and self._sleepers[0][0] <= self._env.now:
                heapq.heappop(self._sleepers)[2].set_result(None)
            while self._due and self._due[0][0] <= self._env.now:
                body = heapq.heappop(self._due)[2]
                request = BackupRequest.from_json(body)
                if request.phase == START:
                    starts[request.instance] += 1
                running.add(asyncio.create_task(runner.handle_message(body, 1)))
