"""The cross-vault instance list at estate scale: a page must not cost more as the estate grows,
and a walk must cost O(N).

On one Azurite (so both estates are measured against the same table, whatever Azurite's own
cost per row held), two subscriptions are seeded straight through the table client with
entity-group transactions of 100 rows, as the API would have left them (each instance row, built
by the product's codec, and its planner row): a small estate of 1,000 instances and a large one
of 10,000, each in 5 vaults. Every sample builds a fresh runtime (cold caches, a new table
client) and calls the API's own handler for
``GET /subscriptions/{s}/providers/Microsoft.DataProtection/backupInstances``.

* ``instances_list_first_page_growth``: the median time of the first page (the default page
  size, 100) at 10,000 instances ÷ the same at 1,000; medians of 7. Goal ≤ 1.5: a page's cost
  does not grow with the estate.
* ``instances_list_walk_per_item_growth``: a full walk following ``nextLink`` at 10,000
  instances, seconds per instance, ÷ the same at 1,000; medians of 3. Goal ≤ 1.5: a walk is
  O(N), not O(N²).

Beside them, as measured: the medians themselves, the table rows each first page read and the
rows a walk read per instance (``RowsRead``, registry rows included), which state the same in
rows rather than seconds.

``python -m bench --only instances-list`` (or ``python -m bench.instances_listing``) prints them.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import RowsRead
from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from backup.names import VAULT_DATA_TABLE, VAULTS_TABLE
from bench.engine import policy
from bench.output import format_figure
from localdev.azurite import Azurite, AzuriteEndpoints

FIRST_PAGE = "instances_list_first_page_growth"
WALK = "instances_list_walk_per_item_growth"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SMALL, LARGE = 1_000, 10_000
VAULTS_PER_ESTATE = 5
FIRST_PAGE_SAMPLES = 7
WALK_SAMPLES = 3
API_BASE = "http://bench/api"
API_VERSION = "2026-06-01"
PARALLEL_WRITES = 16


@dataclass(frozen=True)
class Estate:
    subscription_id: str
    instances: int

    @property
    def vaults(self) -> list[VaultRef]:
        return [VaultRef(self.subscription_id, "rg-backup", f"vault-{n}") for n in range(VAULTS_PER_ESTATE)]


def instance(vault: VaultRef, number: int, document: dict[str, Any]) -> BackupInstance:
    name = f"disk-{number:05d}-instance"
    sub = vault.subscription_id
    return BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{sub}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/disk-{number:05d}",
        disk_location="eastus",
        policy_name="every-4h",
        policy_document=document,
        snapshot_resource_group_id=f"/subscriptions/{sub}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )


async def seed(endpoints: AzuriteEndpoints, estate: Estate) -> None:
    """The estate's vaults in the registry, and its instances with their planner rows, 50 a transaction."""
    runtime = runtime_for(endpoints)
    try:
        document = policy(start=NOW)
        for vault in estate.vaults:
            await runtime.store.register_vault(vault, {"location": "eastus", "id": vault.id})
        table = await runtime.storage.table(VAULT_DATA_TABLE)
        gate = asyncio.Semaphore(PARALLEL_WRITES)
        per_vault = estate.instances // VAULTS_PER_ESTATE

        async def write(vault: VaultRef, numbers: range) -> None:
            partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
            operations = []
            for number in numbers:
                created = instance(vault, number, document)
                operations.append(("create", codecs.instance_entity(created)))
                operations.append(
                    ("create", codecs.plan_entity(PlanState(created.name, document, active=True)))
                )
            for _, entity in operations:
                entity["PartitionKey"] = partition
            async with gate:
                await table.submit_transaction(operations)

        await asyncio.gather(
            *(
                write(vault, range(start, min(start + 50, (index + 1) * per_vault)))
                for index, vault in enumerate(estate.vaults)
                for start in range(index * per_vault, (index + 1) * per_vault, 50)
            )
        )
    finally:
        await runtime.close()


def runtime_for(endpoints: AzuriteEndpoints) -> Runtime:
    return Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string),
        clock=ManualClock(NOW),
        auth_enabled=False,
    )


