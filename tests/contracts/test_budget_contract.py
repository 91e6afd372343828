"""The ARM budget's contract, held by the in-memory fake and by the table adapter on Azurite.

What the engine relies on: tokens come in order at the bucket's pace (a full bucket at once,
then the refill rate), what ARM reported changes the next reservations, nothing is held beyond
the horizon (a ThrottledError says when to ask again), and any number of processes sharing one
ledger never hold more than the bucket between them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest

from backup.adapters.storage import StorageClients
from backup.adapters.tables.budget import TableArmBudget
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.pacing import BucketLimits, BudgetScope, Category
from backup.errors import ThrottledError
from tests.fakes.budget import FakeArmBudget

T0 = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
SMALL = MappingProxyType({category: BucketLimits(5, 10.0) for category in Category})
"""Five at once, then one every 0.1 s: small enough to see every token."""
HORIZON = 1000.0
IDENTITY = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"


def near(expected: Any) -> Any:
    # Epoch seconds as floats resolve to about a microsecond.
    return pytest.approx(expected, abs=1e-5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def budgets(
    adapter: str, clock: ManualClock, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Any]]:
    """Builds budgets over ONE shared ledger store: each call is another process."""
    fakes: dict[float, FakeArmBudget] = {}
    opened: list[StorageClients] = []

    def build(horizon: float = HORIZON) -> Any:
        if adapter == "fake":
            # One process's memory is the whole shared state of the fake.
            return fakes.setdefault(horizon, FakeArmBudget(clock, limits=SMALL, horizon=horizon))
        azurite = request.getfixturevalue("azurite")
        clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
        opened.append(clients)
        return TableArmBudget(clients, clock, limits=SMALL, horizon=horizon)

    yield build
    for clients in opened:
        await clients.close()


@pytest.fixture
def scope() -> BudgetScope:
    # Azurite is shared by the session: a fresh subscription keeps each test's ledger apart.
    return BudgetScope(str(uuid.uuid4()))


async def test_a_full_bucket_at_once_then_the_refill_rate_in_order(budgets: Any, scope: BudgetScope) -> None:
    budget = budgets()
    assert await budget.reserve(scope, Category.WRITES, 7) == near([0, 0, 0, 0, 0, 0.1, 0.2])
    assert await budget.reserve(scope, Category.WRITES) == near([0.3])
    # Another category, another principal: other buckets.
    assert await budget.reserve(scope, Category.READS) == [0.0]
    other = BudgetScope(scope.subscription_id, IDENTITY)
    assert await budget.reserve(other, Category.WRITES, 5) == [0.0] * 5


async def test_time_refills_the_ledger(budgets: Any, scope: BudgetScope, clock: ManualClock) -> None:
    budget = budgets()
    await budget.reserve(scope, Category.READS, 5)
    clock.advance(timedelta(seconds=0.3))
    assert await budget.reserve(scope, Category.READS, 4) == near([0, 0, 0, 0.1])


async def test_remaining_reported_caps_the_burst(budgets: Any, scope: BudgetScope) -> None:
    budget = budgets()
    await budget.report(scope, Category.READS, remaining=2)
    assert await budget.reserve(scope, Category.READS, 4) == near([0, 0, 0.1, 0.2])


async def test_a_429_holds_every_token_until_retry_after(budgets: Any, scope: BudgetScope) -> None:
    budget = budgets()
    await budget.report(scope, Category.WRITES, retry_after=4.0)
    delays = await budget.reserve(scope, Category.WRITES, 2)
    assert delays[0] == near(4.0)
    assert delays[1] > delays[0]
    state = await budget.ledger_state(scope, Category.WRITES)
    assert state is not None
    assert state.rate < SMALL[Category.WRITES].refill


async def test_nothing_is_held_beyond_the_horizon(budgets: Any, scope: BudgetScope) -> None:
    budget = budgets(horizon=0.25)
    assert await budget.reserve(scope, Category.DELETES, 7) == near([0, 0, 0, 0, 0, 0.1, 0.2])
    with pytest.raises(ThrottledError) as refused:
        await budget.reserve(scope, Category.DELETES)
    assert refused.value.retry_after == near(0.3 - 0.125)
    with pytest.raises(ThrottledError) as next_one:
        await budget.reserve(scope, Category.DELETES)
    assert next_one.value.retry_after == near(0.3 - 0.125 + 0.1)  # spread, not all at once
    # Nothing was held: the next token is still the one after 0.2.
    state = await budget.ledger_state(scope, Category.DELETES)
    assert state is not None
    assert state.next_token_at(T0.timestamp()) == near(T0.timestamp() + 0.3)


async def test_processes_sharing_one_ledger_never_hold_more_than_the_bucket(
    budgets: Any, scope: BudgetScope
) -> None:
    first, second = budgets(), budgets()
    calls = [(first if n % 2 else second).reserve(scope, Category.WRITES, 1 + n % 3) for n in range(20)]
    answers = await asyncio.gather(*calls)
    delays = sorted(delay for answer in answers for delay in answer)
    # 39 tokens at one instant: exactly one bucket at once, then one per 0.1 s, none twice.
    assert len(delays) == sum(1 + n % 3 for n in range(20)) == 39
    assert delays == near([0.0] * 5 + [0.1 * k for k in range(1, 35)])
