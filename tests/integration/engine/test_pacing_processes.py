"""Pacing under many concurrent workers in separate processes: the app stays inside ARM's
budget, so the emulator answers at most 1% of the app's ARM requests with 429, and no backup
message is poisoned by throttling.

The emulator's buckets are scaled down (and the app told so with ``ARM_BUDGET_LIMITS``) so that
120 backups need many times what a full bucket holds, at realistic LRO timing (202 with
Retry-After, one InProgress poll, then Succeeded). Three worker processes with eight concurrent
executions each could fire every request within a second; only the shared ledger in the app's
table keeps them apart. Real time throughout: the buckets, Retry-After and the queue's delays
all need it. Only counts and ratios are asserted, never durations.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from backup import names
from backup.bootstrap import Runtime
from backup.config import ARM_BUDGET_LIMITS, Settings
from backup.domain.clock import SystemClock
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobOperation, JobStatus, ProtectionState
from backup.domain.records import PlanState
from backup.domain.resource_ids import ResourceGroupId
from backup.services.backup_runner import RETRIES_EXHAUSTED
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from tests.integration.engine.conftest import reset_storage
from tests.paths import REPO_ROOT
from tests.policy_documents import disk_policy

pytestmark = pytest.mark.integration

SUB = "33333333-0000-4000-8000-000000000003"
APP = "a3333333-0000-4000-8000-0000000000a1"
TOKEN = "pacing-app-token"
SRC_RG = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAP_RG = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
VAULT = VaultRef(SUB, "rg-backup", "pacing-vault")
DISKS = 120
WORKERS = 3
EXECUTIONS_PER_WORKER = 8
# ARM's buckets scaled down 20 times for capacity and 2.5 times for refill (reads keep ARM's
# 1.25 capacity and 2.5 refill ratio to writes): 120 backups need 120 writes and 240 reads, about
# 22 s of refill for each after the first bucketful. 1% of that is 3 requests: more than the
# 429 a burst from a full bucket may cost (the ledger counts the refill from when it grants
# the burst; ARM's bucket, still full until the burst arrives, loses the refill of that latency).
WRITES = {"capacity": 10, "refillPerSecond": 5.0}
READS = {"capacity": 20, "refillPerSecond": 10.0}
BUDGET_LIMITS = "writes=10+5/s,reads=20+10/s,deletes=10+5/s"
EMULATOR_CONFIG: dict[str, Any] = {
    "retryAfterAcceptedSeconds": 1,
    "retryAfterPollSeconds": 1,
    "lroDurationSeconds": 0,
    "lroMinInProgressPolls": 1,
    "pageSize": 100,
    "throttle": {
        "enabled": True,
        "reads": READS,
        "writes": WRITES,
        "deletes": WRITES,
        "minRetryAfterSeconds": 1,
    },
}
MAX_THROTTLED_FRACTION = 0.01
WORKER_TIMEOUT_SECONDS = 240


def disk_name(index: int) -> str:
    return f"disk-{index:03d}"


def seed() -> dict[str, Any]:
    return {
        "subscriptions": [
            {
                "id": SUB,
                "resourceGroups": [
                    {
                        "name": "rg-src",
                        "location": "eastus",
                        "disks": [
                            {"name": disk_name(index), "sku": "StandardSSD_LRS", "sizeGB": 8}
                            for index in range(DISKS)
                        ],
                    },
                    {"name": "rg-snaps", "location": "eastus"},
                ],
            }
        ],
        "principals": [{"id": APP, "token": TOKEN}],
        "roleAssignments": [
            {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC_RG},
            {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAP_RG},
        ],
        "config": EMULATOR_CONFIG,
    }


@dataclass
class Estate:
    runtime: Runtime
    emulator: EmulatorServer
    environment: dict[str, str]
    """The app's settings, as a worker process gets them."""


@pytest.fixture
async def estate(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Estate]:
    await reset_storage(azurite)
    compute_emulator.admin.reset(seed())  # real time: the emulator's clock has no offset
    environment = {
        "AzureWebJobsStorage": azurite.connection_string,
        "ARM_ENDPOINT": compute_emulator.url,
        "ARM_CA_BUNDLE": compute_emulator.ca_bundle,
        "ARM_STATIC_TOKEN": TOKEN,
        ARM_BUDGET_LIMITS: BUDGET_LIMITS,
    }
    runtime = Runtime.from_settings(Settings.from_env(environment), clock=SystemClock())
    yield Estate(runtime, compute_emulator, environment)
    await runtime.close()


