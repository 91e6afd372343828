"""``failed_jobs_filter_over_first_page``: what a filtered job listing costs when its matches are rare.

On Azurite, through the API's own handler: one vault holding ``JOBS`` (100,000) jobs five minutes
apart (about a year, uniformly in time), every 100th of them Failed (1,000). The vault is created
by this version through the store, so its job index is complete from the start, and each job is
stored with exactly the rows every job writer writes (``job_rows.job_write_ops``: the job and its
three index copies, 400,000 rows). Azurite cannot take that many rows through its API in minutes
(each operation scans the partition; transactions may not overlap), so they are added to its
database file while it is stopped (:func:`seed`).

Each sample builds a fresh runtime (cold caches: a new store, new table clients) and times one
request for the first page (the API's page size, 100) of ``GET .../backupJobs`` with
``$filter=status eq 'Failed'``, then, on another fresh runtime, the unfiltered first page.

- ``failed_jobs_filter_over_first_page``: the median of 7 filtered first pages ÷ the median of 7
  unfiltered first pages. Goal ≤ 2 (a filter reads its matches, not the vault's jobs: before the
  job index, each page scanned about 10,000 jobs to find 100 failed ones).
- ``failed_jobs_filter_first_page_seconds`` and ``jobs_first_page_seconds``: those medians.
- ``failed_jobs_filter_first_page_rows_read``: table rows the filtered first page read (the
  vault, the index marker, the page and the one after it that says there is more).
- ``failed_jobs_filter_all_pages_seconds``: every page of the filter (1,000 jobs, 10 pages),
  following ``nextLink``, on a fresh runtime.

``python -m bench --only failed_jobs_filter_over_first_page`` or ``python -m bench.jobs_filter`` prints them.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from backup.adapters.tables import keys
from backup.adapters.tables.base import RowsRead
from backup.adapters.tables.job_rows import job_write_ops
from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, JobStatus
from backup.names import VAULT_DATA_TABLE
from bench import azurite_file
from bench.output import format_figure
from localdev.azurite import Azurite, AzuriteEndpoints

FIGURE = "failed_jobs_filter_over_first_page"
JOBS = 100_000
FAILED_EVERY = 100
SAMPLES = 7
START = datetime(2026, 1, 1, tzinfo=UTC)
SPACING = timedelta(minutes=5)
"""100,000 jobs five minutes apart: about a year of one vault's jobs, uniformly in time."""
SUBSCRIPTION = "44444444-0000-4000-8000-000000000004"
VAULT = VaultRef(SUBSCRIPTION, "rg-backup", "jobs-vault")
INSTANCES = 50
DISKS = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks"
API_BASE = "http://bench/api"
API_VERSION = "2026-06-01"


def bench_job(number: int) -> Job:
    at = START + SPACING * number
    instance = f"disk-{number % INSTANCES:03d}-instance"
    job = Job(
        id=job_id(at, VAULT.id, instance, str(number)),
        vault_id=VAULT.id,
        instance=instance,
        operation=JobOperation.SCHEDULED_BACKUP,
        status=JobStatus.IN_PROGRESS,
        start_time=at,
        datasource_id=f"{DISKS}/{instance}",
        policy_name="hourly",
    )
    if number % FAILED_EVERY == FAILED_EVERY - 1:
        return job.failed(at + timedelta(minutes=1), "UserErrorDiskNotFound", "The disk is gone.")
    return job.completed(at + timedelta(minutes=1))


def runtime_for(endpoints: AzuriteEndpoints) -> Runtime:
    return Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string),
        clock=ManualClock(START + SPACING * JOBS),
        auth_enabled=False,
    )


async def create_vault(endpoints: AzuriteEndpoints) -> str:
    """The vault, through the store, as this version creates one: registered, and its job index
    marked complete while it holds no job. Returns its partition."""
    runtime = runtime_for(endpoints)
    try:
        store = runtime.store
        await store.register_vault(VAULT, {"location": "westus", "id": VAULT.id, "name": VAULT.name})
        await store.index_legacy_jobs(VAULT)
        return store.partition(VAULT)
    finally:
        await runtime.close()


