"""Two retention sweepers at once, on Azurite and the Compute emulator: each expired point is
deleted and recorded once, and the sweeper that loses the race says so at Information level."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from backup.domain.models import JobOperation
from backup.domain.resource_ids import ResourceGroupId
from tests.integration.engine.conftest import SNAP_RG, VAULT, Simulation, policy_document
from tests.sweeper_race import race_two_sweepers

pytestmark = pytest.mark.integration

NAME = "disk-a-instance"


@pytest.mark.parametrize("meet_at", ["expired", "record_deletions"])
async def test_two_sweepers_on_azurite_delete_each_point_once_and_the_loser_stays_quiet(
    sim: Simulation, meet_at: str, caplog: pytest.LogCaptureFixture
) -> None:
    await sim.protect("disk-a", policy_document(default="P1D"))
    for _ in range(8):  # every 4 hours, 1-day retention: 3 points expired at the end
        await sim.runtime.planner.tick()
        await sim.drain()
        sim.advance(timedelta(hours=4))
    # A point expires a retention after its snapshot was created, a moment after its slot.
    sim.advance(timedelta(minutes=1))
    expired = {entry.recovery_point_id for entry in await sim.runtime.store.expired(VAULT, sim.now)}
    assert len(expired) == 3
    caplog.set_level(logging.INFO, logger="backup.services.retention")

    (first, second), views = await race_two_sweepers(
        sim.runtime.store, sim.runtime.compute, sim.clock, sim.runtime.telemetry, meet_at=meet_at
    )

    assert sorted(first.deleted + second.deleted) == sorted(expired)
    assert first.errors == second.errors == []
    assert first.recorded_by_another + second.recorded_by_another == 3
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.INFO] == []
    assert any("another sweeper" in r.getMessage() for r in caplog.records)
    assert sorted(view.calls.get("record_deletions", 0) for view in views) == [1, 1]

    store = sim.runtime.store
    live = await store.list_recovery_points(VAULT, NAME)
    assert len(live) == 5
    instance = await store.get_instance(VAULT, NAME)
    assert instance is not None
    assert instance.value.live_recovery_points == 5
    everything = await store.list_recovery_points(VAULT, NAME, include_deleted=True)
    assert {p.id for p in everything} - {p.id for p in live} == expired
    jobs = [j for j in await store.list_jobs(VAULT) if j.operation is JobOperation.RETENTION_DELETION]
    assert sorted(str(job.recovery_point_id) for job in jobs) == sorted(expired)
    snapshots = await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG))
    assert {s.id.lower() for s in snapshots} == {p.snapshot_id.lower() for p in live}
