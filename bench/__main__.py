"""``python -m bench``: every figure as one ``name: value`` line on standard output.

Each measuring module returns its figures as a mapping; ``report`` prints them as they come.
Logs (the engine's expected fault tracebacks) go to the file named on standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench import (
    cold_import,
    engine,
    estate,
    history,
    instances_listing,
    jobs_filter,
    overview,
    page_weight,
    rp_listing,
    slot_accounting,
)
from bench.output import DEFAULT_LOG, figures_on_stdout

PARTS = (
    "tick",
    "faults",
    "slots",
    "estate",
    "history",
    "cold-import",
    "page-weight",
    "rp-list",
    jobs_filter.FIGURE,
    "instances-list",
    "overview",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=engine.__doc__)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--fault-instances", type=int, default=60)
    parser.add_argument("--fault-slots", type=int, default=3)
    parser.add_argument("--estate-subscriptions", type=int, default=4)
    parser.add_argument("--estate-disks", type=int, default=1000, help="protected disks per subscription")
    parser.add_argument("--estate-workers", type=int, default=4, help="local Functions host processes")
    parser.add_argument(
        "--estate-deadline", type=float, default=3.0, help="give up after this many times the bound"
    )
    parser.add_argument("--overview-instances", type=int, default=overview.INSTANCES)
    parser.add_argument("--overview-jobs", type=int, default=overview.JOBS)
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only these parts (repeatable; default: all)",
    )
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help="where logs go (default: %(default)s)")
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS)
    with figures_on_stdout(args.log) as report:
        if "tick" in parts:
            report(asyncio.run(engine.measure_tick_and_cleanup(args.instances, args.workers)))
        if "faults" in parts:
            report(asyncio.run(engine.measure_faults(args.fault_instances, args.fault_slots, args.workers)))
        if "slots" in parts:
            report(asyncio.run(slot_accounting.measure()))
        if "estate" in parts:
            report(
                asyncio.run(
                    estate.measure(
                        args.estate_subscriptions,
                        args.estate_disks,
                        args.estate_workers,
                        args.estate_deadline,
                        log_dir=args.log.parent,
                    )
                )
            )
        if "history" in parts:
            report(history.measure())
        if "instances-list" in parts:
            report(instances_listing.measure())
        if "cold-import" in parts:
            report(cold_import.measure())
        if "page-weight" in parts:
            report(page_weight.measure())
        if "rp-list" in parts:
            report(rp_listing.measure())
        if jobs_filter.FIGURE in parts:
            report(jobs_filter.measure())
        if "overview" in parts:
            report(overview.measure(args.overview_instances, args.overview_jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
