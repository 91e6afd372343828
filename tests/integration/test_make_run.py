"""``make run`` starts the whole stack, the README's walkthroughs work against it as written,
and Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration
FREE_PORTS = [
    f"--{service}=0"
    for service in ("port", "arm-port", "azurite-blob-port", "azurite-queue-port", "azurite-table-port")
]


def _read_announcement(process: subprocess.Popen[str], deadline: float) -> tuple[dict[str, str], str]:
    values: dict[str, str] = {}
    printed: list[str] = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if line.startswith("Press Ctrl-C"):
            return values, "".join(printed)
        name, sep, value = line.strip().partition(": ")
        if sep and name.isidentifier():
            values.setdefault(name, value)
    raise AssertionError(f"make run did not announce itself:\n{''.join(printed)}")


def _readme_block(marker: str, language: str) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split(f"<!-- {marker}:start -->", 1)[1].split(f"<!-- {marker}:end -->", 1)[0]
    return block.split(f"```{language}", 1)[1].split("```", 1)[0]


def _port_open(url: str) -> bool:
    host, port = url.split("://")[1].split("/")[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def test_make_run_serves_the_api_and_the_readme_walkthroughs_work_as_written() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run", *FREE_PORTS],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found, printed = _read_announcement(process, time.monotonic() + 120)
        for name in ("api_base_url", "arm_url", "ca_bundle", "subscription_id", "arm_token"):
            assert found.get(name), f"make run did not print {name}"
        assert found["api_base_url"].endswith("/api")
        assert f"API={found['api_base_url']}" in printed, "the printed walkthrough has this run's values"

        env = {**os.environ, "API": found["api_base_url"], "SUB": found["subscription_id"]}
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", _readme_block("walkthrough", "bash")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        output = shell.stdout
        assert output.count("ProtectionConfigured") == 2
        assert output.count(": Completed") == 2, output  # the on-demand backup job and the restore job
        assert "newest recovery point: " in output
        assert "OnDemandBackup Completed" in output
        assert "Restore Completed" in output
        assert "vm-web-01-data Healthy" in output

        sdk = subprocess.run(
            [sys.executable, "-c", _readme_block("sdk-walkthrough", "python")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sdk.returncode == 0, sdk.stdout + sdk.stderr
        assert "demo-vault provisioningstate.succeeded" in sdk.stdout.lower()
        assert "on-demand backup job " in sdk.stdout

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        for url in (found["api_base_url"], found["arm_url"]):
            assert not _port_open(url), f"{url} still answers after Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
