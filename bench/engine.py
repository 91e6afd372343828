"""Engine benchmark: what a scheduler tick, a backup and a cleanup cost, and whether faults lose
or duplicate anything. Runs against Azurite and the Compute emulator with fixed latency and
throttle settings, and prints one ``name: value`` line per figure.

Figures
    tick_wall_over_bound     wall time of one tick for INSTANCES due instances (planner, then the
                             queue drained by WORKERS concurrent workers until every slot has a
                             recovery point or a failed job) at ARM's default limits, divided by
                             the true throttle bound: the larger over reads and writes of
                             (requests needed - bucket capacity) / refill rate, with 1 write and
                             2 reads needed per backup. Near 1 means the tick is as fast as ARM's
                             budget allows.
    tick_arm_writes_per_backup  ARM PUT/PATCH/DELETE requests per backup in that tick (emulator
                             counters; the estate benchmark has the figures at realistic timing)
    tick_arm_reads_per_backup   ARM GET requests per backup in that tick
    table_tx_per_backup      Table Storage requests per backup in that tick (planner and workers),
                             counted by a per-call hook on the product's own clients
    table_tx_per_expired_rp  Table Storage requests per expired recovery point in one retention sweep
    duplicate_snapshots      snapshots beyond one per (instance, slot) under the fault mix
    fault_lost_slots         slots with neither a recovery point nor a failed job under the fault mix
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backup.adapters.storage import RequestCounter
from backup.bootstrap import Runtime
from backup.cli import drain_backup_queue
from backup.config import Settings
from backup.domain.clock import ManualClock, ShiftedClock
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobStatus, ProtectionState
from backup.domain.records import PlanState
from backup.domain.resource_ids import ResourceGroupId
from backup.domain.snapshots import SnapshotTags
from bench.arm_limits import ARM_READS, ARM_WRITES, throttle_bound_seconds
from bench.disks import disk_facts, with_facts
from localdev.azurite import Azurite
from localdev.compute_emulator import EmulatorServer

SUB = "33333333-0000-4000-8000-000000000003"
APP = "a3333333-0000-4000-8000-0000000000a1"
TOKEN = "bench-app-token"
SRC = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
VAULT = VaultRef(SUB, "rg-backup", "bench-vault")
START = datetime(2026, 11, 2, tzinfo=UTC)

EMULATOR_CONFIG: dict[str, Any] = {
    "retryAfterAcceptedSeconds": 0,
    "retryAfterPollSeconds": 0,
    "pageSize": 100,
    "throttle": {
        "enabled": True,
        "reads": {"capacity": ARM_READS.capacity, "refillPerSecond": ARM_READS.refill_per_second},
        "writes": {"capacity": ARM_WRITES.capacity, "refillPerSecond": ARM_WRITES.refill_per_second},
        "deletes": {"capacity": ARM_WRITES.capacity, "refillPerSecond": ARM_WRITES.refill_per_second},
        "minRetryAfterSeconds": 1,
    },
}
LATENCY_MS = 5
FAULT_MIX = [
    {"operation": "*", "throttle429": 0.3, "error500": 0.1, "retryAfterSeconds": 0},
    {"operation": "Snapshots_CreateOrUpdate", "lroFailed": 0.1},
]


def seed(disks: int) -> dict[str, Any]:
    return {
        "subscriptions": [
            {
                "id": SUB,
                "resourceGroups": [
                    {
                        "name": "rg-src",
                        "location": "eastus",
                        "disks": [
                            {"name": f"disk-{index:04d}", "sku": "StandardSSD_LRS", "sizeGB": 32}
                            for index in range(disks)
                        ],
                    },
                    {"name": "rg-snaps", "location": "eastus"},
                ],
            }
        ],
        "principals": [{"id": APP, "token": TOKEN}],
        "roleAssignments": [
            {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC},
            {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAPS},
        ],
    }


def policy(interval: str = "PT4H", *, start: datetime = START, keep: str = "P1D") -> dict[str, Any]:
    """The benchmarks' policy: one schedule from ``start`` every ``interval``, points kept ``keep``."""
    store = {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"}
    return {
        "objectType": "BackupPolicy",
        "datasourceTypes": ["Microsoft.Compute/disks"],
        "policyRules": [
            {
                "name": "BackupHourly",
                "objectType": "AzureBackupRule",
                "backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
                "dataStore": store,
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {
                        "repeatingTimeIntervals": [f"R/{start.isoformat()}/{interval}"],
                        "timeZone": "UTC",
                    },
                    "taggingCriteria": [
                        {
                            "tagInfo": {"tagName": "Default", "id": "Default_"},
                            "taggingPriority": 99,
                            "isDefault": True,
                        }
                    ],
                },
            },
            {
                "name": "Default",
                "objectType": "AzureRetentionRule",
                "isDefault": True,
                "lifecycles": [
                    {
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": keep},
                        "sourceDataStore": store,
                    }
                ],
            },
        ],
    }


