"""``make run``: the offline stack with the seeded demo. Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from localdev.azurite import Azurite

RUN_DIR = Path(__file__).resolve().parent.parent / ".run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--azurite-blob-port", type=int, default=10000)
    parser.add_argument("--azurite-queue-port", type=int, default=10001)
    parser.add_argument("--azurite-table-port", type=int, default=10002)
    args = parser.parse_args(argv)

    RUN_DIR.mkdir(exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    azurite = Azurite(
        blob_port=args.azurite_blob_port,
        queue_port=args.azurite_queue_port,
        table_port=args.azurite_table_port,
    )
    try:
        endpoints = azurite.start()
        print(f"storage_connection_string: {endpoints.connection_string}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        stop.wait()
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
