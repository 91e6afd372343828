"""``make run`` checks its ports before it starts anything: a taken port is one line that names
the port, its holder and the flag that moves it, and nothing is left running. Azurite must be
the process this run started, not whatever answers on its ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.azurite import Azurite, AzuriteStartError, free_port, wait_for_own_listener
from localdev.ports import PortProblem, bind_error, holder_of
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration
PORT_FLAGS = ("--port", "--arm-port", "--azurite-blob-port", "--azurite-queue-port", "--azurite-table-port")
# Only a safety net against a hang; nothing is asserted about how long anything takes.
SAFETY_TIMEOUT = 120


@pytest.fixture
def foreign_listener() -> Iterator[int]:
    """A port some other program listens on (this test process plays that program)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _processes_with_marker(marker: str) -> list[int]:
    """Processes whose environment carries ``marker``: whatever a make run started and left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.append(int(entry.name))
    return found


def _make_run(ports: dict[str, int]) -> tuple[subprocess.CompletedProcess[str], str]:
    marker = f"MAKE_RUN_PORT_TEST={uuid.uuid4()}"
    name, value = marker.split("=")
    completed = subprocess.run(
        [sys.executable, "-m", "localdev.run", *(f"{flag}={port}" for flag, port in ports.items())],
        cwd=REPO_ROOT,
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT,
    )
    return completed, marker


def _distinct_free_ports(count: int, taken: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        port = free_port()
        if port != taken:
            ports.add(port)
    return sorted(ports)


@pytest.mark.parametrize("taken_flag", PORT_FLAGS)
def test_a_taken_port_stops_make_run_with_one_line_before_anything_starts(
    taken_flag: str, foreign_listener: int
) -> None:
    other_flags = [flag for flag in PORT_FLAGS if flag != taken_flag]
    others = dict(zip(other_flags, _distinct_free_ports(4, foreign_listener), strict=True))
    completed, marker = _make_run({**others, taken_flag: foreign_listener})

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert completed.stdout == "", "nothing started, so nothing was announced"
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    (line,) = lines
    assert f"port {foreign_listener} " in line
    assert f"held by pid {os.getpid()} (" in line, "names the process that holds the port"
    suggestion = re.search(rf'make run RUN_ARGS="{taken_flag} (\d+)"', line)
    assert suggestion, line
    assert int(suggestion.group(1)) not in (foreign_listener, *others.values())

    assert _processes_with_marker(marker) == [], "make run left a process running"
    for flag, port in others.items():
        assert bind_error(port) is None, f"{flag} {port} is still bound after make run stopped"


def test_one_port_given_twice_is_refused_naming_both_flags() -> None:
    (port, *rest) = _distinct_free_ports(4, 0)
    ports = dict(zip(("--arm-port", "--azurite-queue-port", "--azurite-table-port"), rest, strict=True))
    completed, marker = _make_run({"--port": port, "--azurite-blob-port": port, **ports})

    assert completed.returncode == 1, completed.stdout + completed.stderr
    (line,) = completed.stderr.splitlines()
    assert f"port {port} is given to both --port" in line
    assert "--azurite-blob-port" in line
    assert 'make run RUN_ARGS="--azurite-blob-port ' in line
    assert _processes_with_marker(marker) == []


def test_azurite_refuses_to_start_on_a_taken_port_and_starts_nothing(foreign_listener: int) -> None:
    azurite = Azurite(table_port=foreign_listener)
    with pytest.raises(PortProblem, match=f"127.0.0.1:{foreign_listener}"):
        azurite.start()
    azurite.stop()
    for port in (azurite.endpoints.blob_port, azurite.endpoints.queue_port):
        assert bind_error(port) is None


def test_a_stranger_answering_on_an_azurite_port_is_not_taken_for_our_azurite(
    foreign_listener: int, tmp_path: Path
) -> None:
    # The process we "started" never listens; this test process does, as a stranger would.
    started = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(AzuriteStartError) as refused:
            wait_for_own_listener(
                foreign_listener, time.monotonic() + SAFETY_TIMEOUT, started, tmp_path / "azurite.log"
            )
        message = str(refused.value)
        assert f"port {foreign_listener} answers, but not from the Azurite this run started" in message
        assert f"(pid {started.pid})" in message
        assert f"held by pid {os.getpid()} (" in message
    finally:
        started.kill()
        started.wait()


def test_our_own_process_listening_is_accepted(tmp_path: Path) -> None:
    port = free_port()
    listener = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, time; s = socket.socket(); "
            f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)",
        ]
    )
    try:
        wait_for_own_listener(port, time.monotonic() + SAFETY_TIMEOUT, listener, tmp_path / "azurite.log")
        holder = holder_of(port)
        assert holder is not None
        assert holder.pid == listener.pid
    finally:
        listener.kill()
        listener.wait()


def test_azurite_that_exits_while_starting_says_why(tmp_path: Path) -> None:
    log = tmp_path / "azurite.log"
    log.write_text("Azurite Table service is starting\nExit due to unhandled error: listen EADDRINUSE\n")
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    exited.wait()
    with pytest.raises(AzuriteStartError, match=r"exited with code 1 while starting: Exit due to unhandled"):
        wait_for_own_listener(free_port(), time.monotonic() + SAFETY_TIMEOUT, exited, log)
