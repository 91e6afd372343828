"""``make run`` starts the offline stack, says how to reach it, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
from azure.data.tables import TableServiceClient
from azure.mgmt.compute import ComputeManagementClient

from backup.credentials import StaticTokenCredential
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration
FREE_PORTS = (
    "--arm-port",
    "0",
    "--azurite-blob-port",
    "0",
    "--azurite-queue-port",
    "0",
    "--azurite-table-port",
    "0",
)


def _read_announcement(process: subprocess.Popen[str], deadline: float) -> dict[str, str]:
    values: dict[str, str] = {}
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("Press Ctrl-C"):
            return values
        name, sep, value = line.strip().partition(": ")
        if sep and " " not in name:
            values[name] = value
    raise AssertionError(f"make run did not announce itself; got {values}")


def _port_open(url: str) -> bool:
    host, port = url.split("://")[1].split("/")[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def test_make_run_serves_seeded_emulator_and_azurite_then_stops_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run", *FREE_PORTS],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found = _read_announcement(process, time.monotonic() + 60)
        assert {
            "arm_url",
            "ca_bundle",
            "subscription_id",
            "arm_token",
            "storage_connection_string",
        } <= found.keys()

        with ComputeManagementClient(
            StaticTokenCredential(found["arm_token"]),
            found["subscription_id"],
            base_url=found["arm_url"],
            connection_verify=found["ca_bundle"],
            credential_scopes=["https://management.azure.com/.default"],
        ) as compute:
            disks = list(compute.disks.list_by_resource_group("rg-prod-vms"))
        assert {disk.sku.name for disk in disks} >= {"Premium_LRS", "PremiumV2_LRS"}

        tables = TableServiceClient.from_connection_string(found["storage_connection_string"])
        tables.create_table("makeRunSmoke")
        assert "makeRunSmoke" in [table.name for table in tables.list_tables()]

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not _port_open(found["arm_url"])
        table_endpoint = found["storage_connection_string"].split("TableEndpoint=")[1].split(";")[0]
        assert not _port_open(table_endpoint)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
