"""Two planners and two workers in separate, overlapping processes, every message delivered twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest

from backup import names
from backup.domain.models import JobOperation, JobStatus
from backup.domain.resource_ids import ResourceGroupId
from tests.integration.engine.conftest import DISKS, SNAP_RG, TOKEN, VAULT, Simulation
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration


async def run_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backup.cli", *args,
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def test_overlapping_planners_and_workers_make_one_snapshot_and_one_point_per_slot(
    sim: Simulation,
) -> None:
    for disk in DISKS:
        await sim.protect(disk)
    env = {
        **os.environ,
        "AzureWebJobsStorage": sim.azurite.connection_string,
        "ARM_ENDPOINT": sim.runtime.settings.arm_endpoint,
        "ARM_CA_BUNDLE": sim.runtime.settings.arm_ca_bundle or "",
        "ARM_STATIC_TOKEN": TOKEN,
        # Every process sees the same frozen product time: they plan and run the same slots.
        "CLOCK_ORIGIN": sim.now.isoformat(),
        "CLOCK_SPEED": "0",
    }

    planned = await asyncio.gather(run_cli(env, "plan"), run_cli(env, "plan"))
    assert sum(result["enqueued"] for result in planned) == len(DISKS)

    # Deliver every message twice: each twin lands next to its original in the queue.
    queue = await sim.runtime.storage.queue(names.BACKUP_QUEUE)
    originals = [message async for message in queue.receive_messages(messages_per_page=32, max_messages=32)]
    assert len(originals) == len(DISKS)
    for message in originals:
        for _ in range(2):
            await queue.send_message(message.content.decode())
        await queue.delete_message(message)

    # Snapshot creation takes 3 s (polled every second), so the twins, taken one each by the
    # two workers, overlap even if one process starts a little later than the other.
    sim.admin.configure({"lroDurationSeconds": 3, "retryAfterPollSeconds": 1, "retryAfterAcceptedSeconds": 1})
    sim.admin.reset_counters()
    worked = await asyncio.gather(
        run_cli(env, "work", "--batch", "1", "--deliveries", "2", "--idle-polls", "8"),
        run_cli(env, "work", "--batch", "1", "--deliveries", "2", "--idle-polls", "8"),
    )

    outcomes: dict[str, int] = {}
    for result in worked:
        for outcome, count in result.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    assert outcomes["Recorded"] == len(DISKS)
    # Every copy handed over ends (its polls too, each handed over twice): all but one per slot
    # as a harmless duplicate.
    assert outcomes["Duplicate"] >= 4 * len(DISKS) - len(DISKS)
    assert outcomes["Failed"] == 0
    # The duplicates were not avoided by luck: snapshot PUTs were really sent more than once.
    puts = sim.admin.counters()["byOperation"]["Snapshots_CreateOrUpdate"]
    assert puts > len(DISKS)
    assert all(result["Recorded"] + result["Duplicate"] > 0 for result in worked), "both workers took part"

    snapshots = await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG))
    assert len(snapshots) == len(DISKS)
    for disk in DISKS:
        points = await sim.runtime.store.list_recovery_points(VAULT, f"{disk}-instance")
        assert len(points) == 1
        instance = await sim.runtime.store.get_instance(VAULT, f"{disk}-instance")
        assert instance is not None
        assert instance.value.live_recovery_points == 1
    jobs = await sim.runtime.store.list_jobs(VAULT)
    assert [job.status for job in jobs if job.operation is JobOperation.SCHEDULED_BACKUP] == [
        JobStatus.COMPLETED
    ] * len(DISKS)
