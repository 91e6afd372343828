"""``make run`` starts the whole stack, the README's walkthroughs work against it as written,
and Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from localdev.compute_emulator import AdminClient
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


def _call(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            return answer.status, dict(answer.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


def _error_of(url: str, body: Any) -> dict[str, Any]:
    """The ARM error a POST ends with: at once (4xx) or through its long-running operation."""
    status, headers, answer = _call("POST", url, body)
    if status == 202:
        _, _, operation = _call("GET", headers["Azure-AsyncOperation"])
        assert operation["status"] == "Failed", operation
        error: dict[str, Any] = operation["error"]
        return error
    assert 400 <= status < 500, (status, answer)
    return dict(answer["error"])


def refusals_name_the_missing_role_and_an_existing_target_is_a_conflict(found: dict[str, str]) -> None:
    api, sub = found["api_base_url"], found["subscription_id"]
    provider = f"{api}/subscriptions/{sub}/resourceGroups/rg-backup/providers/Microsoft.DataProtection"
    vault = f"{provider}/backupVaults/demo-vault"
    disk = (
        f"/subscriptions/{sub}/resourceGroups/rg-prod-vms/providers/Microsoft.Compute/disks/vm-batch-01-data"
    )
    admin = AdminClient(found["arm_admin_url"], found["ca_bundle"])
    app = next(p["id"] for p in admin.state()["principals"] if p["accessToken"] == found["arm_token"])
    instance = {
        "objectType": "BackupInstance",
        "dataSourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": disk,
            "resourceName": "vm-batch-01-data",
            "resourceType": "Microsoft.Compute/disks",
            "resourceLocation": "eastus",
            "resourceUri": "",
        },
        "policyInfo": {
            "policyId": vault.removeprefix(api) + "/backupPolicies/every-4h",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": f"/subscriptions/{sub}/resourceGroups/rg-backup-snapshots-eastus",
                    }
                ]
            },
        },
    }
    validate_backup = f"{vault}/validateForBackup?api-version=2026-06-01"
    for role, scope in (
        ("Disk Backup Reader", f"/subscriptions/{sub}/resourceGroups/rg-prod-vms"),
        ("Disk Snapshot Contributor", f"/subscriptions/{sub}/resourceGroups/rg-backup-snapshots-eastus"),
    ):
        admin.revoke(app, role, scope)
        try:
            error = _error_of(validate_backup, {"backupInstance": instance})
        finally:
            admin.grant(app, role, scope)
        assert error["code"] == "UserErrorMissingRequiredPermissions", error
        assert role in error["message"]
        assert scope.lower() in error["message"].lower()

    _, _, points = _call(
        "GET", f"{vault}/backupInstances/vm-web-01-data/recoveryPoints?api-version=2026-06-01"
    )
    restore = {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "sourceDataStoreType": "OperationalStore",
        "recoveryPointId": points["value"][0]["properties"]["recoveryPointId"],
        "restoreTargetInfo": {
            "objectType": "RestoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": "eastus",
            "datasourceInfo": {
                "objectType": "Datasource",
                "datasourceType": "Microsoft.Compute/disks",
                "resourceID": f"/subscriptions/{sub}/resourceGroups/rg-restore/providers/Microsoft.Compute"
                "/disks/vm-web-01-data-restored",
                "resourceName": "vm-web-01-data-restored",
                "resourceType": "Microsoft.Compute/disks",
                "resourceLocation": "eastus",
                "resourceUri": "",
            },
        },
    }
    # The walkthrough already restored to this name: FailIfExists refuses with 409.
    status, _, answer = _call(
        "POST", f"{vault}/backupInstances/vm-web-01-data/restore?api-version=2026-06-01", restore
    )
    assert status == 409, answer
    assert answer["error"]["code"] == "UserErrorSameNameDiskAlreadyExists"

    restore_scope = f"/subscriptions/{sub}/resourceGroups/rg-restore"
    admin.revoke(app, "Disk Restore Operator", restore_scope)
    try:
        retarget = json.loads(json.dumps(restore).replace("vm-web-01-data-restored", "vm-web-01-data-second"))
        error = _error_of(
            f"{vault}/backupInstances/vm-web-01-data/validateRestore?api-version=2026-06-01",
            {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": retarget},
        )
    finally:
        admin.grant(app, "Disk Restore Operator", restore_scope)
    assert error["code"] == "UserErrorNotEnoughPermissionOnTargetRG", error
    assert "Disk Restore Operator" in error["message"]


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
        admin = AdminClient(found["arm_admin_url"], found["ca_bundle"])
        disks = f"/subscriptions/{found['subscription_id']}/resourceGroups"
        source = f"{disks}/rg-prod-vms/providers/Microsoft.Compute/disks/vm-web-01-data"
        restored = f"{disks}/rg-restore/providers/Microsoft.Compute/disks/vm-web-01-data-restored"
        admin.write_disk(source, "web data as backed up")
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
        # Both waits show they are under way before their outcome.
        assert len(re.findall(r"^job \S+: running\.*\njob \S+: Completed$", output, re.M)) == 2, output
        assert "newest recovery point: " in output
        assert "Backup Completed" in output
        assert "Restore Completed" in output
        assert "vm-web-01-data Healthy" in output
        # The seeded demo: days of history, one disk deleted (failing), one instance suspended.
        assert "reports-01 Unhealthy" in output
        assert "analytics-scratch Inactive" in output
        assert "vm-web-01-osdisk Healthy" in output
        # The restored disk holds exactly what the source held when the recovery point was taken.
        admin.write_disk(source, "web data changed later")
        assert admin.read_content(restored) == "web data as backed up"

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

        # As make run printed it, pasted into a shell where API and SUB were never exported.
        pasted = re.search(r"^\S+ - <<'PY'\n.*?\nPY$", printed, re.M | re.S)
        assert pasted, printed
        bare = {name: value for name, value in os.environ.items() if name not in ("API", "SUB")}
        printed_sdk = subprocess.run(
            ["bash", "-c", pasted.group(0)], env=bare, capture_output=True, text=True, timeout=120
        )
        assert printed_sdk.returncode == 0, printed_sdk.stdout + printed_sdk.stderr
        assert "demo-vault provisioningstate.succeeded" in printed_sdk.stdout.lower()
        assert "on-demand backup job " in printed_sdk.stdout

        refusals_name_the_missing_role_and_an_existing_target_is_a_conflict(found)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        for url in (found["api_base_url"], found["arm_url"]):
            assert not _port_open(url), f"{url} still answers after Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_make_run_with_an_accelerated_clock_takes_scheduled_backups() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run", *FREE_PORTS, "--speed", "3600"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found, _ = _read_announcement(process, time.monotonic() + 120)
        env = {**os.environ, "API": found["api_base_url"], "SUB": found["subscription_id"]}
        # Steps 1-3 of the walkthrough: a vault, the every-4-hours policy, two protected disks.
        setup = _readme_block("walkthrough", "bash").split("# 4.", 1)[0]
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", setup], env=env, capture_output=True, text=True
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr

        api, sub = found["api_base_url"], found["subscription_id"]
        provider = f"{api}/subscriptions/{sub}/resourceGroups/rg-backup/providers/Microsoft.DataProtection"
        points_url = f"{provider}/backupVaults/demo-vault/backupInstances/vm-web-01-data/recoveryPoints"
        scheduled: list[Any] = []
        deadline = time.monotonic() + 60
        # An hour of product time passes every real second: 4-hourly slots come every 4 s.
        while time.monotonic() < deadline and len(scheduled) < 3:
            _, _, points = _call("GET", points_url + "?api-version=2026-06-01")
            scheduled = [
                point for point in points["value"] if point["properties"]["retentionTagName"] == "Default"
            ]
            time.sleep(0.5)
        assert len(scheduled) >= 3, scheduled
        times = sorted(point["properties"]["recoveryPointTime"] for point in scheduled)
        assert len(set(times)) == len(times), "one recovery point per slot"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