@dataclass
class Bench:
    runtime: Runtime
    clock: ManualClock
    emulator: EmulatorServer
    tables: RequestCounter
    table_endpoint: str
    arm_clock: ShiftedClock

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        offset = self.clock.now() - datetime.now(UTC)
        self.emulator.admin.set_clock_offset(offset.total_seconds())
        self.arm_clock.offset = offset

    def table_requests(self) -> int:
        return self.tables.by_endpoint.get(self.table_endpoint, 0)

    async def protect(self, count: int) -> None:
        store = self.runtime.store
        await store.register_vault(VAULT, {"location": "eastus"})
        document = policy()
        facts = await disk_facts(self.runtime, [SRC])
        now = self.runtime.clock.now()

        async def one(index: int) -> None:
            name = f"disk-{index:04d}"
            instance = BackupInstance(
                vault=VAULT,
                name=name,
                disk_id=f"{SRC}/providers/Microsoft.Compute/disks/{name}",
                disk_location="eastus",
                policy_name="bench",
                policy_document=document,
                snapshot_resource_group_id=SNAPS,
                protection_state=ProtectionState.PROTECTION_CONFIGURED,
            )
            instance = with_facts(instance, facts, now)
            await store.create_instance(instance, PlanState(name, document, active=True))

        for start in range(0, count, 50):
            await asyncio.gather(*(one(index) for index in range(start, min(count, start + 50))))

    async def tick(self, workers: int, deliveries: int = 1) -> None:
        await self.runtime.planner.tick()
        await asyncio.gather(
            *(
                drain_backup_queue(
                    self.runtime,
                    deliveries=deliveries,
                    batch_size=4,
                    max_idle_polls=3,
                    visibility_timeout=120,
                )
                for _ in range(workers)
            )
        )


@contextlib.asynccontextmanager
async def bench_runtime(azurite_endpoints: Any, emulator: EmulatorServer) -> Any:
    counter = RequestCounter()
    clock = ManualClock(START)
    arm_clock = ShiftedClock()  # ARM's buckets (and so the budget) run on the emulator's time
    settings = Settings(
        storage_connection_string=azurite_endpoints.connection_string,
        arm_endpoint=emulator.url,
        arm_ca_bundle=emulator.ca_bundle,
        arm_static_token=TOKEN,
    )
    runtime = Runtime.from_settings(
        settings,
        clock=clock,
        storage_request_hook=counter,
        arm_retry_total=5,
        arm_polling_interval=0,
        arm_clock=arm_clock,
    )
    endpoint = azurite_endpoints.table_url.split("://")[1].split("/")[0]
    bench = Bench(runtime, clock, emulator, counter, endpoint, arm_clock)
    bench.advance(timedelta(0))
    try:
        yield bench
    finally:
        await runtime.close()


async def measure_tick_and_cleanup(instances: int, workers: int) -> dict[str, float]:
    with Azurite() as endpoints, EmulatorServer(seed(instances), port=0, config=EMULATOR_CONFIG) as emulator:
        async with bench_runtime(endpoints, emulator) as bench:
            await bench.protect(instances)
            emulator.admin.set_faults([], seed=1, latency_ms=LATENCY_MS)
            emulator.admin.reset_counters()
            bench.tables.reset()
            started = time.perf_counter()
            await bench.tick(workers)
            wall = time.perf_counter() - started
            counters = emulator.admin.counters()
            table_requests = bench.table_requests()  # before the check below reads the jobs
            jobs = await bench.runtime.store.list_jobs(VAULT)
            backups = sum(1 for job in jobs if job.status is JobStatus.COMPLETED)
            by_method = counters["byMethod"]
            writes = sum(by_method.get(method, 0) for method in ("PUT", "PATCH", "DELETE"))
            figures = {
                "tick_wall_over_bound": wall / max(1e-9, throttle_bound_seconds(instances)),
                "tick_arm_writes_per_backup": writes / backups,
                "tick_arm_reads_per_backup": by_method.get("GET", 0) / backups,
                "table_tx_per_backup": table_requests / backups,
                "backups_in_tick": backups,
                "tick_wall_seconds": wall,
            }
            # Every point expires after a day; a sweep a day later deletes all but the newest
            # point of each instance. Take a second backup first so that there is one to delete.
            bench.advance(timedelta(hours=4))
            await bench.tick(workers)
            bench.advance(timedelta(days=1))
            bench.tables.reset()
            sweep = await bench.runtime.sweeper.sweep()
            figures["table_tx_per_expired_rp"] = bench.table_requests() / max(1, len(sweep.deleted))
            figures["expired_rps_deleted"] = len(sweep.deleted)
            return figures


async def measure_faults(instances: int, slots: int, workers: int) -> dict[str, float]:
    with Azurite() as endpoints, EmulatorServer(seed(instances), port=0, config=EMULATOR_CONFIG) as emulator:
        async with bench_runtime(endpoints, emulator) as bench:
            await bench.protect(instances)
            emulator.admin.set_faults(FAULT_MIX, seed=11, latency_ms=LATENCY_MS)
            planned: list[datetime] = []
            for _ in range(slots):
                planned.append(bench.clock.now())
                await bench.tick(workers, deliveries=2)
                bench.advance(timedelta(hours=4))
            emulator.admin.clear_faults()
            await bench.runtime.reconciler.reconcile()

            snapshots = await bench.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAPS))
            per_slot = Counter(
                (tags.instance, tags.slot)
                for snapshot in snapshots
                if (tags := SnapshotTags.from_tags(snapshot.tags, snapshot.location)) is not None
            )
            duplicates = sum(count - 1 for count in per_slot.values() if count > 1)
            jobs = {job.id: job for job in await bench.runtime.store.list_jobs(VAULT)}
            lost = 0
            for index in range(instances):
                name = f"disk-{index:04d}"
                points = {point.slot for point in await bench.runtime.store.list_recovery_points(VAULT, name)}
                for slot in planned:
                    job = jobs.get(scheduled_backup_job_id(instance_key(VAULT.id, name), slot))
                    failed = job is not None and job.status is JobStatus.FAILED and bool(job.error_code)
                    if slot not in points and not failed:
                        lost += 1
            return {
                "duplicate_snapshots": duplicates,
                "fault_lost_slots": lost,
                "fault_slots_checked": instances * slots,
            }
