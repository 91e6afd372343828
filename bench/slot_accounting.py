"""Slot accounting benchmark: does every planned slot end with a trace after the planner fails?

Disks on PT1H, PT2H and PT4H policies, all starting at START. The first planner tick saves its
plans and then its send fails (once, as a queue outage would do it); a later tick runs in its
own process and is killed with SIGKILL after it saved its plans and before it sent anything.
Then healthy ticks every TICK for HOURS, each followed by the workers draining the queue.
On a manual clock (the emulator's follows it), against Azurite and the Compute emulator.

Figures
    lost_slots          slots with no recovery point and no job at all: gone without a trace
    unaccounted_slots   slots with neither a recovery point, nor a Failed job with a reason, nor a
                        recorded skip (no instance is suspended or stopped here, so no slot may
                        be skipped by design)
    slots_checked       slots since protection began, over every instance
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from backup.cli import drain_backup_queue
from backup.domain.instance import BackupInstance, instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobStatus, ProtectionState
from backup.domain.records import PlanState
from backup.ports import SendMessages
from bench.disks import disk_facts, with_facts
from bench.engine import EMULATOR_CONFIG, SNAPS, SRC, START, VAULT, Bench, bench_runtime, policy, seed
from bench.processes import fresh_log, start_child
from localdev.azurite import Azurite
from localdev.compute_emulator import EmulatorServer

INTERVALS = {"PT1H": timedelta(hours=1), "PT2H": timedelta(hours=2), "PT4H": timedelta(hours=4)}
TICK = timedelta(minutes=15)
HOURS = 10
KILLED_TICK_AT = START + timedelta(hours=3)

_log = logging.getLogger(__name__)


class QueueOutage(ConnectionError):
    pass


class SendFailsOnce:
    """The planner's queue sender; the first call fails the way a queue outage does."""

    def __init__(self, send: SendMessages) -> None:
        self._send = send
        self.failed = False

    async def __call__(self, messages: Sequence[str]) -> None:
        if not self.failed:
            self.failed = True
            raise QueueOutage(f"the queue is unreachable ({len(messages)} messages not sent)")
        await self._send(messages)


def instance_name(interval: str, index: int) -> str:
    return f"disk-{interval.lower()}-{index}"


async def protect(bench: Bench, per_interval: int) -> dict[str, timedelta]:
    store = bench.runtime.store
    await store.register_vault(VAULT, {"location": "eastus"})
    protected: dict[str, timedelta] = {}
    disk_index = 0
    facts = await disk_facts(bench.runtime, [SRC])
    now = bench.runtime.clock.now()
    for interval, every in INTERVALS.items():
        document = policy(interval)
        for index in range(per_interval):
            name = instance_name(interval, index)
            disk = f"disk-{disk_index:04d}"
            disk_index += 1
            instance = BackupInstance(
                vault=VAULT,
                name=name,
                disk_id=f"{SRC}/providers/Microsoft.Compute/disks/{disk}",
                disk_location="eastus",
                policy_name=f"every-{interval.lower()}",
                policy_document=document,
                snapshot_resource_group_id=SNAPS,
                protection_state=ProtectionState.PROTECTION_CONFIGURED,
            )
            instance = with_facts(instance, facts, now)
            await store.create_instance(instance, PlanState(name, document, active=True))
            protected[name] = every
    return protected


async def drain(bench: Bench, workers: int = 4) -> None:
    await asyncio.gather(
        *(
            drain_backup_queue(bench.runtime, batch_size=8, max_idle_polls=1, visibility_timeout=60)
            for _ in range(workers)
        )
    )


def kill_a_tick_after_it_saved(bench: Bench, at: datetime, log_path: Path) -> None:
    settings = bench.runtime.settings
    env = {
        "AzureWebJobsStorage": settings.storage_connection_string or "",
        "ARM_ENDPOINT": settings.arm_endpoint,
        "ARM_CA_BUNDLE": settings.arm_ca_bundle or "",
        "ARM_STATIC_TOKEN": settings.arm_static_token or "",
    }
    child = start_child(
        "planner tick", ["-m", "bench.planner_tick", "--at", at.isoformat()], log_path=log_path, env=env
    )
    _log.info("slots: killing the planner tick at %s after it saved %s plans", at, child.ready.get("saved"))
    child.kill()


async def count(bench: Bench, protected: dict[str, timedelta], until: datetime) -> dict[str, float]:
    store = bench.runtime.store
    jobs = {job.id: job for job in await store.list_jobs(VAULT)}
    lost = unaccounted = checked = 0
    for name, every in protected.items():
        points = {point.slot for point in await store.list_recovery_points(VAULT, name, include_deleted=True)}
        slot = START
        while slot <= until:
            checked += 1
            job = jobs.get(scheduled_backup_job_id(instance_key(VAULT.id, name), slot))
            failed = job is not None and job.status is JobStatus.FAILED and bool(job.error_code)
            if slot not in points and not failed:
                unaccounted += 1
                _log.warning("slots: %s slot %s has no outcome (job: %s)", name, slot, job and job.status)
                if job is None:
                    lost += 1
            slot += every
    return {"lost_slots": lost, "unaccounted_slots": unaccounted, "slots_checked": checked}


async def measure(per_interval: int = 2, log_dir: Path = Path("build")) -> dict[str, float]:
    log_path = log_dir / "bench-slots-planner.log"
    fresh_log(log_path)
    disks = per_interval * len(INTERVALS)
    with Azurite() as endpoints, EmulatorServer(seed(disks), port=0, config=EMULATOR_CONFIG) as emulator:
        async with bench_runtime(endpoints, emulator) as bench:
            protected = await protect(bench, per_interval)
            failing = SendFailsOnce(bench.runtime.send_backup_requests)
            healthy = bench.runtime
            end = START + timedelta(hours=HOURS)
            while bench.clock.now() <= end:
                now = bench.clock.now()
                if now == KILLED_TICK_AT:
                    await asyncio.to_thread(kill_a_tick_after_it_saved, bench, now, log_path)
                else:
                    bench.runtime = (
                        healthy if failing.failed else healthy.replacing(send_backup_requests=failing)
                    )
                    with contextlib.suppress(QueueOutage):
                        await bench.runtime.planner.tick()
                    await drain(bench)
                bench.advance(TICK)
            bench.runtime = healthy
            return await count(bench, protected, end)
