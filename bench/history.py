"""``live_read_rows_per_rp_list_after_one_year_hourly``: what listing recovery points costs once an
instance has a long history.

On Azurite, through the product's store: one instance backed up every hour for a year at 7-day
retention (8,760 points). Each simulated day writes its 24 points (rows built by the product's
codecs, one entity-group transaction per day, as 24 backups would leave them; their backup jobs
are left out by default, since no recovery point read scans ``j|`` and Azurite slows with every
row it holds, ``backup_jobs=True`` writes them too); every week, and
at the end, what expired is retired with the store calls retention makes (``expired``, then
``record_deletions`` in retention's chunks, then the audit purge), so 168 points stay live.
Then the recovery points are listed through the API's own handler, following ``nextLink``
across every page, while a storage request hook records the key ranges of every table query the
listing sends. The figure is the number of rows stored in those ranges (counted by a raw query
of each range afterwards) divided by the live points the API returned: 1.0 when live reads cost
O(live), about 52 if deleted points stayed in the range. Goal: at most 1.1.

``python -m bench.history`` prints it as ``name: value``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from azure.core.pipeline import PipelineRequest
from azure.data.tables.aio import TableClient

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import replace_op, upsert_op
from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.limits import DELETED_RECOVERY_POINT_AUDIT, RECOVERY_POINTS_PER_TABLE_TRANSACTION
from backup.domain.models import JobOperation, ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.records import PlanState, Versioned
from backup.domain.snapshots import recovery_point_id
from backup.names import VAULT_DATA_TABLE
from backup.services.snapshot_deletion import deletion_job
from bench.output import format_figure
from localdev.azurite import Azurite, AzuriteEndpoints

FIGURE = "live_read_rows_per_rp_list_after_one_year_hourly"
START = datetime(2025, 1, 1, tzinfo=UTC)
SUBSCRIPTION = "33333333-0000-4000-8000-000000000003"
VAULT = VaultRef(SUBSCRIPTION, "rg-backup", "history-vault")
INSTANCE = "disk-history-instance"
API_BASE = "http://bench/api"
API_VERSION = "2026-06-01"
POINTS_PER_WRITE = 24
"""A day of hourly backups per transaction: 3 rows each (point, expiry index, job) plus the
instance stay under Table Storage's 100 operations."""

SWEEP_EVERY_WRITES = 7
"""Retention runs after every week of backups (and after the last): the end state is the same
as sweeping every hour, and Azurite, which evaluates every query against the whole table, builds
the year in a fraction of the time."""

_RANGE = re.compile(
    r"PartitionKey eq '(?P<pk>(?:[^']|'')*)' and RowKey ge '(?P<lower>(?:[^']|'')*)'"
    r" and RowKey lt '(?P<upper>(?:[^']|'')*)'"
)


@dataclass(frozen=True)
class KeyRange:
    partition: str
    lower: str
    upper: str


@dataclass
class ScanRecorder:
    """A storage request hook: while armed, the key ranges of the table queries sent."""

    armed: bool = False
    ranges: list[KeyRange] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def __call__(self, request: PipelineRequest[Any]) -> None:
        if not self.armed or request.http_request.method != "GET":
            return
        query = parse_qs(urlsplit(request.http_request.url).query)
        filters = query.get("$filter")
        if not filters:
            return  # a point read: one row, by its keys
        text = unquote(filters[0])
        found = _RANGE.search(text)
        if found is None:
            self.unparsed.append(text)
            return
        self.ranges.append(KeyRange(*(found[name].replace("''", "'") for name in ("pk", "lower", "upper"))))


@dataclass(frozen=True)
class HistoryFigures:
    live_points: int
    listed_points: int
    pages: int
    scanned_ranges: tuple[KeyRange, ...]
    rows_in_scanned_ranges: int
    deleted_points: int

    @property
    def rows_per_live_point(self) -> float:
        return self.rows_in_scanned_ranges / max(1, self.listed_points)


