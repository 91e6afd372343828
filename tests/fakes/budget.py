"""In-memory :class:`backup.ports.ArmBudget`: the same ledger arithmetic as the table adapter
(``backup.domain.pacing``), one ledger per (subscription, principal, category), no storage.

Held to ``TableArmBudget`` by ``tests/contracts/test_budget_contract.py``."""

from __future__ import annotations

from collections.abc import Mapping

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
from backup.errors import ThrottledError

Ledger = tuple[str, str | None, Category]


class FakeArmBudget:
    def __init__(
        self,
        clock: Clock,
        *,
        limits: Mapping[Category, BucketLimits] = ARM_DEFAULT_LIMITS,
        horizon: float = DEFAULT_HOLD_HORIZON,
    ) -> None:
        self._clock = clock
        self._limits = dict(limits)
        self._horizon = horizon
        self.ledgers: dict[Ledger, LedgerState] = {}
        self.held: list[tuple[Ledger, float]] = []
        """Every token held: its ledger and its delay (what a test asserts on)."""
        self.reports: list[tuple[Ledger, int | None, float | None]] = []
        self.deferred = 0
        """Reservations that got no token within the horizon (a ThrottledError)."""

    async def reserve(self, scope: BudgetScope, category: Category, count: int = 1) -> list[float]:
        if count < 1:
            raise ValueError("reserve at least one token")
        ledger = _ledger(scope, category)
        state = self._state(ledger)
        now = self._now()
        ticket = defer_beyond(state, now, count, self._horizon)
        if ticket is not None:
            self.ledgers[ledger], wait = ticket
            self.deferred += 1
            raise ThrottledError(
                f"The ARM {category} budget has no token within {self._horizon:g} seconds.",
                retry_after=wait,
                code="ArmBudgetExhausted",
            )
        self.ledgers[ledger], delays = reserve(state, now, count)
        self.held.extend((ledger, delay) for delay in delays)
        return delays

    async def report(
        self,
        scope: BudgetScope,
        category: Category,
        *,
        remaining: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if remaining is None and retry_after is None:
            return
        ledger = _ledger(scope, category)
        self.reports.append((ledger, remaining, retry_after))
        self.ledgers[ledger] = observe(
            self._state(ledger), self._now(), remaining=remaining, retry_after=retry_after
        )

    async def ledger_state(self, scope: BudgetScope, category: Category) -> LedgerState | None:
        return self.ledgers.get(_ledger(scope, category))

    def _state(self, ledger: Ledger) -> LedgerState:
        return self.ledgers.get(ledger) or fresh_ledger(self._limits[ledger[2]])

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _ledger(scope: BudgetScope, category: Category) -> Ledger:
    identity = scope.identity.lower() if scope.identity else None
    return scope.subscription_id.lower(), identity, Category(category)