def seed(location: Path, jobs: int) -> None:
    """The vault through the store, then ``jobs`` jobs' rows added to Azurite's database file.

    The rows are the ones every job writer writes (``job_write_ops``: the job and its index
    copies), added while Azurite is stopped (:mod:`bench.azurite_file`); it loads them when it
    starts again.
    """
    with Azurite(location=location) as endpoints:
        partition = asyncio.run(create_vault(endpoints))
        time.sleep(azurite_file.AUTOSAVE_SECONDS)
    rows = (
        (partition, entity) for number in range(jobs) for _, entity, *_ in job_write_ops(bench_job(number))
    )
    azurite_file.add_rows(
        location,
        VAULT_DATA_TABLE,
        rows,
        saved_row=(keys.SYSTEM_PARTITION, keys.job_index_marker_key(partition)),
    )


async def first_page(endpoints: AzuriteEndpoints, filter_text: str | None) -> tuple[float, int, int]:
    """Seconds, rows read and jobs of one first page, on a fresh runtime."""
    runtime = runtime_for(endpoints)
    try:
        router = build_router()
        url = jobs_url(filter_text)
        await runtime.api.store.list_vaults()  # open the table clients: the page alone is timed
        rows = RowsRead.count
        began = time.perf_counter()
        body = await get(router, runtime, url)
        seconds = time.perf_counter() - began
        return seconds, RowsRead.count - rows, len(body["value"])
    finally:
        await runtime.close()


async def all_pages(endpoints: AzuriteEndpoints, filter_text: str) -> tuple[float, int]:
    runtime = runtime_for(endpoints)
    try:
        router = build_router()
        url: str | None = jobs_url(filter_text)
        listed = 0
        began = time.perf_counter()
        while url is not None:
            body = await get(router, runtime, url)
            listed += len(body["value"])
            url = body.get("nextLink")
            if url is not None and "api-version=" not in url:
                url += f"&api-version={API_VERSION}"
        return time.perf_counter() - began, listed
    finally:
        await runtime.close()


def jobs_url(filter_text: str | None) -> str:
    url = (
        f"{API_BASE}/subscriptions/{VAULT.subscription_id}/resourceGroups/{VAULT.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{VAULT.name}/backupJobs?api-version={API_VERSION}"
    )
    return url + (f"&$filter={quote(filter_text)}" if filter_text else "")


async def get(router: Any, runtime: Runtime, url: str) -> Any:
    response = await router.handle(ApiRequest.build("GET", url), runtime.api)
    body = json.loads(response.json_text() or "null")
    if response.status != 200:
        raise RuntimeError(f"listing jobs answered {response.status}: {body}")
    return body


async def median_of(
    samples: int, sample: Callable[[], Awaitable[tuple[float, int, int]]]
) -> tuple[float, int, int]:
    taken = [await sample() for _ in range(samples)]
    return statistics.median(s for s, _, _ in taken), taken[-1][1], taken[-1][2]


async def measure_on(
    endpoints: AzuriteEndpoints, jobs: int = JOBS, samples: int = SAMPLES
) -> dict[str, float]:
    failed = "status eq 'Failed'"
    filtered, rows, served = await median_of(samples, lambda: first_page(endpoints, failed))
    unfiltered, _, _ = await median_of(samples, lambda: first_page(endpoints, None))
    if served != min(100, jobs // FAILED_EVERY):
        raise RuntimeError(f"the filtered first page held {served} jobs")
    walk, listed = await all_pages(endpoints, failed)
    if listed != jobs // FAILED_EVERY:
        raise RuntimeError(f"the filtered walk listed {listed} jobs, not {jobs // FAILED_EVERY}")
    return {
        FIGURE: round(filtered / unfiltered, 3),
        "failed_jobs_filter_first_page_seconds": round(filtered, 3),
        "jobs_first_page_seconds": round(unfiltered, 3),
        "failed_jobs_filter_first_page_rows_read": rows,
        "failed_jobs_filter_all_pages_seconds": round(walk, 3),
    }


def measure(jobs: int = JOBS, samples: int = SAMPLES) -> dict[str, float]:
    """The figures, on a fresh Azurite."""
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as folder:
        location = Path(folder)
        seed(location, jobs)
        with Azurite(location=location, startup_timeout=azurite_file.LOAD_SECONDS) as endpoints:
            return asyncio.run(measure_on(endpoints, jobs, samples))


def main() -> int:
    began = time.monotonic()
    for name, value in measure().items():
        print(format_figure(name, value))
    print(f"bench.jobs_filter: built and measured in {time.monotonic() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
