"""The composition root exposes ARM's budget: the table ledger by default, or the fake a test passes."""

from __future__ import annotations

from datetime import UTC, datetime

from backup.adapters.tables.budget import TableArmBudget
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from tests.fakes.budget import FakeArmBudget
from tests.fakes.queue import FakeQueue
from tests.fakes.vault_store import FakeVaultStore

NEVER_CONNECTED = Settings(storage_connection_string="UseDevelopmentStorage=true")


def runtime(**overrides: object) -> Runtime:
    return Runtime.from_settings(
        NEVER_CONNECTED,
        clock=ManualClock(datetime(2026, 12, 3, tzinfo=UTC)),
        store=FakeVaultStore(),
        send_backup_requests=FakeQueue(),
        send_restore_requests=FakeQueue(),
        auth_enabled=False,
        **overrides,
    )


def test_the_budget_is_the_shared_table_ledger_by_default() -> None:
    built = runtime()
    assert isinstance(built.budget, TableArmBudget)


def test_a_fake_budget_replaces_it_and_survives_replacing() -> None:
    clock = ManualClock(datetime(2026, 12, 3, tzinfo=UTC))
    fake = FakeArmBudget(clock)
    built = runtime(budget=fake)
    assert built.budget is fake
    assert built.replacing(page_size=5).budget is fake
