"""``rp_list_all_pages_over_raw``: what listing an instance's recovery points through the API costs
over reading the same rows straight from Table Storage, once the instance has a long history.

On a fresh Azurite: one instance with :data:`LIVE_POINTS` (450) live recovery points, one an
hour up to :data:`NOW` (each its ``r|`` row and ``x|`` expiry row), and a year of deleted history
before them: a deleted point every hour for the 365 days before the oldest live one, each its
``d|`` audit row and ``y|`` audit-index row, as retention leaves them (the product purges audit
rows 30 days after their point expired, so this is more history than it ever keeps; the jobs
of that year are left out, as no recovery point read scans ``j|``). Rows are built by the
product's codecs; the vault and instance are written through the store, the point and history
rows added to Azurite's database while it is stopped (:func:`seed`).

A sample of the API is a full walk of the list through the API's own handler, in process: every
page (the default page size, 100: 5 pages) following ``nextLink``, on a fresh runtime (new
storage clients, nothing cached), timed from the first request to the last page. A sample of the
raw read is one Tables query of exactly the instance's 450 ``r|`` rows, on a fresh client. After
one warm-up of each (imports, Azurite's first touch), 7 samples of each, interleaved.

* ``rp_list_all_pages_over_raw``: median API walk ÷ median raw query. Goal: at most 1.5.
* ``rp_list_first_page_over_raw``: the first page alone (its request) ÷ the same raw median.
* ``rp_list_fourth_page_over_first``: the fourth page's request ÷ the first's (both full pages):
  about 1 when page k costs what page 1 costs.
* ``rp_list_all_pages_ms``, ``rp_list_raw_query_ms``: the two medians.
* ``rp_list_empty_query_ms``: the median of a query of the same shape that matches no row,
  sampled beside them: what any one query costs on this Azurite before it returns a row (it
  evaluates the filter on every row of the table), which a walk of 5 pages pays 5 times.
* ``rp_list_raw_in_pages_ms``: the median of the same raw query read 100 rows a round trip
  (5 requests, following the service's continuation), sampled beside them: the least any walk
  of 5 pages can cost on this Azurite; ``rp_list_all_pages_over_raw_in_pages`` is the API walk
  over it, what the API adds to the 5 requests a walk cannot avoid.
* ``rp_list_rows_read_per_point``: table rows the walk read (every row a query yielded and every
  point read: ``RowsRead``; the vault registry's reads are not counted) ÷ points listed.

``python -m bench --only rp-list`` prints them as ``name: value``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.data.tables.aio import TableClient

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import RowsRead
from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import RecoveryPoint, RecoveryPointState, RetentionTag
from backup.domain.records import PlanState
from backup.domain.snapshots import recovery_point_id
from backup.names import VAULT_DATA_TABLE
from bench import azurite_file
from bench.history import make_instance
from localdev.azurite import Azurite, AzuriteEndpoints

FIGURE = "rp_list_all_pages_over_raw"
LIVE_POINTS = 450
HISTORY = timedelta(days=365)
INTERVAL = timedelta(hours=1)
RETENTION = timedelta(hours=LIVE_POINTS)
SAMPLES = 7
PAGE_SIZE = 100
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
SUBSCRIPTION = "44444444-0000-4000-8000-000000000004"
VAULT = VaultRef(SUBSCRIPTION, "rg-backup", "rp-list-vault")
INSTANCE = "disk-rp-list-instance"
API_BASE = "http://bench/api"
API_VERSION = "2026-06-01"


@dataclass(frozen=True)
class Walk:
    seconds: float
    page_seconds: list[float]
    listed: list[str]
    pages: int
    rows_read: int


def hourly_point(instance: BackupInstance, slot: datetime) -> RecoveryPoint:
    point_id = recovery_point_id(instance.id.lower(), slot)
    return RecoveryPoint(
        id=point_id,
        instance=instance.name,
        slot=slot,
        created_at=slot + timedelta(minutes=1),
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + RETENTION,
        snapshot_id=f"{instance.snapshot_resource_group_id}/providers/Microsoft.Compute/snapshots/adb-{point_id}",
        policy_name=instance.policy_name,  # as the store records a point (``under_policy``)
    )


def live_rows(point: RecoveryPoint) -> list[dict[str, Any]]:
    """What a backup leaves of a live point: its row and its expiry-index row."""
    return [codecs.recovery_point_entity(point, None), codecs.expiry_entity(point)]


def audit_rows(point: RecoveryPoint) -> list[dict[str, Any]]:
    """What retention leaves of a deleted point: its audit row in ``d|`` and its ``y|`` index row."""
    row = codecs.recovery_point_entity(point.with_state(RecoveryPointState.DELETING), None)
    row["RowKey"] = keys.deleted_recovery_point_key(point.instance, point.id)
    row["Kind"] = "deletedRecoveryPoint"
    row["DeletedAt"] = point.expires_at
    index = {
        "RowKey": keys.audit_expiry_key(point.expires_at, point.instance, point.id),
        "Kind": "auditExpiry",
        "Instance": point.instance,
        "Id": point.id,
    }
    return [row, index]


async def create_instance(endpoints: AzuriteEndpoints) -> BackupInstance:
    """The vault and the instance, through the store, as the product creates them."""
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string), clock=ManualClock(NOW)
    )
    try:
        await runtime.store.register_vault(VAULT, {"location": "eastus", "id": VAULT.id})
        instance = make_instance(VAULT, INSTANCE, disk="disk-rp")
        await runtime.store.create_instance(
            instance, PlanState(INSTANCE, instance.policy_document, active=True)
        )
        return instance
    finally:
        await runtime.close()


def seed(location: Path) -> list[str]:
    """The vault, the instance, its live points and a year of deleted ones, in the Azurite data
    folder ``location``; the live ids newest first.

    The vault and instance go through the store; the 18,420 point and history rows are added to
    Azurite's database while it is stopped (:mod:`bench.azurite_file`): through its API, one
    transaction at a time (it resets connections under concurrent batches into one partition),
    they took minutes.
    """
    with Azurite(location=location) as endpoints:
        instance = asyncio.run(create_instance(endpoints))
        time.sleep(azurite_file.AUTOSAVE_SECONDS)
    live = [hourly_point(instance, NOW - index * INTERVAL) for index in range(LIVE_POINTS)]
    oldest_live = live[-1].slot
    assert oldest_live is not None
    deleted_count = HISTORY // INTERVAL
    deleted = [hourly_point(instance, oldest_live - (index + 1) * INTERVAL) for index in range(deleted_count)]
    rows = [row for point in live for row in live_rows(point)]
    rows += [row for point in deleted for row in audit_rows(point)]
    partition = keys.vault_partition(VAULT.subscription_id, VAULT.resource_group, VAULT.name)
    azurite_file.add_rows(
        location,
        VAULT_DATA_TABLE,
        ((partition, row) for row in rows),
        saved_row=(partition, keys.instance_key(INSTANCE)),
    )
    return [point.id for point in live]


async def api_walk(endpoints: AzuriteEndpoints) -> Walk:
    """Every page through the API's handler on a fresh runtime, following ``nextLink``."""
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string),
        clock=ManualClock(NOW),
        auth_enabled=False,
        page_size=PAGE_SIZE,
    )
    router = build_router()
    url: str | None = (
        f"{API_BASE}/subscriptions/{VAULT.subscription_id}/resourceGroups/{VAULT.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{VAULT.name}/backupInstances/{INSTANCE}"
        f"/recoveryPoints?api-version={API_VERSION}"
    )
    listed: list[str] = []
    pages = 0
    page_seconds: list[float] = []
    rows_before = RowsRead.count
    try:
        began = time.perf_counter()
        while url is not None:
            page_began = time.perf_counter()
            response = await router.handle(ApiRequest.build("GET", url), runtime.api)
            page_seconds.append(time.perf_counter() - page_began)
            body = json.loads(response.json_text() or "null")
            if response.status != 200:
                raise RuntimeError(f"listing recovery points answered {response.status}: {body}")
            listed.extend(item["name"] for item in body["value"])
            pages += 1
            url = body.get("nextLink")
            if url and "api-version=" not in url:
                url += ("&" if "?" in url else "?") + f"api-version={API_VERSION}"
        elapsed = time.perf_counter() - began
    finally:
        await runtime.close()
    return Walk(elapsed, page_seconds, listed, pages, RowsRead.count - rows_before)


