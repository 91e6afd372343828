"""Cold-start benchmark: what importing the app costs a fresh Functions worker process.

Flex Consumption scales from zero, and the worker imports ``function_app`` before it runs any
trigger, so that import should cost little more than ``azure.functions`` itself and load no
Azure SDK: those are imported when a trigger first needs them.

Each figure comes from fresh interpreters that time the import statement alone with
``time.perf_counter()`` and report the modules it loaded. One warm-up run of each import
comes first (bytecode caches, disk cache), then ROUNDS interleaved runs of each.

Figures
    cold_import_ratio          median time of ``import function_app`` divided by the median
                               time of ``import azure.functions``, over ROUNDS interleaved runs
    cold_import_heavy_modules  distinct heavy packages ``import function_app`` loads (goal 0):
                               each ``azure.mgmt.X``, ``azure.storage.X`` and ``azure.monitor.X``
                               once, ``azure.data.tables``, ``azure.identity``, ``aiohttp``,
                               ``opentelemetry``
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_MODULE = "function_app"
BASELINE_MODULE = "azure.functions"
ROUNDS = 7

# Namespaces whose every package counts once (azure.mgmt.compute, azure.mgmt.authorization, ...).
HEAVY_NAMESPACES = ("azure.mgmt", "azure.storage", "azure.monitor")
HEAVY_PACKAGES = ("azure.data.tables", "azure.identity", "aiohttp", "opentelemetry")

# Only the import statement is timed; listing the modules afterwards costs the same on both sides.
_PROBE = """\
import time
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
import json, sys
print(json.dumps({{"seconds": elapsed, "modules": sorted(sys.modules)}}))
"""


@dataclass(frozen=True)
class ImportRun:
    seconds: float
    modules: frozenset[str]


def import_in_fresh_process(module: str) -> ImportRun:
    """Import ``module`` in a new interpreter started in the repository root, as the worker does."""
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(completed.stdout)
    return ImportRun(float(report["seconds"]), frozenset(report["modules"]))


def heavy_packages(modules: Iterable[str]) -> set[str]:
    """The heavy packages among ``modules`` (module names as in ``sys.modules``)."""
    found: set[str] = set()
    for name in modules:
        found.update(package for package in HEAVY_PACKAGES if f"{name}.".startswith(f"{package}."))
        if name.startswith(tuple(f"{namespace}." for namespace in HEAVY_NAMESPACES)):
            found.add(".".join(name.split(".")[:3]))
    return found


def measure(rounds: int = ROUNDS) -> dict[str, float | int]:
    import_in_fresh_process(APP_MODULE)
    import_in_fresh_process(BASELINE_MODULE)
    app_runs: list[ImportRun] = []
    baseline_runs: list[ImportRun] = []
    for _ in range(rounds):
        app_runs.append(import_in_fresh_process(APP_MODULE))
        baseline_runs.append(import_in_fresh_process(BASELINE_MODULE))
    app_seconds = statistics.median(run.seconds for run in app_runs)
    baseline_seconds = statistics.median(run.seconds for run in baseline_runs)
    return {
        "cold_import_ratio": app_seconds / baseline_seconds,
        "cold_import_heavy_modules": len(heavy_packages(set().union(*(run.modules for run in app_runs)))),
    }


def main() -> int:
    """``python -m bench.cold_import``: just these two figures (``make bench`` prints them too)."""
    from bench.output import format_figure

    for name, value in measure().items():
        print(format_figure(name, value), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
