"""``make run``: the whole product offline, with the seeded demo. Ctrl-C stops everything.

Starts Azurite, the ARM Compute emulator (seeded from ``localdev/seed.json``) and the local
Functions host serving ``function_app.py`` with settings that point at both. Once
``GET /api/health`` answers 200 it prints how to reach everything as ``name: value`` lines,
then the README's walkthrough with those values filled in.

``--speed N`` runs the product's clock (schedules, retention) N times faster than real time,
so a day of backups and pruning passes in minutes; the emulator keeps real time, which only
affects the snapshots' ``timeCreated``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localdev.azurite import Azurite, AzuriteStartError
from localdev.ports import PortNeed, PortProblem, check_ports

if TYPE_CHECKING:
    from localdev.compute_emulator import EmulatorServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = PROJECT_ROOT / ".run"
SEED_FILE = Path(__file__).resolve().parent / "seed.json"
README = PROJECT_ROOT / "README.md"
# The emulator's defaults are Azure's (Retry-After 2 s on a 202, 10 s on polls); a demo
# wants answers at once.
DEMO_EMULATOR_CONFIG: dict[str, Any] = {"retryAfterAcceptedSeconds": 1, "retryAfterPollSeconds": 1}
HEALTH_TIMEOUT_SECONDS = 90
APP_PORT = 7071  # the Functions host's own default, so the README's walkthrough defaults hold


class StartFailed(Exception):
    """A part of the stack did not start; ``str()`` says why on one line."""


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _print(name: str, value: object) -> None:
    print(f"{name}: {value}", flush=True)


def readme_block(marker: str, language: str) -> str:
    """The fenced ``language`` block between ``<!-- marker:start -->`` and ``<!-- marker:end -->``."""
    text = README.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = text[text.index(start) + len(start) : text.index(end)]
    return block.split(f"```{language}", 1)[1].split("```", 1)[0].strip()


def walkthrough(values: dict[str, str]) -> str:
    """The README's walkthrough (a tested shell script) with this run's values filled in."""
    script = readme_block("walkthrough", "bash")
    for name, value in values.items():
        script = script.replace(f"{name}=${{{name}:?}}", f"{name}={value}")
    return script


def sdk_walkthrough(values: dict[str, str]) -> str:
    """The README's Python client walkthrough with this run's values, as a command to paste."""
    code = readme_block("sdk-walkthrough", "python")
    for name, value in values.items():
        # ``API = os.environ.get("API", "<a plain make run's value>")`` becomes this run's value.
        reads_environment = rf'^{name} = os\.environ\.get\("{name}", "[^"]*"\)'
        code, found = re.subn(reads_environment, f"{name} = {json.dumps(value)}", code, flags=re.M)
        if found != 1:
            raise ValueError(f"the README's sdk-walkthrough does not read {name} from the environment")
    return f"{shlex.quote(sys.executable)} - <<'PY'\n{code}\nPY"


def app_settings(
    endpoints_connection: str, emulator: EmulatorServer, token: str, speed: float | None
) -> dict[str, str]:
    settings = {
        "AzureWebJobsStorage": endpoints_connection,
        "ARM_ENDPOINT": emulator.url,
        "ARM_CA_BUNDLE": emulator.ca_bundle,
        "ARM_STATIC_TOKEN": token,
        "PLAN_BACKUPS_SCHEDULE": "0 */5 * * * *",
        "APPLY_RETENTION_SCHEDULE": "0 */15 * * * *",
        "COUNT_OVERVIEW_SCHEDULE": "0 */5 * * * *",
    }
    if speed is not None:
        settings["CLOCK_SPEED"] = str(speed)
        settings["CLOCK_ORIGIN"] = datetime.now(UTC).isoformat()
    return settings


def wait_for_health(api_base_url: str, host: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        if host.poll() is not None:
            raise RuntimeError(f"the Functions host exited with code {host.returncode}")
        try:
            with urllib.request.urlopen(f"{api_base_url}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = error.read().decode(errors="replace")
        except OSError as error:
            last = str(error)
        time.sleep(0.3)
    raise TimeoutError(f"GET /api/health did not answer 200 within {HEALTH_TIMEOUT_SECONDS} s: {last}")


def port_needs(args: argparse.Namespace) -> list[PortNeed]:
    """Every port ``make run`` binds, with the flag that moves it (0, any free port, needs no check)."""
    return [
        PortNeed(args.port, "the app's local Functions host", "--port"),
        PortNeed(args.arm_port, "the ARM Compute emulator", "--arm-port"),
        PortNeed(args.azurite_blob_port, "Azurite's blob service", "--azurite-blob-port"),
        PortNeed(args.azurite_queue_port, "Azurite's queue service", "--azurite-queue-port"),
        PortNeed(args.azurite_table_port, "Azurite's table service", "--azurite-table-port"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--port", type=int, default=APP_PORT, help="Functions host port (0: any free port)")
    parser.add_argument("--arm-port", type=int, default=8443, help="Compute emulator port (0: any free port)")
    parser.add_argument("--azurite-blob-port", type=int, default=10000, help="Azurite blob port (0: any)")
    parser.add_argument("--azurite-queue-port", type=int, default=10001, help="Azurite queue port (0: any)")
    parser.add_argument("--azurite-table-port", type=int, default=10002, help="Azurite table port (0: any)")
    parser.add_argument("--speed", type=float, default=None, help="run the product's clock N times faster")
    parser.add_argument("--seed", type=Path, default=SEED_FILE)
    parser.add_argument("--no-demo", action="store_true", help="start with empty tables (no demo history)")
    args = parser.parse_args(argv)
    try:
        # Before anything starts: a taken port is one line naming it, not a hang or a traceback.
        check_ports(port_needs(args))
    except PortProblem as problem:
        print(f"make run: {problem}", file=sys.stderr, flush=True)
        return 1

    # Loaded only now, so that the port check above answers before the SDKs load.
    from backup.config import Settings
    from localdev.compute_emulator import EmulatorServer
    from localdev.compute_emulator.tokens import Principal, access_token
    from localdev.demo import seed_demo

    RUN_DIR.mkdir(exist_ok=True)
    # The product's own log lines (the demo seeding) go to a file, not between the name: value lines.
    logging.basicConfig(filename=RUN_DIR / "make-run.log", level=logging.INFO, force=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    seed = json.loads(args.seed.read_text())
    subscription_id = seed["subscriptions"][0]["id"]
    # The app principal's JWT (not its opaque token), so vaults show its object id and tenant.
    app_token = access_token(Principal.from_doc(seed["principals"][0]))

    azurite = Azurite(
        blob_port=args.azurite_blob_port,
        queue_port=args.azurite_queue_port,
        table_port=args.azurite_table_port,
    )
    emulator = EmulatorServer(
        seed, port=args.arm_port, config=DEMO_EMULATOR_CONFIG, cert_dir=RUN_DIR / "certs"
    )
    host: subprocess.Popen[bytes] | None = None
    try:
        endpoints = azurite.start()
        emulator.start()
        env_settings = app_settings(endpoints.connection_string, emulator, app_token, args.speed)
        if not args.no_demo:
            print("Seeding the demo: a few days of backups on a simulated clock...", flush=True)
            asyncio.run(
                seed_demo(
                    Settings.from_env({**env_settings, "CLOCK_SPEED": "", "CLOCK_ORIGIN": ""}),
                    emulator.admin,
                    subscription_id,
                )
            )
        command = [sys.executable, "-m", "localdev.functions_host", "--port", str(args.port)]
        command += ["--project-dir", str(PROJECT_ROOT)]
        if args.speed is not None:
            command += ["--speed", str(args.speed)]
        env = {**os.environ, **env_settings}
        log = (RUN_DIR / "functions-host.log").open("wb")
        host = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
        assert host.stdout is not None
        ready = json.loads(host.stdout.readline() or b"{}")
        if "api_base_url" not in ready:
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.wait(timeout=10)  # its last words reach the log as it exits
            raise StartFailed(
                f"the Functions host did not start: {last_line(RUN_DIR / 'functions-host.log')} "
                f"(see {RUN_DIR / 'functions-host.log'})"
            )
        api_base_url = ready["api_base_url"]
        wait_for_health(api_base_url, host)

        _print("api_base_url", api_base_url)
        _print("arm_url", emulator.url)
        _print("ca_bundle", emulator.ca_bundle)
        _print("subscription_id", subscription_id)
        _print("arm_token", app_token)
        _print("arm_admin_url", emulator.admin_url)
        _print("storage_connection_string", endpoints.connection_string)
        _print("functions_host_log", RUN_DIR / "functions-host.log")
        _print("backup_center", f"{api_base_url}/backupcenter?subscription={subscription_id}")
        print(
            "\nWalk through the API (README, 'Walk through the API'); paste into a shell:\n\n"
            + walkthrough({"API": api_base_url, "SUB": subscription_id})
            + "\n\nThe same with the official Python client; paste into a shell:\n\n"
            + sdk_walkthrough({"API": api_base_url, "SUB": subscription_id})
            + f"\n\nThen open Backup Center: {api_base_url}/backupcenter?subscription={subscription_id}"
            + "\n\nPress Ctrl-C to stop.",
            flush=True,
        )
        stop.wait()
    except (PortProblem, AzuriteStartError, StartFailed) as problem:
        # A port taken between the check and the start, or a stranger answering on Azurite's.
        print(f"make run: {problem}", file=sys.stderr, flush=True)
        return 1
    finally:
        if host is not None and host.poll() is None:
            host.send_signal(signal.SIGINT)
            try:
                host.wait(timeout=15)
            except subprocess.TimeoutExpired:
                host.kill()
                host.wait()
        emulator.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
