"""``make soak`` (``python -m bench.soak``): the real pieces under faults for a few minutes, then
the invariants as ``name: value`` figures. Not part of ``make test``: it runs for minutes.

What runs: Azurite, the Compute emulator (its own process) with the fault mix (20% 429s, 5%
500s on every operation, 10% of snapshot creations ending Failed), and two local Functions
hosts serving the product at once (timers, queues and all), on one scaled clock shared by
every process (``localdev/soak_host.py``): SPEED product seconds per real second. DISKS disks
on an hourly policy kept a day. During the run, on a fixed timetable:

* look-alike snapshots appear: a foreign snapshot of another disk carrying a copy of a real
  recovery point's tags, and one with the same tags but a forged recovery point id;
* one host is killed with SIGKILL (three times, both hosts) and restarted;
* Azurite is stopped and started again after an outage;
* a protected disk is deleted;
* the faults stop near the end, so that the last slots can settle.

A watcher reads the emulator's state (through its admin API: no faults, no throttling) every
second, so a snapshot deleted before its expiry is seen even if nothing records it.

Figures
    soak_slots_checked     slots since protection began, up to the end minus a settling margin
    lost_slots             slots with no recovery point and no job at all
    unaccounted_slots      slots with neither a recovery point, nor a Failed job with a reason
                           (the deleted disk's slots after its deletion are left out: they are
                           skipped by design)
    duplicate_snapshots    snapshots of ours beyond one per (instance, slot), over the whole run
    orphan_snapshots       snapshots of ours at the end that back no live recovery point
    dangling_points        live recovery points whose snapshot is gone
    early_deletions        snapshots of ours that disappeared before their expiry (a snapshot whose
                           creation ended Failed is no recovery point: its removal is counted
                           as failed_snapshots_removed instead)
    lookalikes_adopted     recovery points that name a look-alike snapshot
    lookalikes_deleted     look-alike snapshots the app deleted
    deleted_disk_failed_jobs  the deleted disk's slots after deletion that ended as a Failed job
    host_kills, azurite_restarts  what was done (so a short run says so)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backup.bootstrap import Runtime
from backup.config import Settings
from backup.credentials import StaticTokenCredential
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobStatus, ProtectionState, RecoveryPointState
from backup.domain.records import PlanState
from backup.domain.snapshots import TAG_EXPIRES, TAG_RECOVERY_POINT, SnapshotTags
from bench import engine
from bench.disks import disk_facts, with_facts
from bench.output import figures_on_stdout
from bench.processes import Child, fresh_log, start_child, start_emulator, stop_all
from localdev.azurite import Azurite
from localdev.compute_emulator.client import AdminClient
from localdev.soak_host import SharedScaledClock

SUB = "55555555-0000-4000-8000-000000000005"
APP = "a5555555-0000-4000-8000-0000000000a1"
APP_TOKEN = "soak-app-token"
OWNER = "a5555555-0000-4000-8000-0000000000ff"
OWNER_TOKEN = "soak-owner-token"
SRC = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
VAULT = VaultRef(SUB, "rg-backup", "soak-vault")
PRODUCT_EPOCH = datetime(2026, 11, 2, tzinfo=UTC)
"""Product time when the soak's clock starts: the policy's start and its first slot."""
INTERVAL = timedelta(hours=1)
SETTLING = timedelta(hours=3)
"""Slots this close to the end are not counted: their backups may still be under way."""
FAULTS = [
    {"operation": "*", "throttle429": 0.2, "error500": 0.05, "retryAfterSeconds": 1},
    {"operation": "Snapshots_CreateOrUpdate", "lroFailed": 0.1},
]
DELETED_DISK = "disk-0005"
LOOKALIKE_SOURCE = "disk-other"

_log = logging.getLogger("bench.soak")


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
                            *(
                                {"name": f"disk-{index:04d}", "sku": "StandardSSD_LRS", "sizeGB": 8}
                                for index in range(disks)
                            ),
                            {"name": LOOKALIKE_SOURCE, "sku": "StandardSSD_LRS", "sizeGB": 8},
                        ],
                    },
                    {"name": "rg-snaps", "location": "eastus"},
                ],
            }
        ],
        "principals": [{"id": APP, "token": APP_TOKEN}, {"id": OWNER, "token": OWNER_TOKEN}],
        "roleAssignments": [
            {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC},
            {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAPS},
            {"principalId": OWNER, "role": "Owner", "scope": f"/subscriptions/{SUB}"},
        ],
    }


EMULATOR_CONFIG: dict[str, Any] = {
    "retryAfterAcceptedSeconds": 1,
    "retryAfterPollSeconds": 1,
    "pageSize": 100,
}


async def follow_clock(admin: AdminClient, clock: SharedScaledClock, stop: asyncio.Event) -> None:
    """Keep the emulator's clock on product time: the product takes a snapshot's time from
    ARM's ``timeCreated`` (its per-disk burst rule and retention count from it), so ARM must
    live in the same time. The emulator only shifts its clock, so it is moved forward in
    small steps (0.25 s of real time each); its buckets refill at each step, which leaves
    the fault mix's injected 429s as the throttling of this run."""
    while not stop.is_set():
        offset = (clock.now() - datetime.now(UTC)).total_seconds()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(admin.set_clock_offset, offset)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


