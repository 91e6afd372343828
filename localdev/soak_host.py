"""``python -m localdev.soak_host``: the local Functions host serving the product for the soak,
on the soak's one scaled clock.

The product's own accelerated clock (``CLOCK_SPEED``, ``CLOCK_ORIGIN``) starts counting when a
process builds it, so hosts started (or restarted after a kill) at different moments would each
have their own idea of "now". The soak needs one clock for every process, restarts included:
product time = ``SOAK_PRODUCT_EPOCH`` + (wall time - ``SOAK_REAL_EPOCH``) x ``SOAK_SPEED``.
This module installs a runtime on that clock (``backup.bootstrap.use_runtime``, the hook for
runtimes built elsewhere) and runs the host's timers on it too. Everything else is the product
and the host as ``make run`` starts them; the settings come from the environment.

Prints the host's ready line (JSON) on standard output; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

SOAK_REAL_EPOCH = "SOAK_REAL_EPOCH"
SOAK_PRODUCT_EPOCH = "SOAK_PRODUCT_EPOCH"
SOAK_SPEED = "SOAK_SPEED"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SharedScaledClock:
    """The same product time in every process: a function of wall time, not of start-up."""

    def __init__(self, real_epoch: float, product_epoch: datetime, speed: float) -> None:
        if product_epoch.tzinfo is None:
            raise ValueError("the product epoch must be timezone-aware")
        self.real_epoch = real_epoch
        self.product_epoch = product_epoch.astimezone(UTC)
        self.speed = speed

    def now(self) -> datetime:
        return self.product_epoch + timedelta(seconds=(time.time() - self.real_epoch) * self.speed)

    def real_time_at(self, moment: datetime) -> float:
        return self.real_epoch + (moment - self.product_epoch).total_seconds() / self.speed

    def environment(self) -> dict[str, str]:
        return {
            SOAK_REAL_EPOCH: repr(self.real_epoch),
            SOAK_PRODUCT_EPOCH: self.product_epoch.isoformat(),
            SOAK_SPEED: repr(self.speed),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SharedScaledClock:
        env = os.environ if environ is None else environ
        return cls(
            float(env[SOAK_REAL_EPOCH]),
            datetime.fromisoformat(env[SOAK_PRODUCT_EPOCH]),
            float(env[SOAK_SPEED]),
        )


async def serve() -> int:
    from backup.bootstrap import Runtime, use_runtime
    from backup.config import Settings
    from localdev.functions_host import FunctionsHost

    clock = SharedScaledClock.from_environment()
    use_runtime(Runtime.from_settings(Settings.from_env(), clock=clock))
    host = FunctionsHost("function_app", PROJECT_ROOT, port=0, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await host.start()
        print(
            json.dumps({"url": host.url, "functions": sorted(host.functions), "pid": os.getpid()}), flush=True
        )
        await stop.wait()
    finally:
        await host.stop()
    return 0


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("SOAK_LOG_LEVEL", "WARNING"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    return asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
