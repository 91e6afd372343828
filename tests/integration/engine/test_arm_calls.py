"""What a scheduled backup costs ARM, counted by the emulator at realistic timing (the
operation still runs at the first poll): one snapshot PUT, two operation polls paced by
Retry-After as delayed queue messages, and no disk GET once the instance keeps the disk's facts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backup.services.backup_runner import Outcome
from tests.integration.engine.conftest import DISKS, VAULT, Simulation

pytestmark = pytest.mark.integration


async def test_a_scheduled_backup_makes_one_write_and_two_reads(sim: Simulation) -> None:
    for disk in DISKS:
        await sim.protect(disk)  # rows as older versions wrote them: no disk facts yet
    assert await sim.tick() == [Outcome.RECORDED] * len(DISKS)
    by_operation = sim.admin.counters()["byOperation"]
    assert by_operation["Disks_Get"] == len(DISKS)  # read once, then kept on the instance

    # The operation takes 3 s of the emulator's clock, and a poll is asked to wait that long.
    sim.admin.configure({"lroDurationSeconds": 3, "retryAfterAcceptedSeconds": 0, "retryAfterPollSeconds": 3})
    sim.admin.reset_counters()
    sim.advance(timedelta(hours=4))
    assert await sim.tick() == [Outcome.RECORDED] * len(DISKS)

    counters = sim.admin.counters()
    by_operation = counters["byOperation"]
    assert by_operation.get("Snapshots_CreateOrUpdate") == len(DISKS)
    assert by_operation.get("DiskOperations_Get") == 2 * len(DISKS)
    assert by_operation.get("Disks_Get", 0) == 0
    assert by_operation.get("Snapshots_Get", 0) == 0
    for disk in DISKS:
        points = await sim.runtime.store.list_recovery_points(VAULT, f"{disk}-instance")
        assert len(points) == 2
