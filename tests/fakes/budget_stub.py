"""A scripted stand-in for the ``ArmBudget`` port, for the engine's own tests.

It does no arithmetic: ``reserve`` answers the delays a test queued (``then``), 0.0 otherwise,
and every reserve and report is kept, so a test can see what the worker and the gateway asked
for and told. The real pacing (and its fake) is ``tests/fakes/budget.py``; replace this stub
with it where a test wants real token-bucket behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backup.domain.pacing import BudgetScope, Category


@dataclass
class Report:
    scope: BudgetScope
    category: Category
    remaining: int | None
    retry_after: float | None


@dataclass
class ScriptedBudget:
    reserved: list[tuple[BudgetScope, Category, int]] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    _delays: dict[Category, list[float]] = field(default_factory=dict)

    def then(self, category: Category, *delays: float) -> None:
        """The next reserves of ``category`` answer these delays, in order."""
        self._delays.setdefault(category, []).extend(delays)

    async def reserve(self, scope: BudgetScope, category: Category, count: int = 1) -> list[float]:
        self.reserved.append((scope, category, count))
        queued = self._delays.get(category, [])
        return [queued.pop(0) if queued else 0.0 for _ in range(count)]

    async def report(
        self,
        scope: BudgetScope,
        category: Category,
        *,
        remaining: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.reports.append(Report(scope, category, remaining, retry_after))

    def count(self, category: Category) -> int:
        return sum(count for _, held, count in self.reserved if held is category)