async def raw_query(
    endpoints: AzuriteEndpoints, instance: str = INSTANCE, page_size: int | None = None
) -> tuple[float, list[str]]:
    """One Tables query of exactly an instance's live rows, on a fresh client; with ``page_size``,
    read that many rows a round trip (following the service's continuation)."""
    partition = keys.vault_partition(VAULT.subscription_id, VAULT.resource_group, VAULT.name)
    lower, upper = keys.kind_range(keys.RECOVERY_POINT, instance)
    async with TableClient.from_connection_string(endpoints.connection_string, VAULT_DATA_TABLE) as table:
        began = time.perf_counter()
        ids = [
            str(entity["Id"])
            async for entity in table.query_entities(
                "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper",
                parameters={"pk": partition, "lower": lower, "upper": upper},
                results_per_page=page_size or 1000,
            )
        ]
        return time.perf_counter() - began, ids


async def measure_listing(
    endpoints: AzuriteEndpoints, expected: list[str], samples: int = SAMPLES
) -> dict[str, float]:
    await api_walk(endpoints)  # warm-ups, not counted
    await raw_query(endpoints)
    walks: list[Walk] = []
    raws: list[float] = []
    floors: list[float] = []
    raw_pages: list[float] = []
    for _ in range(samples):
        walk = await api_walk(endpoints)
        if walk.listed != expected or walk.pages != -(-LIVE_POINTS // PAGE_SIZE):
            raise RuntimeError(
                f"the API listed {len(walk.listed)} points in {walk.pages} pages, not the 450 live"
            )
        walks.append(walk)
        seconds, ids = await raw_query(endpoints)
        if ids != expected:
            raise RuntimeError(f"the raw query read {len(ids)} rows, not the 450 live")
        raws.append(seconds)
        floor, none = await raw_query(endpoints, "no-such-instance")
        assert none == []
        floors.append(floor)
        seconds, ids = await raw_query(endpoints, page_size=PAGE_SIZE)
        if ids != expected:
            raise RuntimeError(f"the raw query in pages read {len(ids)} rows, not the 450 live")
        raw_pages.append(seconds)
    api = statistics.median(walk.seconds for walk in walks)
    raw = statistics.median(raws)
    first = statistics.median(walk.page_seconds[0] for walk in walks)
    fourth = statistics.median(walk.page_seconds[3] for walk in walks)
    return {
        FIGURE: round(api / raw, 3),
        "rp_list_first_page_over_raw": round(first / raw, 3),
        "rp_list_fourth_page_over_first": round(fourth / first, 3),
        "rp_list_all_pages_ms": round(api * 1000, 1),
        "rp_list_raw_query_ms": round(raw * 1000, 1),
        "rp_list_empty_query_ms": round(statistics.median(floors) * 1000, 1),
        "rp_list_raw_in_pages_ms": round(statistics.median(raw_pages) * 1000, 1),
        "rp_list_all_pages_over_raw_in_pages": round(api / statistics.median(raw_pages), 3),
        "rp_list_rows_read_per_point": round(statistics.median(w.rows_read for w in walks) / LIVE_POINTS, 3),
    }


def measure() -> dict[str, float]:
    """The figures, on a fresh Azurite (for ``python -m bench``'s report)."""
    with tempfile.TemporaryDirectory(prefix="bench-rp-list-") as folder:
        expected = seed(Path(folder))
        with Azurite(location=Path(folder), startup_timeout=azurite_file.LOAD_SECONDS) as endpoints:
            return asyncio.run(measure_listing(endpoints, expected))
