"""Realistic LRO timing (``lroMinInProgressPolls``) and the operation status' ``properties.output``,
which lets a client finish a snapshot from its polls without another GET."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpResponse
from azure.mgmt.compute import ComputeManagementClient

from .conftest import APP, Emu, disk_id, snapshot_id
from .helpers import raw, restore_body, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration

DISK = disk_id("rg-src", "d-std")


def _path(emu: Emu, url: str) -> str:
    assert url.startswith(emu.url + "/")
    return url[len(emu.url) :]


def _poll(emu: Emu, client: ComputeManagementClient, accepted: HttpResponse, view: str) -> HttpResponse:
    return raw(client, "GET", _path(emu, accepted.headers[view]), api_version=None)


def test_a_client_honouring_retry_after_sees_202_in_progress_then_succeeded(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.configure(retryAfterAcceptedSeconds=2, retryAfterPollSeconds=10, lroMinInProgressPolls=1)
    emu.admin.reset_counters()
    accepted = raw(compute, "PUT", snapshot_id("rg-snap", "paced"), snapshot_json(DISK, incremental=True))
    assert accepted.status_code == 202
    assert accepted.headers["Retry-After"] == "2"

    emu.admin.advance_clock(2)
    first = _poll(emu, compute, accepted, "Azure-AsyncOperation")
    assert first.json()["status"] == "InProgress"
    assert first.headers["Retry-After"] == "10"
    assert "properties" not in first.json()

    emu.admin.advance_clock(10)
    second = _poll(emu, compute, accepted, "Azure-AsyncOperation")
    assert second.headers.get("Retry-After") is None
    body = second.json()
    assert body["status"] == "Succeeded"
    snapshot = raw(compute, "GET", snapshot_id("rg-snap", "paced")).json()
    assert body["properties"]["output"] == snapshot
    assert snapshot["properties"]["provisioningState"] == "Succeeded"
    assert emu.admin.counters()["byPrincipal"][APP]["byOperation"]["DiskOperations_Get"] == 2


def test_the_first_poll_after_retry_after_is_in_progress_however_late_it_comes(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.configure(retryAfterAcceptedSeconds=2, lroMinInProgressPolls=1)
    accepted = raw(compute, "PUT", snapshot_id("rg-snap", "late"), snapshot_json(DISK))
    # A poll before Retry-After is up answers InProgress without counting towards the minimum.
    assert _poll(emu, compute, accepted, "Azure-AsyncOperation").json()["status"] == "InProgress"
    emu.admin.advance_clock(600)
    assert raw(compute, "GET", snapshot_id("rg-snap", "late")).json()["properties"]["provisioningState"] == (
        "Updating"
    )
    late = _poll(emu, compute, accepted, "Location")
    assert late.status_code == 202  # the Location view answers "still running" the same way
    done = _poll(emu, compute, accepted, "Azure-AsyncOperation").json()
    assert done["status"] == "Succeeded"
    assert _poll(emu, compute, accepted, "Location").json()["id"] == snapshot_id("rg-snap", "late")


def test_time_still_governs_when_the_operation_is_longer(emu: Emu, compute: ComputeManagementClient) -> None:
    emu.admin.configure(lroDurationSeconds=30, lroMinInProgressPolls=1)
    accepted = raw(compute, "PUT", snapshot_id("rg-snap", "long"), snapshot_json(DISK))
    emu.admin.advance_clock(5)
    assert _poll(emu, compute, accepted, "Azure-AsyncOperation").json()["status"] == "InProgress"
    assert _poll(emu, compute, accepted, "Azure-AsyncOperation").json()["status"] == "InProgress"
    emu.admin.advance_clock(30)
    assert _poll(emu, compute, accepted, "Azure-AsyncOperation").json()["status"] == "Succeeded"


def test_the_sdk_poller_completes_with_a_mandatory_in_progress_poll(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.configure(lroMinInProgressPolls=1)
    snap = take_snapshot(compute, "rg-snap", "sdk", DISK)
    assert snap.provisioning_state == "Succeeded"
    disk = compute.disks.begin_create_or_update(
        "rg-restore", "restored", restore_body(snapshot_id("rg-snap", "sdk"))
    ).result()
    assert disk.provisioning_state == "Succeeded"


def test_disk_put_status_carries_the_disk_as_output(emu: Emu, compute: ComputeManagementClient) -> None:
    take_snapshot(compute, "rg-snap", "src", DISK)
    creation = {"createOption": "Copy", "sourceResourceId": snapshot_id("rg-snap", "src")}
    body = {"location": "eastus", "sku": {"name": "Standard_LRS"}, "properties": {"creationData": creation}}
    accepted = raw(compute, "PUT", disk_id("rg-restore", "from-snap"), body)
    assert accepted.status_code == 202
    status = _poll(emu, compute, accepted, "Azure-AsyncOperation").json()
    assert status["status"] == "Succeeded"
    assert status["properties"]["output"] == raw(compute, "GET", disk_id("rg-restore", "from-snap")).json()


def test_delete_status_has_no_output(emu: Emu, compute: ComputeManagementClient) -> None:
    take_snapshot(compute, "rg-snap", "gone", DISK)
    accepted = raw(compute, "DELETE", snapshot_id("rg-snap", "gone"))
    assert accepted.status_code == 202
    status = _poll(emu, compute, accepted, "Azure-AsyncOperation").json()
    assert status["status"] == "Succeeded"
    assert "properties" not in status


def test_incremental_snapshots_name_their_source_and_share_the_disk_family(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    disk = compute.disks.get("rg-src", "d-std")
    first = take_snapshot(compute, "rg-snap", "f1", DISK)
    second = take_snapshot(compute, "rg-snap", "f2", DISK)
    other = take_snapshot(compute, "rg-snap", "o1", disk_id("rg-src", "d-prem"))
    for snap in (first, second):
        assert snap.creation_data.source_resource_id == DISK
        assert snap.creation_data.source_unique_id == disk.unique_id
    assert first.incremental_snapshot_family_id
    assert first.incremental_snapshot_family_id == second.incremental_snapshot_family_id
    assert other.incremental_snapshot_family_id != first.incremental_snapshot_family_id
