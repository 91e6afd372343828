"""Estate benchmark: thousands of disks due at the same moment, against ARM's real limits.

SUBSCRIPTIONS x DISKS protected disks, all on one policy start time. The Compute emulator runs
in its own process at ARM's default limits (writes 200 + 10/s, reads 250 + 25/s per
subscription) with realistic LRO timing: Retry-After 2 s on the 202 and 10 s on polls, the
operation still InProgress at the first poll. The product runs in WORKERS local Functions hosts
(separate processes; each takes 16 messages a batch and fetches more at 8 in flight, Azure's
defaults, so up to 24 concurrent executions each). A foreign client, in its own process and
with the app's own token, spends 30% of every subscription's read and write refill
throughout. Real time: no scaled clock. Azurite keeps its data on disk: in memory
(``--inMemoryPersistence``) its enqueues are faster (1.3 ms against 60 ms, each of which waits
for an fdatasync on disk), yet at 4,000 disks far fewer backups finished by the deadline (655
against 2,490 on disk, same code, same machine), for a reason not found yet. The benchmark
process runs the planner once, at the slot time, as the timer would.

Figures
    estate_makespan_over_bound      from the slot time to the last slot's outcome (the job's end),
                                    divided by the true bound: the largest over subscriptions and
                                    over reads and writes of (requests needed - bucket capacity)
                                    / (refill x 0.7), 1 write and 2 reads needed per backup. If
                                    some slots have no outcome by the deadline, this is the
                                    deadline over the bound (a lower bound) and
                                    ``estate_slots_without_outcome`` says how many.
    estate_slots_without_outcome    slots with no terminal job by the deadline (goal 0)
    estate_outcomes_not_recovery_points  slots whose outcome is not a recovery point (goal 0:
                                    no faults are injected)
    arm_writes_per_backup           the app's PUT/PATCH/POST requests (429s included) per
                                    completed backup; the app's = the emulator's counters minus
                                    the foreign client's own count
    arm_reads_per_backup            the app's ARM GETs in the subscriptions per completed backup
    arm_429_fraction                the app's 429 answers over the app's ARM requests
    throttled_deliveries_exhausted  messages that died: poison-queue messages, or jobs failed as
                                    BackupRetriesExhausted, whichever is larger
    worker_peak_rss_mb              the peak RSS of any one worker process
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backup import names
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import SystemClock
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.models import JobStatus, ProtectionState
from backup.domain.records import PlanState
from backup.services.backup_runner import RETRIES_EXHAUSTED
from bench import engine
from bench.arm_limits import ARM_READS, ARM_WRITES, throttle_bound_seconds
from bench.disks import disk_facts, with_facts
from bench.processes import (
    Child,
    fresh_log,
    host_project,
    start_child,
    start_emulator,
    start_functions_host,
    stop_all,
)
from localdev.azurite import Azurite
from localdev.compute_emulator.client import AdminClient

APP = "a4444444-0000-4000-8000-0000000000a1"
TOKEN = "estate-app-token"
LOCATION = "eastus"
FOREIGN_SHARE = 0.3
FOREIGN_GROUP = "rg-pipeline"
FOREIGN_DISKS = 16
# Azure's queue defaults on Flex Consumption: 16 a batch, the next batch at 8 in flight.
HOST_QUEUES = {"batchSize": 16, "newBatchThreshold": 8}
EXECUTIONS_PER_WORKER = HOST_QUEUES["batchSize"] + HOST_QUEUES["newBatchThreshold"]
# ARM's limits and DiskRP's Retry-After (2 s on the 202, 10 s on polls) are the emulator's
# defaults; the operation runs a little longer than the first Retry-After, so the first poll
# answers InProgress and the second Succeeded.
EMULATOR_CONFIG: dict[str, Any] = {
    "retryAfterAcceptedSeconds": 2,
    "retryAfterPollSeconds": 10,
    "lroDurationSeconds": 2.5,
    "lroMinInProgressPolls": 1,
    "pageSize": 100,
    "throttle": {
        "enabled": True,
        "reads": {"capacity": ARM_READS.capacity, "refillPerSecond": ARM_READS.refill_per_second},
        "writes": {"capacity": ARM_WRITES.capacity, "refillPerSecond": ARM_WRITES.refill_per_second},
        "deletes": {"capacity": ARM_WRITES.capacity, "refillPerSecond": ARM_WRITES.refill_per_second},
    },
}
POLL_SECONDS = 5.0
"""How often the outcomes are read; the makespan comes from the jobs' end times, not from this."""
WRITE_METHODS = ("PUT", "PATCH", "POST")

