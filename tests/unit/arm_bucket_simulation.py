"""A deterministic, pure-Python simulation of one of ARM's buckets shared by this app and another
client, used to hold the pacer's control law to the issue's goal (tests/unit/test_pacing.py).

ARM's side is the emulator's token bucket (whole tokens, Retry-After rounded up to a second).
The app's side drives the domain functions as the table adapter does: it holds tokens up to the
horizon whenever it has work, sends each request at its token's time, and folds what ARM
answered into the ledger in batches, late (as buffered reports are), in the order they came.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from backup.domain.pacing import (
    DEFAULT_HOLD_HORIZON,
    BucketLimits,
    LedgerState,
    defer_beyond,
    fresh_ledger,
    observe,
    reserve,
)

ARRIVAL = 1e-5
"""A request reaches ARM a moment after its token's time (no float tie with ARM's refill)."""


@dataclass
class ArmBucket:
    capacity: float
    refill: float
    tokens: float
    updated: float = 0.0

    def take(self, now: float) -> tuple[bool, int, int]:
        """(allowed, remaining after the take, Retry-After when refused), as ARM answers."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:  # a whole token, up to the float error of summed refills
            self.tokens -= 1.0
            return True, int(self.tokens), 0
        return False, 0, math.ceil((1.0 - self.tokens) / self.refill)


@dataclass
class Outcome:
    app_requests: int = 0
    app_throttled: int = 0
    app_succeeded: int = 0
    foreign_succeeded: int = 0
    rates: list[tuple[float, float]] = field(default_factory=list)

    @property
    def throttled_fraction(self) -> float:
        return self.app_throttled / max(1, self.app_requests)


def simulate(
    limits: BucketLimits,
    *,
    seconds: float,
    foreign_share: float,
    step: float = 0.05,
    latency: float = 0.1,
    fold_every: float = 1.0,
    horizon: float = DEFAULT_HOLD_HORIZON,
    demand_from: float = 0.0,
    processes: int = 1,
) -> Outcome:
    """The app has more work than the bucket allows from ``demand_from`` on; another client
    spends ``foreign_share`` of the refill, evenly, throughout. Returns what each got.

    With several ``processes``, requests go to them in turn and each buffers what ARM answered
    its own requests, folding it in on its own cadence (staggered): the ledger then sees the
    reports of different processes out of order, as the shared row does."""
    arm = ArmBucket(limits.capacity, limits.refill, limits.capacity)
    ledger: LedgerState = fresh_ledger(limits)
    outcome = Outcome()
    sends: list[float] = []  # held tokens' times
    # Per process: (when ARM answered, remaining, Retry-After) not yet folded in.
    reports: list[list[tuple[float, int | None, float | None]]] = [[] for _ in range(processes)]
    last_fold = [-fold_every * k / processes for k in range(processes)]
    sent = 0
    foreign_every = 1.0 / (foreign_share * limits.refill) if foreign_share > 0 else math.inf
    next_foreign = foreign_every / 2
    now = 0.0
    while now < seconds:
        end = now + step
        # ARM, in time order: the other client's requests and the app's held tokens.
        while True:
            app_next = sends[0] if sends else math.inf
            if min(app_next, next_foreign) >= end:
                break
            if next_foreign <= app_next:
                ok, _, _ = arm.take(next_foreign)
                outcome.foreign_succeeded += ok
                next_foreign += foreign_every
                continue
            at = heapq.heappop(sends)
            ok, remaining, retry = arm.take(at + ARRIVAL)
            outcome.app_requests += 1
            mine = reports[sent % processes]
            sent += 1
            if ok:
                outcome.app_succeeded += 1
                mine.append((at + latency, remaining, None))
            else:
                outcome.app_throttled += 1
                mine.append((at + latency, None, float(retry)))
        now = end
        # Buffered reports reach the ledger late, in batches, in the order they were answered.
        for process, buffered in enumerate(reports):
            if now - last_fold[process] < fold_every:
                continue
            due = [report for report in buffered if report[0] <= now]
            reports[process] = [report for report in buffered if report[0] > now]
            for when, remaining, retry in sorted(due, key=lambda report: report[0]):
                ledger = observe(ledger, when, remaining=remaining, retry_after=retry)
            last_fold[process] = now
        if now >= demand_from:
            while defer_beyond(ledger, now, 1, horizon) is None:
                ledger, [delay] = reserve(ledger, now)
                heapq.heappush(sends, now + delay)
        outcome.rates.append((now, ledger.rate))
    return outcome
