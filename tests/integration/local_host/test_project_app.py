"""The project's own function_app.py through the local host, in-process and through the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from localdev.azurite import AzuriteEndpoints, free_port
from localdev.compute_emulator import EmulatorServer
from tests.hosting import QUIET_SCHEDULES, project_host
from tests.paths import REPO_ROOT as PROJECT_ROOT

pytestmark = pytest.mark.integration

# Timers that will not fire during a test: these tests are about HTTP and start-up.


def arm_settings(emulator: EmulatorServer) -> dict[str, str]:
    return {"ARM_ENDPOINT": emulator.url, "ARM_CA_BUNDLE": emulator.ca_bundle, "ARM_STATIC_TOKEN": "any"}


async def test_health_through_the_in_process_host(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> None:
    import function_app

    host = project_host(azurite.connection_string, host_keys=(), **arm_settings(compute_emulator))
    async with host:
        assert host.api_base_url == f"{host.url}/api"
        async with aiohttp.ClientSession() as session, session.get(f"{host.api_base_url}/health") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
    # The host indexed a fresh copy: whoever imported function_app keeps theirs, unindexed.
    assert sys.modules["function_app"] is function_app


async def test_the_cli_reports_its_url_serves_and_stops_on_sigint(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "AzureWebJobsStorage": azurite.connection_string,
        **QUIET_SCHEDULES,
        **arm_settings(compute_emulator),
    }
    stderr = (tmp_path / "host.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localdev.functions_host", "--port", "0", "--project-dir", str(PROJECT_ROOT),
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        ready = json.loads(line)
        assert ready["api_base_url"] == f"{ready['url']}/api"
        assert "health" in ready["functions"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{ready['api_base_url']}/health") as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr.close()
    assert "Executed 'health' (Succeeded" in (tmp_path / "host.log").read_text()


async def test_health_is_503_with_the_reason_when_arm_cannot_be_reached(azurite: AzuriteEndpoints) -> None:
    closed = f"https://127.0.0.1:{free_port()}"
    host = project_host(azurite.connection_string, host_keys=(), ARM_ENDPOINT=closed)
    async with (
        host,
        aiohttp.ClientSession() as session,
        session.get(f"{host.api_base_url}/health") as response,
    ):
        assert response.status == 503
        assert await response.json() == {"status": "unavailable"}  # anonymous: no internal endpoints
        async with session.get(f"{host.api_base_url}/x/health") as details:  # keys not enforced here
            assert details.status == 503
            body = await details.json()
    assert body["status"] == "unavailable"
    assert len(body["reasons"]) == 1
    assert body["reasons"][0].startswith("Azure Resource Manager is not reachable")