def make_instance(vault: VaultRef, name: str = INSTANCE, disk: str = "disk-history") -> BackupInstance:
    """An hourly instance of ``disk`` in ``vault``, written straight to the table by the benches."""
    return BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/{disk}",
        disk_location="eastus",
        policy_name="hourly",
        policy_document={"objectType": "BackupPolicy", "datasourceTypes": ["Microsoft.Compute/disks"]},
        snapshot_resource_group_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )


def hourly_point(instance: BackupInstance, slot: datetime, retention: timedelta) -> RecoveryPoint:
    point_id = recovery_point_id(instance.id.lower(), slot)
    return RecoveryPoint(
        id=point_id,
        instance=instance.name,
        slot=slot,
        created_at=slot + timedelta(minutes=1),
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + retention,
        snapshot_id=f"{instance.snapshot_resource_group_id}/providers/Microsoft.Compute/snapshots/adb-{point_id}",
    )


def backup_job(instance: BackupInstance, point: RecoveryPoint) -> Job:
    assert point.slot is not None
    return Job.for_instance(
        instance,
        id=scheduled_backup_job_id(instance.id.lower(), point.slot),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=point.slot,
    ).completed(point.created_at, recovery_point_id=point.id)


async def record_backups(
    table: Any,
    partition: str,
    current: Versioned[BackupInstance],
    points: list[RecoveryPoint],
    *,
    with_jobs: bool = True,
) -> Versioned[BackupInstance]:
    """What ``len(points)`` backups leave (each point, its expiry row, its job, the instance's
    counts), written as one transaction so a year builds in seconds."""
    updated = current.value
    operations = []
    for point in points:
        updated = updated.after_snapshot(
            point.created_at, earned=point.earned_tags, on_demand=False, slot=point.slot
        )
        operations.append(("create", codecs.recovery_point_entity(point, backup_job(updated, point).id)))
        operations.append(("create", codecs.expiry_entity(point)))
        if with_jobs:
            operations.append(upsert_op(codecs.job_entity(backup_job(updated, point))))
    operations.insert(0, replace_op(codecs.instance_entity(updated), current.etag))
    for _, entity, *_ in operations:
        entity["PartitionKey"] = partition
    results = await table.submit_transaction(operations)
    return Versioned(updated, str(results[0]["etag"]))


async def retire_expired(
    runtime: Runtime, current: Versioned[BackupInstance]
) -> tuple[Versioned[BackupInstance], int]:
    """Retention's store calls for what has expired by now: the expiry index, then
    ``record_deletions`` in retention's chunks (the snapshots are not modelled here), then the
    removal of audit rows past their retention."""
    store = runtime.store
    now = runtime.clock.now()
    vault = current.value.vault
    expired = [entry for entry in await store.expired(vault, now) if entry.instance == current.value.name]
    for start in range(0, len(expired), RECOVERY_POINTS_PER_TABLE_TRANSACTION):
        chunk = expired[start : start + RECOVERY_POINTS_PER_TABLE_TRANSACTION]
        jobs = [
            deletion_job(current.value, entry.point, started=now, id_time=now, why="retention").completed(now)
            for entry in chunk
        ]
        current = await store.record_deletions(
            current,
            current.value.after_deletions(len(chunk), 0),
            [(entry.point, entry) for entry in chunk],
            jobs,
            deleted_at=now,
        )
    # The sweep's audit upkeep, as the product runs it: the history it keeps stays bounded.
    await store.purge_deleted_history(vault, now - DELETED_RECOVERY_POINT_AUDIT)
    return current, len(expired)


async def build_history(
    runtime: Runtime,
    clock: ManualClock,
    vault: VaultRef,
    *,
    points: int,
    interval: timedelta,
    retention: timedelta,
    backup_jobs: bool,
) -> int:
    """``points`` backups every ``interval`` from :data:`START`, retention run every
    :data:`SWEEP_EVERY_WRITES` batches and at the last slot; returns how many points it retired."""
    store = runtime.store
    await store.register_vault(vault, {"location": "eastus", "id": vault.id})
    instance = make_instance(vault)
    current = await store.create_instance(
        instance, PlanState(instance.name, instance.policy_document, active=True)
    )
    table = await runtime.storage.table(VAULT_DATA_TABLE)
    partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
    slots = [START + index * interval for index in range(points)]
    retired = 0
    starts = range(0, len(slots), POINTS_PER_WRITE)
    for number, start in enumerate(starts, 1):
        batch = slots[start : start + POINTS_PER_WRITE]
        clock.set(batch[-1])
        current = await record_backups(
            table,
            partition,
            current,
            [hourly_point(current.value, slot, retention) for slot in batch],
            with_jobs=backup_jobs,
        )
        if number % SWEEP_EVERY_WRITES == 0 or number == len(starts):
            current, count = await retire_expired(runtime, current)
            retired += count
    return retired


