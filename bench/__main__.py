"""``python -m bench``: every figure as one ``name: value`` line on standard output.

Each measuring module returns its figures as a mapping; ``report`` prints them as they come.
Logs (the engine's expected fault tracebacks) go to the file named on standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench import cold_import, engine, page_weight
from bench.output import DEFAULT_LOG, figures_on_stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=engine.__doc__)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--fault-instances", type=int, default=60)
    parser.add_argument("--fault-slots", type=int, default=3)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help="where logs go (default: %(default)s)")
    args = parser.parse_args(argv)
    with figures_on_stdout(args.log) as report:
        report(asyncio.run(engine.measure_tick_and_cleanup(args.instances, args.workers)))
        report(asyncio.run(engine.measure_faults(args.fault_instances, args.fault_slots, args.workers)))
        report(cold_import.measure())
        report(page_weight.measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
