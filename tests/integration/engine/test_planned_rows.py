"""The planner hands each worker the instance row it read, so a scheduled backup costs the
worker two table transactions and no read (the snapshot's reservation on the row before the
PUT, whose new row the poll message carries; then the recovery point with its job); a row
changed in between is caught by its ETag and read again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backup.domain.models import ProtectionState
from backup.services.backup_runner import Outcome
from tests.integration.engine.conftest import DISKS, VAULT, Simulation

pytestmark = pytest.mark.integration


def table_requests(sim: Simulation) -> int:
    endpoint = sim.azurite.table_url.split("://")[1].split("/")[0]
    return sim.table_requests.by_endpoint.get(endpoint, 0)


async def test_a_planned_backup_costs_the_worker_two_table_transactions(sim: Simulation) -> None:
    for disk in DISKS:
        await sim.protect(disk)
    await sim.runtime.planner.tick()
    sim.table_requests.reset()

    assert await sim.drain() == [Outcome.RECORDED] * len(DISKS)

    # Pacing has its own cost, counted apart: one conditional write of the budget's ledger per
    # ARM request (1 PUT, 2 polls) when this process wrote the ledger last, as here, plus the
    # first write of the reads and the writes ledger.
    assert table_requests(sim) - sim.table_requests.budget_ledger == 2 * len(DISKS)
    assert sim.table_requests.budget_ledger == 3 * len(DISKS) + 2
    for disk in DISKS:
        assert len(await sim.runtime.store.list_recovery_points(VAULT, f"{disk}-instance")) == 1


async def test_a_row_changed_after_planning_is_read_again_and_keeps_the_change(sim: Simulation) -> None:
    await sim.protect("disk-a")
    await sim.runtime.planner.tick()
    # Backups are suspended after the slot was planned, before the worker runs.
    current = await sim.runtime.store.get_instance(VAULT, "disk-a-instance")
    assert current is not None
    suspended = replace(current.value, protection_state=ProtectionState.BACKUP_SCHEDULES_SUSPENDED)
    await sim.runtime.store.update_instance(current, suspended)

    assert await sim.drain() == [Outcome.RECORDED]

    instance = await sim.runtime.store.get_instance(VAULT, "disk-a-instance")
    assert instance is not None
    assert instance.value.protection_state is ProtectionState.BACKUP_SCHEDULES_SUSPENDED
    assert instance.value.live_recovery_points == 1
    assert len(await sim.runtime.store.list_recovery_points(VAULT, "disk-a-instance")) == 1