async def list_through_api(
    runtime: Runtime, vault: VaultRef, instance: str
) -> tuple[list[dict[str, Any]], int]:
    """Every recovery point the API lists, following ``nextLink``; and the number of pages."""
    router = build_router()
    url: str | None = (
        f"{API_BASE}/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{vault.name}/backupInstances/{instance}"
        f"/recoveryPoints?api-version={API_VERSION}"
    )
    listed: list[dict[str, Any]] = []
    pages = 0
    while url is not None:
        response = await router.handle(ApiRequest.build("GET", url), runtime.api)
        body = json.loads(response.json_text() or "null")
        if response.status != 200:
            raise RuntimeError(f"listing recovery points answered {response.status}: {body}")
        listed.extend(body["value"])
        pages += 1
        next_link = body.get("nextLink")
        if next_link and "api-version=" not in next_link:
            next_link += ("&" if "?" in next_link else "?") + f"api-version={API_VERSION}"
        url = next_link
    return listed, pages


async def rows_in(endpoints: AzuriteEndpoints, ranges: list[KeyRange]) -> set[tuple[str, str]]:
    """The rows stored in any of ``ranges``, read with a client the recorder does not see."""
    rows: set[tuple[str, str]] = set()
    async with TableClient.from_connection_string(endpoints.connection_string, VAULT_DATA_TABLE) as table:
        for key_range in set(ranges):
            async for entity in table.query_entities(
                "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper",
                parameters={"pk": key_range.partition, "lower": key_range.lower, "upper": key_range.upper},
                select=["RowKey"],
            ):
                rows.add((key_range.partition, str(entity["RowKey"])))
    return rows


async def measure_history(
    endpoints: AzuriteEndpoints,
    *,
    points: int = 365 * 24,
    interval: timedelta = timedelta(hours=1),
    retention: timedelta = timedelta(days=7),
    page_size: int = 100,
    vault: VaultRef = VAULT,
    backup_jobs: bool = False,
) -> HistoryFigures:
    recorder = ScanRecorder()
    clock = ManualClock(START)
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string),
        clock=clock,
        storage_request_hook=recorder,
        auth_enabled=False,
        page_size=page_size,
    )
    try:
        retired = await build_history(
            runtime,
            clock,
            vault,
            points=points,
            interval=interval,
            retention=retention,
            backup_jobs=backup_jobs,
        )
        instance = await runtime.store.get_instance(vault, INSTANCE)
        assert instance is not None
        recorder.armed = True
        listed, pages = await list_through_api(runtime, vault, INSTANCE)
        recorder.armed = False
    finally:
        await runtime.close()
    if recorder.unparsed:
        raise RuntimeError(f"table queries whose key range the bench cannot read: {recorder.unparsed}")
    scanned = await rows_in(endpoints, recorder.ranges)
    return HistoryFigures(
        live_points=instance.value.live_recovery_points,
        listed_points=len(listed),
        pages=pages,
        scanned_ranges=tuple(dict.fromkeys(recorder.ranges)),
        rows_in_scanned_ranges=len(scanned),
        deleted_points=retired,
    )


def measure() -> dict[str, float]:
    """The figure, on a fresh Azurite (for ``python -m bench``'s report)."""
    with Azurite() as endpoints:
        figures = asyncio.run(measure_history(endpoints))
    return {FIGURE: round(figures.rows_per_live_point, 3)}


def main() -> int:
    began = time.monotonic()
    measured = measure()
    for name, value in measured.items():
        print(format_figure(name, value))
    print(f"bench.history: built and measured in {time.monotonic() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