_log = logging.getLogger(__name__)


def subscription_id(index: int) -> str:
    return f"4444444{index}-0000-4000-8000-00000000000{index}"


def disk_name(index: int) -> str:
    return f"disk-{index:04d}"


def seed(subscriptions: int, disks: int) -> dict[str, Any]:
    subs = []
    assignments = []
    for index in range(subscriptions):
        sub = subscription_id(index)
        subs.append(
            {
                "id": sub,
                "resourceGroups": [
                    {
                        "name": "rg-src",
                        "location": LOCATION,
                        "disks": [
                            {"name": disk_name(disk), "sku": "StandardSSD_LRS", "sizeGB": 32}
                            for disk in range(disks)
                        ],
                    },
                    {"name": "rg-snaps", "location": LOCATION},
                    {
                        "name": FOREIGN_GROUP,
                        "location": LOCATION,
                        "disks": [
                            {"name": f"pipeline-{disk:02d}", "sku": "StandardSSD_LRS", "sizeGB": 4}
                            for disk in range(FOREIGN_DISKS)
                        ],
                    },
                ],
            }
        )
        assignments += [
            {
                "principalId": APP,
                "role": "Disk Backup Reader",
                "scope": f"/subscriptions/{sub}/resourceGroups/rg-src",
            },
            {
                "principalId": APP,
                "role": "Disk Snapshot Contributor",
                "scope": f"/subscriptions/{sub}/resourceGroups/rg-snaps",
            },
            # The foreign pipeline uses the same identity (same principal, same buckets).
            {
                "principalId": APP,
                "role": "Contributor",
                "scope": f"/subscriptions/{sub}/resourceGroups/{FOREIGN_GROUP}",
            },
        ]
    return {
        "subscriptions": subs,
        "principals": [{"id": APP, "token": TOKEN}],
        "roleAssignments": assignments,
    }


def policy(start: datetime) -> dict[str, Any]:
    return engine.policy("PT4H", start=start, keep="P7D")


def vault_of(index: int) -> VaultRef:
    return VaultRef(subscription_id(index), "rg-backup", f"estate-vault-{index}")


async def protect(runtime: Runtime, subscriptions: int, disks: int, start: datetime) -> None:
    """Protected instances written straight through the store (as the API's create would leave
    them), so that 4,000 take seconds rather than thousands of ARM checks."""
    store = runtime.store
    document = policy(start)
    semaphore = asyncio.Semaphore(64)
    facts = await disk_facts(
        runtime,
        [
            f"/subscriptions/{vault_of(sub).subscription_id}/resourceGroups/rg-src"
            for sub in range(subscriptions)
        ],
    )
    now = runtime.clock.now()

    async def one(vault: VaultRef, index: int) -> None:
        name = disk_name(index)
        instance = BackupInstance(
            vault=vault,
            name=name,
            disk_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/{name}",
            disk_location=LOCATION,
            policy_name="estate",
            policy_document=document,
            snapshot_resource_group_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-snaps",
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
        )
        instance = with_facts(instance, facts, now)
        async with semaphore:
            await store.create_instance(instance, PlanState(name, document, active=True))

    for sub in range(subscriptions):
        await store.register_vault(vault_of(sub), {"location": LOCATION})
    await asyncio.gather(*(one(vault_of(sub), disk) for sub in range(subscriptions) for disk in range(disks)))


@dataclass
class Outcomes:
    terminal: int = 0
    retries_exhausted: int = 0
    last_end: datetime | None = None
    completed: list[Job] = field(default_factory=list)


