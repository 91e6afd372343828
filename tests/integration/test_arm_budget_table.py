"""The table ledger on Azurite, beyond the contract: several processes racing on one row, reports
buffered and written at most once a second on their own (a 429 at once, seen by every process),
and the budget's telemetry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from backup import telemetry
from backup.adapters.storage import StorageClients
from backup.adapters.tables import keys
from backup.adapters.tables.budget import TableArmBudget
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.pacing import BucketLimits, BudgetScope, Category
from backup.errors import ThrottledError
from backup.names import VAULT_DATA_TABLE

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
SMALL = MappingProxyType({category: BucketLimits(5, 10.0) for category in Category})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def scope() -> BudgetScope:
    return BudgetScope(str(uuid.uuid4()))


@pytest.fixture
async def process(azurite: Any, clock: ManualClock) -> AsyncIterator[Callable[..., TableArmBudget]]:
    """Each call is another process: its own clients, its own buffers, the same table."""
    opened: list[StorageClients] = []

    def build(**options: Any) -> TableArmBudget:
        clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
        opened.append(clients)
        return TableArmBudget(clients, clock, limits=SMALL, **options)

    yield build
    for clients in opened:
        await clients.close()


async def test_racing_processes_hold_each_token_once_and_lose_races_quietly(
    process: Callable[..., TableArmBudget], scope: BudgetScope
) -> None:
    lost: list[float] = []

    async def backoff(seconds: float) -> None:
        lost.append(seconds)
        await asyncio.sleep(seconds)

    budgets = [process(backoff=backoff, horizon=1000.0) for _ in range(4)]
    calls = [budgets[n % 4].reserve(scope, Category.READS) for n in range(60)]
    delays = sorted(d for answer in await asyncio.gather(*calls) for d in answer)
    assert delays == pytest.approx([0.0] * 5 + [0.1 * k for k in range(1, 56)], abs=1e-5)
    # Each process wrote once per batch of its callers: far fewer writes than calls.
    assert len(lost) < 60


async def test_reports_are_buffered_a_429_goes_at_once_and_every_process_sees_it(
    process: Callable[..., TableArmBudget], scope: BudgetScope, clock: ManualClock
) -> None:
    reporter, other = process(), process()
    await reporter.report(scope, Category.WRITES, remaining=4)  # first report: written
    assert (await other.ledger_state(scope, Category.WRITES)).remaining == 4  # type: ignore[union-attr]
    await reporter.report(scope, Category.WRITES, remaining=3)  # within the second: buffered
    assert (await other.ledger_state(scope, Category.WRITES)).remaining == 4  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=0.5))
    await reporter.report(scope, Category.WRITES, retry_after=2.0)  # a 429: at once
    state = await other.ledger_state(scope, Category.WRITES)
    assert state is not None
    assert state.remaining == 0
    [delay] = await other.reserve(scope, Category.WRITES)
    assert delay == pytest.approx(2.0, abs=1e-5)
    clock.advance(timedelta(seconds=1.0))
    await reporter.report(scope, Category.WRITES, remaining=1)  # a second later: written
    assert (await other.ledger_state(scope, Category.WRITES)).remaining == 1  # type: ignore[union-attr]


async def test_buffered_reports_ride_on_the_next_reservation(
    process: Callable[..., TableArmBudget], scope: BudgetScope
) -> None:
    budget = process()
    await budget.report(scope, Category.READS, remaining=5)
    await budget.report(scope, Category.READS, remaining=2)  # buffered
    assert await budget.reserve(scope, Category.READS, 3) == pytest.approx([0.0, 0.0, 0.1], abs=1e-5)
    assert (await budget.ledger_state(scope, Category.READS)).remaining == 2  # type: ignore[union-attr]


async def test_one_row_per_subscription_principal_and_category(
    process: Callable[..., TableArmBudget], scope: BudgetScope, azurite: Any
) -> None:
    budget = process()
    identity = (
        "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/I"
    )
    await budget.reserve(scope, Category.READS)
    await budget.reserve(BudgetScope(scope.subscription_id, identity), Category.READS)
    await budget.reserve(BudgetScope(scope.subscription_id, identity.lower()), Category.DELETES)
    clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
    try:
        table = await clients.table(VAULT_DATA_TABLE)
        rows = [
            row["RowKey"]
            async for row in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": keys.BUDGET_PARTITION}
            )
            if row["RowKey"].startswith(scope.subscription_id)
        ]
    finally:
        await clients.close()
    principal = keys.budget_principal(identity)
    assert sorted(rows) == sorted(
        [
            f"{scope.subscription_id}|app|reads",
            f"{scope.subscription_id}|{principal}|reads",
            f"{scope.subscription_id}|{principal}|deletes",
        ]
    )


async def test_the_rate_and_the_deferred_requests_are_observable(
    process: Callable[..., TableArmBudget], scope: BudgetScope
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    budget = process(telemetry=telemetry.Telemetry(meter_provider=provider), horizon=0.15)
    await budget.reserve(scope, Category.WRITES, 6)  # one of them waits 0.1 s
    with pytest.raises(ThrottledError):
        await budget.reserve(scope, Category.WRITES, 2)  # none within the horizon
    await budget.report(scope, Category.WRITES, retry_after=1.0)
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [(dict(p.attributes or {}), p.value) for p in metric.data.data_points]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    where = {"subscription": scope.subscription_id, "principal": "app", "category": "writes"}
    assert points[telemetry.BUDGET_DEFERRED_METRIC] == [(where, 3)]
    ((attributes, rate),) = points[telemetry.BUDGET_RATE_METRIC]
    assert attributes == where
    assert rate < SMALL[Category.WRITES].refill  # the 429 cut it
    provider.shutdown()


async def test_a_cancelled_caller_strands_no_other(
    process: Callable[..., TableArmBudget], scope: BudgetScope
) -> None:
    budget = process(horizon=1000.0)
    first = asyncio.create_task(budget.reserve(scope, Category.READS))
    second = asyncio.create_task(budget.reserve(scope, Category.READS))
    await asyncio.sleep(0)  # both queued on the same write
    first.cancel()
    assert await second == [0.0]
    with pytest.raises(asyncio.CancelledError):
        await first
    # The cancelled caller's token was held all the same (it lapses): nothing is handed out twice.
    assert await budget.reserve(scope, Category.READS, 4) == pytest.approx([0.0, 0.0, 0.0, 0.1], abs=1e-5)


async def test_a_ledger_that_keeps_changing_says_ask_again_and_changes_nothing(
    process: Callable[..., TableArmBudget], scope: BudgetScope, monkeypatch: pytest.MonkeyPatch
) -> None:
    losses: list[float] = []

    async def backoff(seconds: float) -> None:
        losses.append(seconds)

    winner, loser = process(), process(attempts=3, backoff=backoff)
    await winner.reserve(scope, Category.WRITES)
    stale = await loser._point(keys.BUDGET_PARTITION, keys.budget_key(scope.subscription_id, None, "writes"))
    await winner.reserve(scope, Category.WRITES)
    before = await winner.ledger_state(scope, Category.WRITES)

    async def always_stale(partition: str, row: str) -> Any:
        return stale

    # Every read the loser makes is older than the row: each of its writes loses the race.
    monkeypatch.setattr(loser, "_point", always_stale)
    with pytest.raises(ThrottledError) as refused:
        await loser.reserve(scope, Category.WRITES)
    assert refused.value.code == "ArmBudgetContended"
    assert refused.value.retry_after is not None
    assert refused.value.retry_after >= 1.0
    assert len(losses) == 3
    assert await winner.ledger_state(scope, Category.WRITES) == before
