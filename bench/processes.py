"""Child processes of the estate benchmark and the soak: the Compute emulator, local Functions
hosts serving the product, and the foreign ARM client, each a separate OS process (its own GIL,
as the real pieces have their own machines).

A child announces itself with one JSON line on standard output; its logs go to a file.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_MODULE = PROJECT_ROOT / "function_app.py"
NEVER = "0 0 0 1 1 *"
"""A timer schedule that does not fire during a run (midnight on 1 January)."""


class ChildFailed(RuntimeError):
    pass


@dataclass
class Child:
    """One child process; ``ready`` is the JSON object of its first standard output line."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float:
        """The process's peak resident set (VmHWM), while it still runs."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stop(self, timeout: float = 15.0) -> str:
        """SIGTERM, wait, and return what it printed after its ready line."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is None or self.process.stdout.closed:
            return ""
        rest = self.process.stdout.read().decode(errors="replace")
        self.process.stdout.close()
        return rest

    def kill(self) -> None:
        """kill -9: no cleanup, as when a machine dies."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.process.stdout.close()


def stop_all(children: list[Child]) -> None:
    """Stop every child, the last started first, even if stopping one fails."""
    for child in reversed(children):
        try:
            child.stop()
        except Exception:
            child.kill()


def fresh_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def start_child(
    name: str,
    args: list[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Child:
    """Start ``python args...`` and wait for its JSON ready line."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child holds it
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=PROJECT_ROOT,
        env=environment,
    )
    log.close()
    child = Child(name, process, log_path)
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        if process.poll() is not None:
            raise ChildFailed(f"{name} exited with {process.returncode} before it was ready; see {log_path}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            child.kill()
            raise ChildFailed(f"{name} was not ready within {timeout:.0f} s; see {log_path}")
        readable, _, _ = select.select([process.stdout], [], [], min(remaining, 0.5))
        if readable:
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                continue
            line += chunk
    child.ready = json.loads(line)
    return child


def start_emulator(seed_path: Path, config_path: Path, work_dir: Path, log_path: Path) -> Child:
    return start_child(
        "compute emulator",
        [
            "-m",
            "localdev.compute_emulator",
            "--port",
            "0",
            "--seed",
            str(seed_path),
            "--config",
            str(config_path),
            "--cert-dir",
            str(work_dir / "certs"),
        ],
        log_path=log_path,
    )


def host_project(work_dir: Path, queues: dict[str, Any]) -> Path:
    """A script root for the local Functions host: the product's host.json with the queue
    settings replaced (per-process concurrency), the product's app module by absolute path."""
    project = work_dir / "host-project"
    project.mkdir(parents=True, exist_ok=True)
    document = json.loads((PROJECT_ROOT / "host.json").read_text(encoding="utf-8"))
    document.setdefault("extensions", {}).setdefault("queues", {}).update(queues)
    (project / "host.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return project


def start_functions_host(
    name: str,
    project: Path,
    settings: dict[str, str],
    *,
    log_path: Path,
    disabled: tuple[str, ...] = (),
    log_level: str = "WARNING",
) -> Child:
    """The product's function app in the local Functions host, in its own process.

    ``disabled`` names functions switched off with ``AzureWebJobs.<name>.Disabled`` (the
    benchmark runs the planner itself, at the slot time)."""
    env = {
        "PLAN_BACKUPS_SCHEDULE": NEVER,
        "APPLY_RETENTION_SCHEDULE": NEVER,
        "COUNT_OVERVIEW_SCHEDULE": NEVER,
        **settings,
        **{f"AzureWebJobs.{function}.Disabled": "true" for function in disabled},
    }
    return start_child(
        name,
        [
            "-m",
            "localdev.functions_host",
            "--project-dir",
            str(project),
            "--app-module",
            str(APP_MODULE),
            "--port",
            "0",
            "--log-level",
            log_level,
        ],
        log_path=log_path,
        env=env,
    )
