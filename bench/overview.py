"""The overview at estate scale: what its counts cost, and how long Backup Center takes to show
something meaningful.

One estate on a fresh Azurite: ``INSTANCES`` (10,000) instances in ``VAULTS`` (5) vaults (a
mix of healthy, failing, suspended and stopped, each holding a few points) and ``JOBS``
(100,000) jobs spread evenly over 30 days, every 100th one failed, each row with the index
rows its writers write (but a job's operation and instance copies: :data:`JOB_ROWS_KEPT`).
The vaults are created through the store; the instance and job rows (230,000) are added to
Azurite's database while it is stopped (:func:`seed`), as through its API they took far longer
than a bench may. Then the overview step runs once (what the ``count-overview`` timer does
every 5 minutes), so every vault has its summary row.

* ``overview_counts_rows_read_per_vault``: table rows that one
  ``GET /api/x/subscriptions/{s}/overview`` reads (in process, through the API's router; the
  ``vaultdata`` rows by ``RowsRead``, plus the registry's vault rows) ÷ vaults. Goal: at most 10.
* ``backup_center_first_render_seconds``: from navigation start to ``data-ready`` on the page's
  root (the tiles show their final numbers and the first rows are in the table), in headless
  Chromium with a cold browser context, against a local Functions host serving the app on that
  Azurite; a fresh host process (cold caches) per sample and a write (one vault's summary
  recounted) between samples; median of 3. Goal: at most 2.0. ``backup_center_first_render_cores``
  is the machine's core count, beside it, because the figure is an absolute time.
* ``backup_center_first_render_kb``: the bytes transferred by the median sample until
  ``data-ready`` (response bodies: the page, its assets and every API answer), in KiB.

``python -m bench.overview`` prints these as ``name: value`` (``make bench`` prints them too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backup.adapters.tables import keys
from backup.adapters.tables.base import RowsRead
from backup.adapters.tables.codecs import Entity
from backup.adapters.tables.instance_index import instance_write_ops
from backup.adapters.tables.job_rows import job_write_ops
from backup.adapters.tables.store import VaultStore
from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import BackupInstanceHealth, JobOperation, ProtectionState
from backup.names import VAULT_DATA_TABLE
from bench import azurite_file
from bench.engine import policy
from bench.output import format_figure
from bench.processes import host_project, start_functions_host
from localdev.azurite import Azurite, AzuriteEndpoints

_log = logging.getLogger("bench.overview")

INSTANCES = 10_000
JOBS = 100_000
VAULTS = 5
SAMPLES = 3
SUBSCRIPTION = "44444444-0000-4000-8000-000000000004"
JOB_SPAN = timedelta(days=30)
FAILED_EVERY = 100
API_VERSION = "2026-06-01"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
READY = "html[data-ready]"
# Set at document start, before the page's modules run: when the root first carries data-ready.
READY_PROBE = """
new MutationObserver(() => {
  const root = document.documentElement;
  if (root && root.dataset.ready && window.__readyAt === undefined) window.__readyAt = performance.now();
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-ready"] });
"""


def vaults() -> list[VaultRef]:
    return [VaultRef(SUBSCRIPTION, "rg-overview", f"overview-vault-{index}") for index in range(VAULTS)]


def _instance(vault: VaultRef, index: int, now: datetime) -> BackupInstance:
    name = f"disk-{index:05d}"
    disk = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{name}"
    state = ProtectionState.PROTECTION_CONFIGURED
    health = BackupInstanceHealth(last_successful_backup=now - timedelta(minutes=5 + index % 600))
    if index % 50 == 1:
        health = health.after_failure("UserErrorDiskNotFound", "The disk was not found.")
    if index % 40 == 2:
        state = ProtectionState.BACKUP_SCHEDULES_SUSPENDED
    if index % 40 == 3:
        state = ProtectionState.PROTECTION_STOPPED
    return BackupInstance(
        vault=vault,
        name=f"{name}-instance",
        disk_id=disk,
        disk_location="eastus",
        policy_name="every-4h",
        policy_document=policy("PT4H", start=datetime(2026, 1, 1, tzinfo=UTC), keep="P7D"),
        snapshot_resource_group_id=f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-snaps",
        protection_state=state,
        health=health,
        live_recovery_points=1 + index % 7,
    )


def _job(instance: BackupInstance, index: int, start: datetime) -> Job:
    job = Job.for_instance(
        instance,
        id=job_id(start, instance.name, str(index)),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=start,
    )
    if index % FAILED_EVERY == 0:
        return job.failed(start + timedelta(minutes=1), "UserErrorDiskNotFound", "The disk was not found.")
    return job.completed(start + timedelta(minutes=2))


async def create_vaults(endpoints: AzuriteEndpoints) -> None:
    """The vaults through the store, as this version creates one (its instance index complete
    from the start), each with its job index marked complete while it holds no job."""
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string), auth_enabled=False
    )
    try:
        for vault in vaults():
            await runtime.store.register_vault(
                vault, {"id": vault.id, "name": vault.name, "location": "eastus"}
            )
            await runtime.store.index_legacy_jobs(vault)
    finally:
        await runtime.close()


JOB_ROWS_KEPT = (keys.row_key(keys.JOB, ""), keys.row_key(keys.JOB_INDEX, keys.JOB_INDEX_STATUS, ""))
"""Of a job's rows, the job and its status-index copy (what the overview counts failed jobs
from). Its operation and instance copies are left out: with them, 100,000 jobs make a 585 MB
database, longer than the largest string Node builds (Azurite loads and saves its tables as one
JSON string); no figure here reads them."""


def estate_rows(now: datetime, instances: int, jobs: int) -> Iterator[tuple[str, Entity]]:
    """Every vault's instance rows (with their index rows) and job rows (:data:`JOB_ROWS_KEPT`)."""
    for number, vault in enumerate(vaults()):
        partition = VaultStore.partition(vault)
        mine = [_instance(vault, index, now) for index in range(number, instances, VAULTS)]
        for instance in mine:
            for _, entity, *_ in instance_write_ops(None, instance)[0]:
                yield partition, entity
        per_vault = jobs // VAULTS
        step = JOB_SPAN / max(1, per_vault)
        for index in range(per_vault):
            for _, entity, *_ in job_write_ops(_job(mine[index % len(mine)], index, now - step * index)):
                if str(entity["RowKey"]).startswith(JOB_ROWS_KEPT):
                    yield partition, entity


def seed(location: Path, now: datetime, *, instances: int = INSTANCES, jobs: int = JOBS) -> None:
    """The estate in the Azurite data folder ``location``: the vaults through the store, then the
    instance and job rows (with their index rows) added to Azurite's database while it is
    stopped (:mod:`bench.azurite_file`; through its API, 100,000 jobs took longer than a bench may)."""
    started = time.monotonic()
    with Azurite(location=location) as endpoints:
        asyncio.run(create_vaults(endpoints))
        time.sleep(azurite_file.AUTOSAVE_SECONDS)
    first = VaultStore.partition(vaults()[0])
    added = azurite_file.add_rows(
        location,
        VAULT_DATA_TABLE,
        estate_rows(now, instances, jobs),
        saved_row=(keys.SYSTEM_PARTITION, keys.job_index_marker_key(first)),
    )
    _log.warning("seeded %d rows in %.1f s", added, time.monotonic() - started)


async def rows_read_by_overview(runtime: Runtime) -> float:
    """Rows one overview call reads, per vault (registry rows added when RowsRead misses them)."""
    before = RowsRead.count
    registry = await runtime.store.list_vault_documents(SUBSCRIPTION)
    registry_counted = RowsRead.count > before
    request = ApiRequest.build(
        "GET", f"http://bench/api/x/subscriptions/{SUBSCRIPTION}/overview?api-version={API_VERSION}"
    )
    before = RowsRead.count
    response = await build_router().handle(request, runtime.api)
    read = RowsRead.count - before
    if response.status != 200 or not response.body["exact"]:
        raise RuntimeError(f"the overview answered {response.status}: {json.dumps(response.body)[:500]}")
    if not registry_counted:
        read += len(registry)
    return read / len(registry)


async def first_render(
    endpoints: AzuriteEndpoints, runtime: Runtime, work_dir: Path, azurite_folder: Path
) -> tuple[float, float]:
    """Median seconds to data-ready over ``SAMPLES`` cold samples, and the median sample's KiB."""
    from playwright.async_api import async_playwright

    project = host_project(work_dir, {})
    settings = {
        "AzureWebJobsStorage": endpoints.connection_string,
        "ARM_ENDPOINT": "https://127.0.0.1:9",
        "ARM_STATIC_TOKEN": "bench-overview",
    }
    samples: list[tuple[float, float]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            for sample in range(SAMPLES):
                # A write between samples: nothing may answer the page from a cached whole result.
                written = time.time()
                await runtime.overview.recompute(vaults()[sample % VAULTS])
                # Azurite saves its tables within 5 s of a write; at this size that stalls it.
                await asyncio.to_thread(azurite_file.wait_until_saved, azurite_folder, written)
                host = await asyncio.to_thread(
                    start_functions_host,
                    f"overview host {sample}",
                    project,
                    settings,
                    log_path=work_dir / f"host-{sample}.log",
                )
                try:
                    samples.append(await _one_render(browser, host.ready["api_base_url"]))
                finally:
                    await asyncio.to_thread(host.stop)
        finally:
            await browser.close()
    seconds = statistics.median(second for second, _ in samples)
    kilobytes = next(kb for second, kb in samples if second == seconds)
    return seconds, kilobytes


async def _one_render(browser: Any, api_base_url: str) -> tuple[float, float]:
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        await context.add_init_script(READY_PROBE)
        page = await context.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        await page.goto(f"{api_base_url}/backupcenter?subscription={SUBSCRIPTION}", timeout=120_000)
        await page.locator(READY).wait_for(state="attached", timeout=120_000)
        ready_ms = float(await page.evaluate("window.__readyAt"))
        sizes = [await request.sizes() for request in finished]
        transferred = sum(size["responseBodySize"] for size in sizes)
        return ready_ms / 1000, transferred / 1024
    finally:
        await context.close()


async def measure_overview(
    endpoints: AzuriteEndpoints, work_dir: Path, azurite_folder: Path
) -> dict[str, float | int]:
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=endpoints.connection_string), auth_enabled=False
    )
    try:
        await runtime.overview.recompute_all()  # the timer's work, before anyone opens the page
        per_vault = await rows_read_by_overview(runtime)
        seconds, kilobytes = await first_render(endpoints, runtime, work_dir, azurite_folder)
    finally:
        await runtime.close()
    return {
        "overview_counts_rows_read_per_vault": round(per_vault, 3),
        "backup_center_first_render_seconds": round(seconds, 3),
        "backup_center_first_render_cores": os.cpu_count() or 0,
        "backup_center_first_render_kb": round(kilobytes, 3),
    }


def measure(instances: int = INSTANCES, jobs: int = JOBS) -> dict[str, float | int]:
    """The figures, on a fresh Azurite (for ``python -m bench``'s report)."""
    with tempfile.TemporaryDirectory(prefix="bench-overview-") as folder:
        location = Path(folder) / "azurite"
        location.mkdir()
        seed(location, datetime.now(UTC), instances=instances, jobs=jobs)
        with Azurite(location=location, startup_timeout=azurite_file.LOAD_SECONDS) as endpoints:
            return asyncio.run(measure_overview(endpoints, Path(folder), location))


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.overview [--instances N] [--jobs N]``: just these figures."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.overview", description=__doc__)
    parser.add_argument("--instances", type=int, default=INSTANCES)
    parser.add_argument("--jobs", type=int, default=JOBS)
    args = parser.parse_args(argv)
    for name, value in measure(args.instances, args.jobs).items():
        print(format_figure(name, value), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