async def protect_every_disk(runtime: Runtime, slot: datetime) -> None:
    """Instance rows as protection leaves them, disk facts included (read with the paged disk
    list, before the measured run), all on one policy whose slot is ``slot``."""
    document = disk_policy(slot, "PT4H", "P7D")
    listed = await runtime.compute.list_disks(ResourceGroupId.parse(SRC_RG))
    disks = {disk.id.lower(): disk for disk in listed}
    assert len(disks) == DISKS
    await runtime.store.register_vault(VAULT, {"location": "eastus"})
    now = runtime.clock.now()
    for index in range(DISKS):
        disk_id = f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk_name(index)}"
        instance = BackupInstance(
            vault=VAULT,
            name=disk_name(index),
            disk_id=disk_id,
            disk_location="eastus",
            policy_name="policy",
            policy_document=document,
            snapshot_resource_group_id=SNAP_RG,
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
        ).with_disk_facts(disks[disk_id.lower()], now)
        await runtime.store.create_instance(instance, PlanState(instance.name, document, active=True))


async def run_worker(environment: dict[str, str]) -> dict[str, int]:
    env = {
        **{name: value for name, value in os.environ.items() if name not in ("CLOCK_SPEED", "CLOCK_ORIGIN")},
        **environment,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.engine.pacing_worker", str(EXECUTIONS_PER_WORKER),
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=WORKER_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()[-3000:]
    result: dict[str, int] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def test_workers_in_separate_processes_stay_inside_the_budget_and_poison_nothing(
    estate: Estate,
) -> None:
    runtime, admin = estate.runtime, estate.emulator.admin
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0)  # schedules have minute resolution: due now
    await protect_every_disk(runtime, slot)
    admin.reset_counters()  # from here on, every ARM request is the measured run's

    planned = await runtime.planner.tick()
    assert len(planned.enqueued) == DISKS

    outcomes = await asyncio.gather(*(run_worker(estate.environment) for _ in range(WORKERS)))

    # Every slot ended as a recovery point: no failed job, nothing poisoned by throttling.
    recorded = sum(result.get("Recorded", 0) for result in outcomes)
    jobs = {job.id: job for job in await runtime.store.list_jobs(VAULT)}
    for index in range(DISKS):
        job = jobs.get(scheduled_backup_job_id(instance_key(VAULT.id, disk_name(index)), slot))
        assert job is not None, disk_name(index)
        assert job.operation is JobOperation.SCHEDULED_BACKUP
        assert job.status is JobStatus.COMPLETED, (disk_name(index), job.status, job.error_code, job.error)
        points = await runtime.store.list_recovery_points(VAULT, disk_name(index))
        assert [point.slot for point in points] == [slot], disk_name(index)
    assert not [job for job in jobs.values() if job.error_code == RETRIES_EXHAUSTED]
    poison = await runtime.storage.queue(names.BACKUP_QUEUE + names.POISON_SUFFIX)
    assert list(await poison.peek_messages(max_messages=32)) == []
    assert recorded >= DISKS

    # The app's ARM requests, as the emulator counted them: 429s at most 1% of them.
    app = admin.counters()["byToken"][TOKEN]
    requests, throttled = int(app["total"]), int(app["byStatus"].get("429", 0))
    writes, reads = int(app["byCategory"].get("writes", 0)), int(app["byCategory"].get("reads", 0))
    print(f"app ARM requests {requests} (writes {writes}, reads {reads}), 429s {throttled}: "
          f"{throttled / requests:.4f} of them; outcomes per worker {outcomes}")  # fmt: skip
    # The run needed several bucketfuls: without pacing, most of these would have been refused.
    assert writes >= DISKS > 4 * WRITES["capacity"]
    assert reads >= 2 * DISKS > 4 * READS["capacity"]
    assert throttled <= MAX_THROTTLED_FRACTION * requests, (throttled, requests, app)
