"""ARM's request budget, shared by every process of the app: one ledger row per (subscription,
principal, category) in the ``_armbudget`` partition of ``vaultdata`` (``docs/storage.md``).

The row is the only shared state. Every change is one read and one conditional (ETag) write of
the row, retried a few times on a lost race, so reservations from any number of processes never
hold more than the bucket. The arithmetic is :mod:`backup.domain.pacing`'s; this module only
reads and writes the row, and saves table operations:

* concurrent ``reserve`` calls of one process for one ledger share one write;
* ``report`` buffers what ARM answered and folds it into the ledger's next write; on its own
  it writes at most once per ``flush_every`` seconds per ledger (a 429 at once: it stops every
  process from spending until Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from backup.adapters.storage import StorageClients
from backup.adapters.tables import keys
from backup.adapters.tables.base import TableStore, etag_of
from backup.domain.clock import Clock
from backup.domain.pacing import (
    ARM_DEFAULT_LIMITS,
    DEFAULT_HOLD_HORIZON,
    BucketLimits,
    BudgetScope,
    Category,
    LedgerState,
    defer_beyond,
    fresh_ledger,
    observe,
    reserve,
)
from backup.errors import ThrottledError, TransientError
from backup.telemetry import Telemetry

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

WRITE_ATTEMPTS = 8
"""Conditional writes tried before a reservation gives up (a ThrottledError: ask again later):
each loser of a race re-reads the row, so this many losses in a row means dozens of writers."""
MAX_BACKOFF = 0.5
"""Longest pause, in seconds, between two attempts at the row."""
CONTENDED_RETRY_AFTER = (1.0, 3.0)
"""When every attempt lost, callers come back after a random pause in this range (seconds)."""
FLUSH_EVERY = 1.0
"""Seconds between two writes of buffered reports alone, per ledger."""
MAX_BUFFERED_REPORTS = 256
"""Reports kept per ledger between writes; the oldest go first (the newest say most)."""

Report = tuple[float, int | None, float | None]
"""(when ARM answered, in epoch seconds; the remaining it reported; a 429's Retry-After)."""

_COLUMNS = {
    "Rate": "rate",
    "Tat": "tat",
    "Tickets": "tickets",
    "CooldownUntil": "cooldown_until",
    "Remaining": "remaining",
    "ObservedAt": "observed_at",
    "TrendRemaining": "trend_remaining",
    "TrendAt": "trend_at",
}
"""Row column -> :class:`LedgerState` field (capacity and refill are configuration, not state)."""


def encode_ledger(state: LedgerState) -> dict[str, Any]:
    """The row's columns; ``None`` fields are left out (Table Storage has no null)."""
    columns: dict[str, Any] = {}
    for column, name in _COLUMNS.items():
        value = getattr(state, name)
        if value is not None:
            columns[column] = int(value) if name in ("remaining", "trend_remaining") else float(value)
    return columns


def decode_ledger(entity: Mapping[str, Any], bucket: BucketLimits) -> LedgerState:
    """The ledger a row holds, over the configured bucket (a row of an older bucket keeps its
    times; its rate is clamped into the bucket's range by the next change)."""
    base = fresh_ledger(bucket)
    values: dict[str, Any] = {}
    for column, name in _COLUMNS.items():
        if column in entity and entity[column] is not None:
            raw = entity[column]
            values[name] = int(raw) if name in ("remaining", "trend_remaining") else float(raw)
    rate = min(base.refill, max(base.floor, values.pop("rate", base.refill)))
    return LedgerState(capacity=base.capacity, refill=base.refill, rate=rate, **values)


@dataclass
class _Waiter:
    count: int
    future: asyncio.Future[list[float]]


Ledger = tuple[str, str | None, Category]
"""(subscription, identity, category): one row."""


class TableArmBudget(TableStore):
    """:class:`backup.ports.ArmBudget` over the app's table."""

    def __init__(
        self,
        clients: StorageClients,
        clock: Clock,
        *,
        telemetry: Telemetry | None = None,
        limits: Mapping[Category, BucketLimits] = ARM_DEFAULT_LIMITS,
        horizon: float = DEFAULT_HOLD_HORIZON,
        flush_every: float = FLUSH_EVERY,
        attempts: int = WRITE_ATTEMPTS,
        backoff: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(clients)
        self._clock = clock
        self._telemetry = telemetry
        self._limits = dict(limits)
        self._horizon = horizon
        self._flush_every = flush_every
        self._attempts = attempts
        self._backoff = backoff
        self._reports: dict[Ledger, list[Report]] = {}
        self._written_at: dict[Ledger, float] = {}
        self._waiting: dict[Ledger, list[_Waiter]] = {}
        self._writers: dict[Ledger, asyncio.Task[None]] = {}
        self._last_written: dict[Ledger, tuple[LedgerState, str]] = {}
        """What this process last wrote to each ledger and its ETag: the next change starts
        from it without a read, and reads only if another process wrote since (a 412)."""
        """One writer task per ledger with work: it serves every waiter queued meanwhile in one
        write, and a caller that is cancelled never strands the others."""

    # The port -----------------------------------------------------------------------------------

    async def reserve(self, scope: BudgetScope, category: Category, count: int = 1) -> list[float]:
        """Hold ``count`` tokens (seconds from now for each, ascending, 0.0 = now).

        Raises :class:`ThrottledError` (``retry_after``: when to ask again) when the first token
        would be later than the hold horizon: then nothing is held."""
        if count < 1:
            raise ValueError("reserve at least one token")
        return await self._queue(_ledger(scope, category), count)

    async def report(
        self,
        scope: BudgetScope,
        category: Category,
        *,
        remaining: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Buffer what ARM answered; write it now if it is a 429 or the ledger's last write is
        older than ``flush_every`` (else the next write carries it)."""
        if remaining is None and retry_after is None:
            return
        ledger = _ledger(scope, category)
        now = self._now()
        buffered = self._reports.setdefault(ledger, [])
        buffered.append((now, remaining, retry_after))
        del buffered[:-MAX_BUFFERED_REPORTS]
        due = now - self._written_at.get(ledger, float("-inf")) >= self._flush_every
        if retry_after is None and (not due or ledger in self._writers):
            return  # a write is due later, or one is under way and the next one carries it
        try:
            await self._queue(ledger, 0)
        except Exception as error:  # reports are advice: they stay buffered for the next write
            _log.info("ARM budget reports for %s not written yet: %s", ledger, error)

    # The row --------------------------------------------------------------------------------------

    async def ledger_state(self, scope: BudgetScope, category: Category) -> LedgerState | None:
        """The row as it is (operators, tests); ``None`` before the ledger's first write."""
        row = await self._point(keys.BUDGET_PARTITION, keys.budget_key(*_ledger(scope, category)))
        return None if row is None else decode_ledger(row, self._limits[category])

    async def _queue(self, ledger: Ledger, count: int) -> list[float]:
        """Wait for the ledger's next write to serve ``count`` tokens (0: only fold the reports)."""
        waiter = _Waiter(count, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(ledger, []).append(waiter)
        if ledger not in self._writers:
            self._writers[ledger] = asyncio.create_task(self._write_while_waited(ledger))
        return await waiter.future

    async def _write_while_waited(self, ledger: Ledger) -> None:
        try:
            while self._waiting.get(ledger):
                await self._serve(ledger, self._waiting.pop(ledger))
        finally:
            del self._writers[ledger]

    async def _serve(self, ledger: Ledger, waiters: list[_Waiter]) -> None:
        """One write for every reservation waiting on the ledger, each held or told to wait."""

        def hold(state: LedgerState, now: float) -> tuple[LedgerState, list[list[float] | float]]:
            answers: list[list[float] | float] = []
            for waiter in waiters:
                if waiter.count == 0:
                    answers.append([])
                    continue
                ticket = defer_beyond(state, now, waiter.count, self._horizon)
                if ticket is not None:
                    state, wait = ticket
                    answers.append(wait)
                else:
                    state, delays = reserve(state, now, waiter.count)
                    answers.append(delays)
            return state, answers

        try:
            answers = await self._change(ledger, hold)
        except Exception as error:
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
            return
        deferred = 0
        for waiter, answer in zip(waiters, answers, strict=True):
            if waiter.future.done():
                continue  # its caller was cancelled; a token it held lapses unspent
            if isinstance(answer, float):
                deferred += waiter.count
                waiter.future.set_exception(
                    ThrottledError(
                        f"The ARM {ledger[2]} budget of subscription {ledger[0]} has no token within "
                        f"{self._horizon:g} seconds; ask again in {answer:.1f} seconds.",
                        retry_after=answer,
                        code="ArmBudgetExhausted",
                    )
                )
            else:
                deferred += sum(1 for delay in answer if delay > 0)
                waiter.future.set_result(answer)
        if self._telemetry is not None:
            self._telemetry.budget_deferred(ledger[0], keys.budget_principal(ledger[1]), ledger[2], deferred)

    async def _change(
        self, ledger: Ledger, step: Callable[[LedgerState, float], tuple[LedgerState, _T]]
    ) -> _T:
        """Read the row, fold the buffered reports in, apply ``step``, write it back if unchanged."""
        subscription, identity, category = ledger
        row_key = keys.budget_key(subscription, identity, category)
        table = await self._data()
        for attempt in range(self._attempts):
            bucket = self._limits[category]
            known = self._last_written.pop(ledger, None)
            etag: str | None
            if known is not None:
                state, etag = known
            else:
                row = await self._point(keys.BUDGET_PARTITION, row_key)
                state = fresh_ledger(bucket) if row is None else decode_ledger(row, bucket)
                etag = None if row is None else etag_of(row)
            folded = list(self._reports.get(ledger, ()))
            for at, remaining, retry_after in folded:
                state = observe(state, at, remaining=remaining, retry_after=retry_after)
            now = self._now()
            state, result = step(state, now)
            entity = {"PartitionKey": keys.BUDGET_PARTITION, "RowKey": row_key, **encode_ledger(state)}
            try:
                if etag is None:
                    written = await table.create_entity(entity)
                else:
                    written = await table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
            except (ResourceExistsError, ResourceNotFoundError):
                pass  # created or removed by another process since the read
            except HttpResponseError as error:
                if error.status_code != 412:
                    raise TransientError(
                        f"The ARM budget ledger could not be written: {error.message}",
                        code="StorageUnavailable",
                    ) from error
            else:
                new_etag = written.get("etag") if isinstance(written, Mapping) else None
                if new_etag:
                    self._last_written[ledger] = (decode_ledger(entity, bucket), str(new_etag))
                if folded:
                    # Only what was folded goes; reports that came during the write stay.
                    sent = set(folded)
                    self._reports[ledger] = [r for r in self._reports.get(ledger, ()) if r not in sent]
                self._written_at[ledger] = now
                if self._telemetry is not None:
                    self._telemetry.budget_rate(
                        subscription, keys.budget_principal(identity), category, state.rate
                    )
                return result
            # Losers spread out, more with every loss in a row.
            await self._backoff(random.uniform(0.0, min(MAX_BACKOFF, 0.01 * 2**attempt)))
        # "Not yet", not a failure: a caller defers (spending no delivery) and asks again later.
        raise ThrottledError(
            f"The ARM budget ledger {row_key} kept changing under {self._attempts} writes; ask again.",
            retry_after=random.uniform(*CONTENDED_RETRY_AFTER),
            code="ArmBudgetContended",
        )

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _ledger(scope: BudgetScope, category: Category) -> Ledger:
    identity = scope.identity.lower() if scope.identity else None
    return scope.subscription_id.lower(), identity, Category(category)