def first_url(estate: Estate) -> str:
    return (
        f"{API_BASE}/subscriptions/{estate.subscription_id}/providers/Microsoft.DataProtection"
        f"/backupInstances?api-version={API_VERSION}"
    )


async def get(runtime: Runtime, url: str) -> dict[str, Any]:
    response = await build_router().handle(ApiRequest.build("GET", url), runtime.api)
    body: dict[str, Any] = json.loads(response.json_text() or "null")
    if response.status != 200:
        raise RuntimeError(f"the cross-vault list answered {response.status}: {body}")
    return body


async def first_page(endpoints: AzuriteEndpoints, estate: Estate) -> tuple[float, int]:
    """Seconds and table rows read for the first page, on a fresh runtime."""
    runtime = runtime_for(endpoints)
    try:
        await runtime.storage.table(VAULT_DATA_TABLE)  # the client, not the request, is not timed
        await runtime.storage.table(VAULTS_TABLE)
        rows_before = RowsRead.count
        began = time.perf_counter()
        body = await get(runtime, first_url(estate))
        elapsed = time.perf_counter() - began
        if len(body["value"]) != 100:
            raise RuntimeError(f"the first page held {len(body['value'])} instances, not 100")
        return elapsed, RowsRead.count - rows_before
    finally:
        await runtime.close()


async def walk(endpoints: AzuriteEndpoints, estate: Estate) -> tuple[float, int]:
    """Seconds and table rows read for every page, following ``nextLink``, on a fresh runtime;
    checks each instance came once."""
    runtime = runtime_for(endpoints)
    try:
        await runtime.storage.table(VAULT_DATA_TABLE)
        await runtime.storage.table(VAULTS_TABLE)
        seen: set[str] = set()
        url: str | None = first_url(estate)
        rows_before = RowsRead.count
        began = time.perf_counter()
        while url is not None:
            body = await get(runtime, url)
            seen.update(item["id"] for item in body["value"])
            url = body.get("nextLink")
        elapsed = time.perf_counter() - began
        if len(seen) != estate.instances:
            raise RuntimeError(f"the walk served {len(seen)} instances of {estate.instances}")
        return elapsed, RowsRead.count - rows_before
    finally:
        await runtime.close()


async def measure_listing(endpoints: AzuriteEndpoints) -> dict[str, float]:
    small = Estate("44444444-0000-4000-8000-000000000001", SMALL)
    large = Estate("44444444-0000-4000-8000-000000000002", LARGE)
    for estate in (small, large):
        await seed(endpoints, estate)
    figures: dict[str, float] = {}
    pages: dict[int, float] = {}
    walks: dict[int, float] = {}
    for estate in (small, large):
        samples = [await first_page(endpoints, estate) for _ in range(FIRST_PAGE_SAMPLES)]
        pages[estate.instances] = statistics.median(seconds for seconds, _ in samples)
        figures[f"instances_list_first_page_seconds_at_{estate.instances}"] = round(
            pages[estate.instances], 4
        )
        figures[f"instances_list_first_page_rows_read_at_{estate.instances}"] = max(
            rows for _, rows in samples
        )
    for estate in (small, large):
        walked = [await walk(endpoints, estate) for _ in range(WALK_SAMPLES)]
        walks[estate.instances] = statistics.median(seconds for seconds, _ in walked)
        figures[f"instances_list_walk_seconds_at_{estate.instances}"] = round(walks[estate.instances], 3)
        rows_per_item = max(rows for _, rows in walked) / estate.instances
        figures[f"instances_list_walk_rows_read_per_instance_at_{estate.instances}"] = round(rows_per_item, 3)
    figures[FIRST_PAGE] = round(pages[LARGE] / pages[SMALL], 3)
    figures[WALK] = round((walks[LARGE] / LARGE) / (walks[SMALL] / SMALL), 3)
    return figures


def measure() -> dict[str, float]:
    """The figures, on a fresh Azurite (for ``python -m bench``'s report)."""
    with Azurite() as endpoints:
        return asyncio.run(measure_listing(endpoints))


def main() -> int:
    began = time.monotonic()
    for name, value in measure().items():
        print(format_figure(name, value))
    print(
        f"bench.instances_listing: seeded and measured in {time.monotonic() - began:.1f} s", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
