"""``python -m bench.planner_tick --at ISO``: one planner tick that dies after saving its plans.

The process runs the product's planner on a manual clock set to ``--at``, with the app's
settings from the environment. Its queue sender never sends: when the planner calls it (its
plan rows are saved by then), it prints ``{"saved": n}`` and waits, so that the parent can
kill it with SIGKILL at exactly that point, as a host dying mid-tick would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime

from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock


async def hang_after_save(messages: Sequence[str]) -> None:
    print(json.dumps({"saved": len(messages)}), flush=True)
    await asyncio.Event().wait()


async def tick(at: datetime) -> None:
    runtime = Runtime.from_settings(
        Settings.from_env(), clock=ManualClock(at), send_backup_requests=hang_after_save
    )
    try:
        await runtime.planner.tick()
    finally:
        await runtime.close()
    print(json.dumps({"saved": 0}), flush=True)  # nothing was due: the parent still gets its line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.planner_tick", description=__doc__)
    parser.add_argument("--at", required=True, type=datetime.fromisoformat)
    args = parser.parse_args(argv)
    asyncio.run(tick(args.at))
    return 0


if __name__ == "__main__":
    sys.exit(main())
