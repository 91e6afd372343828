"""Cold start: indexing the app loads ``azure.functions`` and light modules, no Azure SDK.

The worker imports ``function_app`` in a fresh process before it can run any trigger; the
triggers import the SDKs on their first call (``backup/entrypoints/deferred.py``). Only the
module list is asserted here; ``make bench`` measures the time (``cold_import_ratio``).
"""

from __future__ import annotations

import pytest

from bench.cold_import import heavy_packages, import_in_fresh_process

pytestmark = pytest.mark.functions


def test_importing_the_app_loads_no_heavy_package() -> None:
    run = import_in_fresh_process("function_app")
    assert {"function_app", "azure.functions", "backup.entrypoints.api"} <= run.modules
    assert heavy_packages(run.modules) == set()


def test_what_the_triggers_defer_is_heavy() -> None:
    # The probe sees heavy packages where they are: the adapters the runtime builds on first use.
    loaded = import_in_fresh_process("backup.adapters.tables.store").modules
    loaded |= import_in_fresh_process("backup.adapters.compute").modules
    assert {"azure.data.tables", "azure.storage.queue", "azure.mgmt.compute"} <= heavy_packages(loaded)


def test_heavy_packages_counts_each_sdk_package_once() -> None:
    modules = [
        "azure",
        "azure.functions",
        "azure.core.pipeline",
        "azure.mgmt",
        "azure.mgmt.compute",
        "azure.mgmt.compute.aio",
        "azure.mgmt.authorization.v2022_04_01",
        "azure.storage",
        "azure.storage.queue.aio",
        "azure.data.tables.aio._table_client_async",
        "azure.identity",
        "azure.monitor.opentelemetry.exporter",
        "aiohttp.client",
        "aiohttp_retry",
        "opentelemetry",
        "opentelemetry.sdk.trace",
        "backup.adapters.storage",
    ]
    assert heavy_packages(modules) == {
        "azure.mgmt.compute",
        "azure.mgmt.authorization",
        "azure.storage.queue",
        "azure.data.tables",
        "azure.identity",
        "azure.monitor.opentelemetry",
        "aiohttp",
        "opentelemetry",
    }
