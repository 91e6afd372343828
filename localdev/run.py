"""``make run``: the offline stack with the seeded demo. Ctrl-C stops everything.

Starts Azurite and the ARM Compute emulator (seeded from ``localdev/seed.json``), then prints
how to reach them as ``name: value`` lines that people and tests can read.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from localdev.azurite import Azurite
from localdev.compute_emulator import EmulatorServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = PROJECT_ROOT / ".run"
SEED_FILE = Path(__file__).resolve().parent / "seed.json"
# The emulator's defaults are Azure's (Retry-After 2 s on a 202, 10 s on polls); a demo
# wants answers at once.
DEMO_EMULATOR_CONFIG: dict[str, Any] = {"retryAfterAcceptedSeconds": 1, "retryAfterPollSeconds": 1}


def _print(name: str, value: object) -> None:
    print(f"{name}: {value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--azurite-blob-port", type=int, default=10000)
    parser.add_argument("--azurite-queue-port", type=int, default=10001)
    parser.add_argument("--azurite-table-port", type=int, default=10002)
    parser.add_argument("--arm-port", type=int, default=8443, help="Compute emulator port (0: any free port)")
    parser.add_argument("--seed", type=Path, default=SEED_FILE)
    args = parser.parse_args(argv)

    RUN_DIR.mkdir(exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    seed = json.loads(args.seed.read_text())
    subscription_id = seed["subscriptions"][0]["id"]
    app_token = seed["principals"][0]["token"]

    azurite = Azurite(
        blob_port=args.azurite_blob_port,
        queue_port=args.azurite_queue_port,
        table_port=args.azurite_table_port,
    )
    emulator = EmulatorServer(
        seed, port=args.arm_port, config=DEMO_EMULATOR_CONFIG, cert_dir=RUN_DIR / "certs"
    )
    try:
        endpoints = azurite.start()
        emulator.start()
        _print("storage_connection_string", endpoints.connection_string)
        _print("arm_url", emulator.url)
        _print("arm_admin_url", emulator.admin_url)
        _print("ca_bundle", emulator.ca_bundle)
        _print("subscription_id", subscription_id)
        _print("arm_token", app_token)
        print(
            "\nTry the emulator with the demo principal's token:\n"
            f"  curl --cacert {emulator.ca_bundle} -H 'Authorization: Bearer {app_token}' \\\n"
            f"    '{emulator.url}/subscriptions/{subscription_id}/providers/Microsoft.Compute/disks"
            "?api-version=2026-03-02'\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        stop.wait()
    finally:
        emulator.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
