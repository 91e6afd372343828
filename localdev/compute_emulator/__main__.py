"""``python -m localdev.compute_emulator``: run the emulator until SIGINT/SIGTERM.

The first stdout line is one JSON object (``url``, ``ca_bundle``, ``admin_url``, ``port``,
``pid``) so a parent process can start it on port 0 and learn where it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from .config import EmulatorConfig
from .server import Emulator, load_seed, start_site, stop_site


async def _serve(emulator: Emulator, port: int, cert_dir: Path, state_file: Path | None) -> int:
    runner, url = await start_site(emulator, port, cert_dir)
    assert emulator.tls is not None
    ready = {
        "url": url,
        "ca_bundle": str(emulator.tls.ca_bundle),
        "admin_url": url + "/_admin",
        "port": int(url.rsplit(":", 1)[1]),
        "pid": os.getpid(),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        if state_file is not None:
            emulator.save()
        await stop_site(runner)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.compute_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--seed", help="seed JSON file (see localdev/seed.json)")
    parser.add_argument(
        "--state", help="state JSON file: loaded at start if present, saved on exit and /_admin/save"
    )
    parser.add_argument("--cert-dir", help="directory for the throwaway CA PEM (default: a new temp dir)")
    parser.add_argument("--config", help="JSON file with config overrides (same keys as PUT /_admin/config)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    config = EmulatorConfig()
    if args.config:
        config.update(json.loads(Path(args.config).read_text()))
    state_file = Path(args.state) if args.state else None
    emulator = Emulator(load_seed(args.seed), config, state_file)
    cert_dir = Path(args.cert_dir) if args.cert_dir else Path(tempfile.mkdtemp(prefix="compute-emulator-"))
    return asyncio.run(_serve(emulator, args.port, cert_dir, state_file))


if __name__ == "__main__":
    sys.exit(main())