async def outcomes(runtime: Runtime, subscriptions: int, disks: int, slot: datetime) -> Outcomes:
    wanted = {
        scheduled_backup_job_id(instance_key(vault_of(sub).id, disk_name(disk)), slot)
        for sub in range(subscriptions)
        for disk in range(disks)
    }
    found = Outcomes()
    for sub in range(subscriptions):
        for job in await runtime.store.list_jobs(vault_of(sub)):
            if job.id not in wanted or not job.status.is_terminal:
                continue
            found.terminal += 1
            if job.status is JobStatus.COMPLETED:
                found.completed.append(job)
            found.retries_exhausted += job.error_code == RETRIES_EXHAUSTED
            if job.end_time is not None and (found.last_end is None or job.end_time > found.last_end):
                found.last_end = job.end_time
    return found


async def completed_without_recovery_point(
    runtime: Runtime, subscriptions: int, completed: list[Job], slot: datetime
) -> int:
    """Completed jobs whose recovery point is not there (or is not this slot's): one point read each."""
    semaphore = asyncio.Semaphore(32)
    vaults = {vault_of(sub).id.lower(): vault_of(sub) for sub in range(subscriptions)}

    async def missing(job: Job) -> bool:
        if job.recovery_point_id is None:
            return True
        vault = vaults[job.vault_id.lower()]
        async with semaphore:
            point = await runtime.store.get_recovery_point(vault, job.instance, job.recovery_point_id)
        return point is None or point.value.slot != slot

    return sum(await asyncio.gather(*(missing(job) for job in completed)))


async def poison_messages(runtime: Runtime) -> int:
    queue = await runtime.storage.queue(names.BACKUP_QUEUE + names.POISON_SUFFIX)
    with contextlib.suppress(Exception):
        properties = await queue.get_queue_properties()
        return int(properties.approximate_message_count or 0)
    return 0


@contextlib.contextmanager
def work_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="estate-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def app_requests(counters: dict[str, Any], foreign: dict[str, Any]) -> dict[str, int]:
    """The app's share of the emulator's counters: everything minus what the foreign client sent."""
    by_method = counters["byMethod"]
    foreign_methods = foreign.get("byMethod", {})
    foreign_statuses = foreign.get("byStatus", {})

    def app(method: str) -> int:
        return int(by_method.get(method, 0)) - int(foreign_methods.get(method, 0))

    return {
        "writes": sum(app(method) for method in WRITE_METHODS),
        "reads": app("GET"),
        "total": int(counters["total"]) - sum(int(count) for count in foreign_methods.values()),
        "throttled": int(counters["byStatus"].get("429", 0)) - int(foreign_statuses.get("429", 0)),
    }


