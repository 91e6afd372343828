"""``python -m localdev.functions_host``: serve a function app locally until SIGINT/SIGTERM.

Prints one JSON line on stdout once ready, e.g.
``{"url": "http://127.0.0.1:7071", "api_base_url": "http://127.0.0.1:7071/api", ...}``;
logs go to stderr. Like ``func start``, function keys are not enforced unless ``--host-key``
or ``--master-key`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from localdev.functions_host.clock import AcceleratedClock
from localdev.functions_host.config import LocalSettings
from localdev.functions_host.host import FunctionsHost

DEFAULT_PORT = 7071


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localdev.functions_host",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--project-dir", default=".", help="folder with host.json and local.settings.json")
    parser.add_argument(
        "--app-module", default="function_app", help="module (or .py path) holding the FunctionApp"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"0 picks a free port; default: local.settings.json Host.LocalHttpPort or {DEFAULT_PORT}",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="evaluate timer schedules on a clock running N times faster than real time",
    )
    parser.add_argument(
        "--origin", default=None, help="with --speed: the clock's start time (ISO 8601, aware)"
    )
    parser.add_argument(
        "--host-key", action="append", default=[], help="require this key for function-level routes"
    )
    parser.add_argument("--master-key", default=None, help="require this key for admin-level routes")
    parser.add_argument("--log-level", default="INFO")
    return parser


async def _serve(args: argparse.Namespace, project_dir: Path) -> int:
    port = args.port
    if port is None:
        port = LocalSettings.load(project_dir / "local.settings.json").local_http_port or DEFAULT_PORT
    clock = None
    if args.speed is not None or args.origin is not None:
        origin = datetime.fromisoformat(args.origin) if args.origin else None
        clock = AcceleratedClock(speed=args.speed or 1.0, origin=origin)
    host = FunctionsHost(
        args.app_module,
        project_dir,
        port=port,
        clock=clock,
        host_keys=args.host_key,
        master_key=args.master_key,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await host.start()
        ready = {
            "url": host.url,
            "api_base_url": host.api_base_url,
            "functions": sorted(host.functions),
            "skipped": host.skipped,
        }
        print(json.dumps(ready), flush=True)
        await stop.wait()
        logging.getLogger("localdev.functions_host").info("Stopping")
    finally:
        await host.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    project_dir = Path(args.project_dir).resolve()
    # As under the real worker: the script root is the working directory and on sys.path.
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    return asyncio.run(_serve(args, project_dir))


if __name__ == "__main__":
    sys.exit(main())