def policy() -> dict[str, Any]:
    return engine.policy("PT1H", start=PRODUCT_EPOCH)


class RestartableAzurite(Azurite):
    """Azurite on fixed ports and a kept data folder, so it can be stopped and started again."""

    def restart(self, outage_seconds: float) -> float:
        """Stop (SIGTERM, so it writes its data out), stay down, start; returns the seconds down."""
        down = time.monotonic()
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except Exception:  # it would not stop: kill it, as a crash would
                _log.warning("soak: Azurite did not stop within 20 s; killed")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._process = None
        time.sleep(outage_seconds)
        self.start()
        return time.monotonic() - down


@dataclass
class Observed:
    """What the watcher saw of our snapshots over the run."""

    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every snapshot of ours ever seen, by lower-case id: its tags and source."""
    present: set[str] = field(default_factory=set)
    early_deletions: list[str] = field(default_factory=list)
    failed_removed: int = 0
    """Snapshots whose creation ended Failed, removed (by the app's cleanup)."""


def snapshot_docs(admin: AdminClient) -> dict[str, dict[str, Any]]:
    state = admin.state()
    return {
        str(resource["doc"]["id"]).lower(): resource["doc"]
        for resource in state.get("resources", [])
        if resource.get("kind") == "snapshots"
    }


async def watch(
    admin: AdminClient, clock: SharedScaledClock, observed: Observed, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            docs = await asyncio.to_thread(snapshot_docs, admin)
        except Exception:  # the watcher must outlive a slow answer
            _log.exception("soak: the watcher could not read the emulator's state")
            docs = None
        if docs is not None:
            now = clock.now()
            for snapshot_id in observed.present - docs.keys():
                last_seen = observed.snapshots[snapshot_id]
                expires = last_seen.get("tags", {}).get(TAG_EXPIRES)
                state = last_seen.get("properties", {}).get("provisioningState")
                if state != "Succeeded":
                    # A creation that ended Failed is no recovery point: removing it is cleanup.
                    observed.failed_removed += 1
                elif expires and datetime.fromisoformat(expires) > now:
                    _log.warning("soak: %s disappeared at %s before its expiry %s", snapshot_id, now, expires)
                    observed.early_deletions.append(snapshot_id)
            observed.present = set()
            for snapshot_id, doc in docs.items():
                if SnapshotTags.from_tags(doc.get("tags"), doc.get("location", "eastus")) is None:
                    continue
                observed.snapshots[snapshot_id] = doc
                observed.present.add(snapshot_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def owner_compute(endpoint: str, ca_bundle: str) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(
        StaticTokenCredential(OWNER_TOKEN),
        SUB,
        base_url=endpoint,
        connection_verify=ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=1,
        retry_total=20,
    )


def create_lookalikes(endpoint: str, ca_bundle: str, observed: Observed) -> list[str]:
    """Two foreign snapshots of another disk: one with a real point's tags copied, one with the
    same tags and a forged recovery point id (and an expiry already past, as bait)."""
    genuine = [doc for doc in observed.snapshots.values() if doc["id"].lower() in observed.present]
    if not genuine:
        _log.warning("soak: no snapshot of ours yet to copy tags from; no look-alikes")
        return []
    model = genuine[0]
    copied = dict(model.get("tags") or {})
    forged = {
        **copied,
        TAG_RECOVERY_POINT: "0" * 12 + "f" * 20,
        TAG_EXPIRES: PRODUCT_EPOCH.isoformat(),
    }
    created = []
    with owner_compute(endpoint, ca_bundle) as owner:
        for name, tags in (("lookalike-copied-tags", copied), ("lookalike-forged-point", forged)):
            body = {
                "location": "eastus",
                "tags": tags,
                "properties": {
                    "creationData": {
                        "createOption": "Copy",
                        "sourceResourceId": f"{SRC}/providers/Microsoft.Compute/disks/{LOOKALIKE_SOURCE}",
                    },
                    "incremental": True,
                },
            }
            for attempt in range(10):  # the fault mix fails some creations: the foreigner retries
                try:
                    snapshot = owner.snapshots.begin_create_or_update("rg-snaps", name, body).result()
                except Exception:
                    _log.warning("soak: creating %s failed (attempt %d); retrying", name, attempt + 1)
                    continue
                created.append(str(snapshot.id).lower())
                break
    return created


def delete_disk(endpoint: str, ca_bundle: str, name: str) -> bool:
    try:
        with owner_compute(endpoint, ca_bundle) as owner:
            owner.disks.begin_delete("rg-src", name).result()
        return True
    except Exception:  # reported as a figure, the soak goes on
        _log.exception("soak: could not delete %s", name)
        return False


async def protect(runtime: Runtime, disks: int) -> None:
    document = policy()
    await runtime.store.register_vault(VAULT, {"location": "eastus"})
    facts = await disk_facts(runtime, [SRC])
    now = runtime.clock.now()
    for index in range(disks):
        name = f"disk-{index:04d}"
        instance = BackupInstance(
            vault=VAULT,
            name=name,
            disk_id=f"{SRC}/providers/Microsoft.Compute/disks/{name}",
            disk_location="eastus",
            policy_name="soak-hourly",
            policy_document=document,
            snapshot_resource_group_id=SNAPS,
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
        )
        instance = with_facts(instance, facts, now)
        await runtime.store.create_instance(instance, PlanState(name, document, active=True))


@contextlib.contextmanager
def work_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Hosts:
    """The two Functions hosts, started and killed by name."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env = env
        self._log_dir = log_dir
        self.running: dict[str, Child] = {}
        self.kills = 0

    def start(self, name: str) -> None:
        self.running[name] = start_child(
            f"host {name}",
            ["-m", "localdev.soak_host"],
            log_path=self._log_dir / f"soak-host-{name}.log",
            env=self._env,
        )

    def kill(self, name: str) -> None:
        _log.warning("soak: kill -9 host %s", name)
        self.running.pop(name).kill()
        self.kills += 1

    def stop(self) -> None:
        stop_all(list(self.running.values()))
        self.running.clear()


async def invariants(
    runtime: Runtime,
    observed: Observed,
    lookalikes: list[str],
    disks: int,
    end: datetime,
    deleted_at: datetime | None,
) -> dict[str, float]:
    store = runtime.store
    final = {snapshot_id for snapshot_id in observed.present}
    per_slot: Counter[tuple[str, str]] = Counter()
    genuine: dict[str, SnapshotTags] = {}
    for snapshot_id, doc in observed.snapshots.items():
        if snapshot_id in lookalikes:
            continue
        tags = SnapshotTags.from_tags(doc.get("tags"), doc.get("location", "eastus"))
        assert tags is not None
        genuine[snapshot_id] = tags
        if tags.slot is not None:
            per_slot[(tags.instance.lower(), tags.slot.isoformat())] += 1
    jobs = {job.id: job for job in await store.list_jobs(VAULT)}
    lost = unaccounted = checked = deleted_disk_failed = with_point = 0
    failures: Counter[str] = Counter()
    live_points = 0
    dangling = 0
    adopted = 0
    live_snapshots: set[str] = set()
    for index in range(disks):
        name = f"disk-{index:04d}"
        points = await store.list_recovery_points(VAULT, name, include_deleted=True)
        for point in points:
            if point.snapshot_id.lower() in lookalikes:
                adopted += 1
            if point.state is not RecoveryPointState.DELETING:
                live_points += 1
                live_snapshots.add(point.snapshot_id.lower())
                if point.snapshot_id.lower() not in final:
                    dangling += 1
        slots_with_points = {point.slot for point in points}
        slot = PRODUCT_EPOCH
        while slot <= end - SETTLING:
            job = jobs.get(scheduled_backup_job_id(instance_key(VAULT.id, name), slot))
            failed = job is not None and job.status is JobStatus.FAILED and bool(job.error_code)
            if name == DELETED_DISK and deleted_at is not None and slot >= deleted_at:
                deleted_disk_failed += failed
            else:
                checked += 1
                with_point += slot in slots_with_points
                if slot not in slots_with_points and failed:
                    assert job is not None
                    failures[job.error_code or ""] += 1
                if slot not in slots_with_points and not failed:
                    unaccounted += 1
                    lost += job is None
                    _log.warning("soak: %s slot %s has no outcome (job %s)", name, slot, job and job.status)
            slot += INTERVAL
    orphan_ids = [
        snapshot_id for snapshot_id in final if snapshot_id in genuine and snapshot_id not in live_snapshots
    ]
    for snapshot_id in orphan_ids:
        tags = genuine[snapshot_id]
        row = await store.get_recovery_point(VAULT, tags.instance, tags.recovery_point_id)
        _log.warning(
            "soak: orphan %s (slot %s, expires %s): its point is %s",
            snapshot_id,
            tags.slot,
            tags.expires_at,
            "missing" if row is None else row.value.state,
        )
    _log.warning("soak: slots that ended as a Failed job, by error code: %s", dict(failures))
    return {
        "soak_slots_checked": checked,
        "slots_with_recovery_point": with_point,
        "slots_failed": sum(failures.values()),
        "lost_slots": lost,
        "unaccounted_slots": unaccounted,
        "duplicate_snapshots": sum(count - 1 for count in per_slot.values() if count > 1),
        "orphan_snapshots": len(orphan_ids),
        "dangling_points": dangling,
        "early_deletions": len(observed.early_deletions),
        "failed_snapshots_removed": observed.failed_removed,
        "lookalikes_created": len(lookalikes),
        "lookalikes_adopted": adopted,
        "lookalikes_deleted": sum(1 for snapshot_id in lookalikes if snapshot_id not in final),
        "deleted_disk_failed_jobs": deleted_disk_failed,
        "live_recovery_points": live_points,
    }


async def soak(minutes: float, speed: float, disks: int, log_dir: Path) -> dict[str, float]:
    for name in ("emulator", "host-a", "host-b"):
        fresh_log(log_dir / f"soak-{name}.log")
    duration = minutes * 60.0
    children: list[Child] = []
    with work_directory() as work:
        (work / "azurite").mkdir()
        storage = RestartableAzurite(location=work / "azurite")
        endpoints = storage.start()
        hosts: Hosts | None = None
        try:
            (work / "seed.json").write_text(json.dumps(seed(disks)))
            (work / "config.json").write_text(json.dumps(EMULATOR_CONFIG))
            emulator = start_emulator(
                work / "seed.json", work / "config.json", work, log_dir / "soak-emulator.log"
            )
            children.append(emulator)
            arm = emulator.ready
            admin = AdminClient(arm["admin_url"], arm["ca_bundle"])
            settings = Settings(
                storage_connection_string=endpoints.connection_string,
                arm_endpoint=arm["url"],
                arm_ca_bundle=arm["ca_bundle"],
                arm_static_token=APP_TOKEN,
            )
            # The first slot comes once the hosts have had time to start.
            clock = SharedScaledClock(time.time() + 15.0, PRODUCT_EPOCH, speed)
            runtime = Runtime.from_settings(settings, clock=clock)
            stop_watching = asyncio.Event()
            follower = asyncio.create_task(follow_clock(admin, clock, stop_watching))
            await protect(runtime, disks)
            env = {
                "AzureWebJobsStorage": endpoints.connection_string,
                "ARM_ENDPOINT": arm["url"],
                "ARM_CA_BUNDLE": arm["ca_bundle"],
                "ARM_STATIC_TOKEN": APP_TOKEN,
                "PLAN_BACKUPS_SCHEDULE": "0 */5 * * * *",
                "APPLY_RETENTION_SCHEDULE": "0 */15 * * * *",
                "COUNT_OVERVIEW_SCHEDULE": "0 */5 * * * *",
                **clock.environment(),
            }
            hosts = Hosts(env, log_dir)
            await asyncio.gather(asyncio.to_thread(hosts.start, "a"), asyncio.to_thread(hosts.start, "b"))
            admin.set_faults(FAULTS, seed=5)
            observed = Observed()
            watcher = asyncio.create_task(watch(admin, clock, observed, stop_watching))
            started = clock.real_epoch
            lookalikes: list[str] = []
            deleted_at: datetime | None = None
            azurite_restarts = 0

            async def at(fraction: float) -> None:
                await asyncio.sleep(max(0.0, started + duration * fraction - time.time()))

            await at(0.2)
            lookalikes = await asyncio.to_thread(create_lookalikes, arm["url"], arm["ca_bundle"], observed)
            await at(0.25)
            hosts.kill("a")
            await asyncio.sleep(2)
            await asyncio.to_thread(hosts.start, "a")
            await at(0.4)
            down = await asyncio.to_thread(storage.restart, 3.0)
            azurite_restarts += 1
            _log.warning("soak: Azurite was down %.1f s", down)
            await at(0.5)
            if await asyncio.to_thread(delete_disk, arm["url"], arm["ca_bundle"], DELETED_DISK):
                deleted_at = clock.now()
            await at(0.6)
            hosts.kill("b")
            await asyncio.sleep(2)
            await asyncio.to_thread(hosts.start, "b")
            await at(0.75)
            hosts.kill("a")
            await asyncio.sleep(2)
            await asyncio.to_thread(hosts.start, "a")
            await at(0.85)
            admin.clear_faults()
            await at(1.0)
            hosts.stop()
            end = clock.now()
            # What the daily maintenance would do next, with no faults: settle what faults left.
            await runtime.reconciler.reconcile()
            await runtime.sweeper.sweep()
            await asyncio.sleep(1.5)
            stop_watching.set()
            await watcher
            await follower
            figures = await invariants(runtime, observed, lookalikes, disks, end, deleted_at)
            await runtime.close()
            figures.update(
                {
                    "host_kills": hosts.kills,
                    "azurite_restarts": azurite_restarts,
                    "soak_product_hours": (end - PRODUCT_EPOCH) / timedelta(hours=1),
                }
            )
            return figures
        finally:
            if hosts is not None:
                hosts.stop()
            stop_all(children)
            storage.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0, help="real minutes of the run")
    parser.add_argument("--speed", type=float, default=600.0, help="product seconds per real second")
    parser.add_argument("--disks", type=int, default=8, help="protected disks (hourly, kept a day)")
    parser.add_argument("--log", type=Path, default=Path("build") / "soak.log")
    args = parser.parse_args(argv)
    with figures_on_stdout(args.log) as report:
        report(asyncio.run(soak(args.minutes, args.speed, args.disks, args.log.parent)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
