"""The admin API, state persistence, and the standalone ``python -m localdev.compute_emulator``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient

from localdev.compute_emulator import AdminClient, AdminError, EmulatorServer

from .conftest import APP, SCOPES, SUB, TEST_SEED, Emu, StaticTokenCredential, disk_id, snapshot_id
from .helpers import take_snapshot

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEMO_SEED = PROJECT_ROOT / "localdev" / "seed.json"


def test_admin_content_clock_config_and_errors(emu: Emu, compute: ComputeManagementClient) -> None:
    admin = emu.admin
    source = disk_id("rg-src", "d-std")
    assert admin.read_content(source) == "std-v1"
    admin.write_disk(source, "written")
    assert admin.read_content(source) == "written"
    snap = take_snapshot(compute, "rg-snap", "s", source)
    with pytest.raises(AdminError) as info:
        admin.write_disk(snap.id, "nope")
    assert info.value.status == 400
    with pytest.raises(AdminError) as info:
        admin.read_content(disk_id("rg-src", "missing"))
    assert info.value.status == 404

    before = admin.clock()
    assert before["offsetSeconds"] == 0
    after = admin.set_clock_offset(3600)
    assert after["offsetSeconds"] == 3600
    assert after["now"] > before["now"]
    assert admin.advance_clock(10)["offsetSeconds"] == 3610

    assert admin.configure(pageSize=5)["pageSize"] == 5
    with pytest.raises(AdminError):
        admin.configure(pagesize=5)  # unknown key
    with pytest.raises(AdminError):
        admin.set_faults([{"operation": "*", "error500": 2}])

    counters = admin.counters()
    assert counters["byOperation"]["Snapshots_CreateOrUpdate"] == 1
    admin.reset_counters()
    assert admin.counters()["total"] == 0

    # reset restores the session config, the clock and an empty fault set
    admin.set_faults([{"operation": "*", "error500": 0.0}], seed=3, latency_ms=1)
    admin.reset(TEST_SEED)
    assert admin.config()["pageSize"] == 3
    assert admin.clock()["offsetSeconds"] == 0
    assert admin.call("GET", "/faults")["rules"] == []
    assert admin.read_content(source) == "std-v1"


def test_admin_principals_roles_and_state_dump(emu: Emu) -> None:
    admin = emu.admin
    admin.add_principal("a0000000-0000-4000-8000-0000000000c1", "new-token")
    admin.grant("a0000000-0000-4000-8000-0000000000c1", "disk backup reader", f"/subscriptions/{SUB}")
    assignments = admin.role_assignments()
    expected = {
        "principalId": "a0000000-0000-4000-8000-0000000000c1",
        "role": "Disk Backup Reader",
        "roleDefinitionId": "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24",
        "scope": f"/subscriptions/{SUB}",
    }
    assert expected in assignments
    with pytest.raises(AdminError):
        admin.grant(APP, "Global Administrator", f"/subscriptions/{SUB}")
    with pytest.raises(AdminError) as info:
        admin.revoke(APP, "Owner", f"/subscriptions/{SUB}")
    assert info.value.status == 404
    state = admin.state()
    assert state["format"] == "compute-emulator-state/1"
    disks = [r for r in state["resources"] if r["kind"] == "disks"]
    assert len(disks) == 12
    assert {"id": "a0000000-0000-4000-8000-0000000000c1", "token": "new-token"} in [
        {"id": doc["id"], "token": doc.get("token")} for doc in state["principals"]
    ]


def test_state_file_round_trip_in_process(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    config = {"retryAfterAcceptedSeconds": 0, "retryAfterPollSeconds": 0}
    with EmulatorServer(TEST_SEED, config=config, state_file=state_file) as emu:
        emu.admin.write_disk(disk_id("rg-src", "d-std"), "persisted")
        with _client(emu.url, emu.ca_bundle) as client:
            take_snapshot(client, "rg-snap", "kept", disk_id("rg-src", "d-std"))
        assert Path(emu.admin.save()) == state_file
    saved = json.loads(state_file.read_text())
    assert any(r["name"] == "kept" for r in saved["resources"])
    with EmulatorServer(None, config=config, state_file=state_file) as emu:  # the state file wins
        assert emu.admin.read_content(snapshot_id("rg-snap", "kept")) == "persisted"
        with _client(emu.url, emu.ca_bundle) as client:
            assert client.snapshots.get("rg-snap", "kept").provisioning_state == "Succeeded"
            take_snapshot(client, "rg-snap", "kept-2", disk_id("rg-src", "d-std"))


def _client(url: str, ca_bundle: str, token: str = "app-token", sub: str = SUB) -> ComputeManagementClient:
    return ComputeManagementClient(
        StaticTokenCredential(token),
        sub,
        base_url=url,
        connection_verify=ca_bundle,
        credential_scopes=SCOPES,
        polling_interval=0,
    )


def _first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert result, "the emulator printed no ready line"
    assert result[0], "the emulator closed stdout without a ready line"
    ready: dict[str, Any] = json.loads(result[0])
    return ready


def test_standalone_process_prints_ready_line_serves_and_stops(tmp_path: Path) -> None:
    seed = json.loads(DEMO_SEED.read_text())
    sub = seed["subscriptions"][0]["id"]
    token = seed["principals"][0]["token"]
    state_file = tmp_path / "state.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.compute_emulator", "--port", "0", "--seed", str(DEMO_SEED),
         "--cert-dir", str(tmp_path / "certs"), "--state", str(state_file)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = _first_line(process)
        assert ready["url"].startswith("https://127.0.0.1:")
        assert not ready["url"].endswith("/")
        assert ready["admin_url"] == ready["url"] + "/_admin"
        assert Path(ready["ca_bundle"]).is_file()
        with _client(ready["url"], ready["ca_bundle"], token, sub) as client:
            disk = client.disks.get("rg-prod-vms", "vm-web-01-osdisk")
            assert disk.sku.name == "Premium_LRS"
            assert disk.zones == ["1"]
        AdminClient(ready["admin_url"], ready["ca_bundle"]).write_disk(disk.id, "written before shutdown")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    saved = json.loads(state_file.read_text())
    [written] = [r for r in saved["resources"] if r["name"] == "vm-web-01-osdisk"]
    assert written["content"] == "written before shutdown"