async def measure(
    subscriptions: int = 4,
    disks: int = 1000,
    workers: int = 4,
    deadline_over_bound: float = 3.0,
    log_dir: Path = Path("build"),
) -> dict[str, float]:
    bound = throttle_bound_seconds(disks, share=1 - FOREIGN_SHARE)
    if bound <= 0:
        raise ValueError(f"{disks} disks fit in ARM's initial buckets: the bound is 0, use more disks")
    deadline = max(60.0, bound * deadline_over_bound)
    children: list[Child] = []
    for name in ("emulator", "foreign", *(f"worker-{index}" for index in range(workers))):
        fresh_log(log_dir / f"bench-estate-{name}.log")
    with work_directory() as work, Azurite() as storage:
        seed_path, config_path = work / "seed.json", work / "config.json"
        seed_path.write_text(json.dumps(seed(subscriptions, disks)))
        config_path.write_text(json.dumps(EMULATOR_CONFIG))
        emulator = start_emulator(seed_path, config_path, work, log_dir / "bench-estate-emulator.log")
        children.append(emulator)
        try:
            arm = emulator.ready
            admin = AdminClient(arm["admin_url"], arm["ca_bundle"])
            settings = Settings(
                storage_connection_string=storage.connection_string,
                arm_endpoint=arm["url"],
                arm_ca_bundle=arm["ca_bundle"],
                arm_static_token=TOKEN,
            )
            host_settings = {
                "AzureWebJobsStorage": storage.connection_string,
                "ARM_ENDPOINT": arm["url"],
                "ARM_CA_BUNDLE": arm["ca_bundle"],
                "ARM_STATIC_TOKEN": TOKEN,
            }
            project = host_project(work, HOST_QUEUES)
            runtime = Runtime.from_settings(settings, clock=SystemClock())
            try:
                # The slot: far enough ahead for the rows and the workers to be ready, on a
                # whole minute (schedules have minute resolution).
                ready_by = time.time() + 30 + disks * subscriptions * 0.02
                slot = datetime.fromtimestamp(math.ceil(ready_by / 60) * 60, UTC)
                start_hosts = asyncio.gather(
                    *(
                        asyncio.to_thread(
                            start_functions_host,
                            f"worker {index}",
                            project,
                            host_settings,
                            log_path=log_dir / f"bench-estate-worker-{index}.log",
                            disabled=("plan_backups", "apply_retention"),
                        )
                        for index in range(workers)
                    )
                )
                await protect(runtime, subscriptions, disks, slot)
                children += await start_hosts
                admin.reset_counters()
                foreign = start_child(
                    "foreign client",
                    [
                        "-m",
                        "bench.foreign_client",
                        "--endpoint",
                        arm["url"],
                        "--ca-bundle",
                        arm["ca_bundle"],
                        "--token",
                        TOKEN,
                        "--resource-group",
                        FOREIGN_GROUP,
                        "--disks",
                        str(FOREIGN_DISKS),
                        "--reads-per-second",
                        str(ARM_READS.refill_per_second * FOREIGN_SHARE),
                        "--writes-per-second",
                        str(ARM_WRITES.refill_per_second * FOREIGN_SHARE),
                        *(
                            arg
                            for sub in range(subscriptions)
                            for arg in ("--subscription", subscription_id(sub))
                        ),
                    ],
                    log_path=log_dir / "bench-estate-foreign.log",
                )
                children.append(foreign)
                late = time.time() - slot.timestamp()
                if late > 0:
                    _log.warning(
                        "estate: setup ran %.1f s past the slot; the makespan counts from the slot", late
                    )
                else:
                    await asyncio.sleep(-late)
                await runtime.planner.tick()
                done = Outcomes()
                expected = subscriptions * disks
                while time.time() - slot.timestamp() < deadline:
                    await asyncio.sleep(POLL_SECONDS)
                    done = await outcomes(runtime, subscriptions, disks, slot)
                    _log.info("estate: %d of %d slots have an outcome", done.terminal, expected)
                    if done.terminal >= expected:
                        break
                foreign_counts = json.loads(foreign.stop().strip().splitlines()[-1])
                counters = admin.counters()
                peak_rss = max(child.peak_rss_mb() for child in children if child.name.startswith("worker"))
                not_points = done.terminal - len(done.completed)
                not_points += await completed_without_recovery_point(
                    runtime, subscriptions, done.completed, slot
                )
                poisoned = await poison_messages(runtime)
            finally:
                await runtime.close()
        finally:
            stop_all(children)
    app = app_requests(counters, foreign_counts)
    complete = done.terminal >= expected and done.last_end is not None
    makespan = (done.last_end - slot).total_seconds() if complete and done.last_end else deadline
    backups = max(1, len(done.completed))
    foreign_total = sum(int(count) for count in foreign_counts.get("byMethod", {}).values())
    return {
        "estate_makespan_over_bound": makespan / bound,
        "estate_makespan_seconds": makespan,
        "estate_bound_seconds": bound,
        "estate_slots_without_outcome": expected - done.terminal,
        "estate_outcomes_not_recovery_points": not_points,
        "arm_writes_per_backup": app["writes"] / backups,
        "arm_reads_per_backup": app["reads"] / backups,
        "arm_429_fraction": app["throttled"] / max(1, app["total"]),
        "throttled_deliveries_exhausted": max(poisoned, done.retries_exhausted),
        "worker_peak_rss_mb": peak_rss,
        "foreign_429_fraction": int(foreign_counts.get("byStatus", {}).get("429", 0)) / max(1, foreign_total),
    }
