"""Long-running operations (both monitor URLs), throttling and injected faults."""

from __future__ import annotations

import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient as AioComputeManagementClient

from .conftest import SUB, Emu, disk_id, snapshot_id
from .helpers import error_code, raw, snapshot_body, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration


def _path(emu: Emu, url: str) -> str:
    assert url.startswith(emu.url + "/")
    return url[len(emu.url) :]


def test_lro_in_progress_then_done_on_both_monitors(emu: Emu, compute: ComputeManagementClient) -> None:
    emu.admin.configure(lroDurationSeconds=30)
    target = snapshot_id("rg-snap", "slow")
    body = snapshot_json(disk_id("rg-src", "d-std"), incremental=True)
    accepted = raw(compute, "PUT", target, body)
    assert accepted.status_code == 202
    assert accepted.json()["properties"]["provisioningState"] == "Updating"
    async_url = accepted.headers["Azure-AsyncOperation"]
    location = accepted.headers["Location"]
    parsed = urllib.parse.urlsplit(location)
    query = urllib.parse.parse_qs(parsed.query)
    assert query["monitor"] == ["true"]
    assert query["api-version"] == ["2026-03-02"]
    assert parsed.path == urllib.parse.urlsplit(async_url).path
    assert f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/DiskOperations/" in parsed.path

    # While it runs: GET shows Updating, lists include it, a re-PUT joins the same operation.
    assert raw(compute, "GET", target).json()["properties"]["provisioningState"] == "Updating"
    assert [s.name for s in compute.snapshots.list_by_resource_group("rg-snap")] == ["slow"]
    again = raw(compute, "PUT", target, body)
    assert again.status_code == 202
    assert again.headers["Azure-AsyncOperation"] == async_url

    status = raw(compute, "GET", _path(emu, async_url), api_version=None)
    assert status.status_code == 200
    assert set(status.json()) == {"name", "startTime", "status"}
    assert status.json()["status"] == "InProgress"
    monitor = raw(compute, "GET", _path(emu, location), api_version=None)
    assert monitor.status_code == 202
    assert monitor.text() == ""

    emu.admin.advance_clock(31)
    done = raw(compute, "GET", _path(emu, async_url), api_version=None).json()
    assert done["status"] == "Succeeded"
    assert done["properties"]["output"]["properties"]["provisioningState"] == "Succeeded"
    assert "endTime" in done
    final = raw(compute, "GET", _path(emu, location), api_version=None)
    assert final.status_code == 200
    assert final.json()["id"] == target


def test_lro_failure_surfaces_the_code_sync_and_leaves_a_failed_snapshot(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.set_faults([{"operation": "Snapshots_CreateOrUpdate", "lroFailed": 1.0}], seed=1)
    with pytest.raises(HttpResponseError) as info:
        take_snapshot(compute, "rg-snap", "broken", disk_id("rg-src", "d-std"))
    assert error_code(info.value) == "InternalExecutionError"
    emu.admin.clear_faults()
    assert compute.snapshots.get("rg-snap", "broken").provisioning_state == "Failed"
    assert emu.admin.counters()["faults"] == {"lroFailed": 1}


async def test_lro_failure_surfaces_the_code_aio(emu: Emu, aio_compute: AioComputeManagementClient) -> None:
    emu.admin.set_faults(
        [{"operation": "Snapshots_Delete", "lroFailed": 1.0, "lroFailedCode": "SnapshotDeleteFailed"}]
    )
    poller = await aio_compute.snapshots.begin_create_or_update(
        "rg-snap", "keep", snapshot_body(disk_id("rg-src", "d-std"))
    )
    await poller.result()
    poller = await aio_compute.snapshots.begin_delete("rg-snap", "keep")
    with pytest.raises(HttpResponseError) as info:
        await poller.result()
    assert error_code(info.value) == "SnapshotDeleteFailed"
    assert (await aio_compute.snapshots.get("rg-snap", "keep")).provisioning_state == "Succeeded"


def test_failed_lro_on_the_location_monitor_is_the_synchronous_error(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.set_faults(
        [{"operation": "*", "lroFailed": 1.0, "lroFailedCode": "Boom", "lroFailedStatus": 409}]
    )
    accepted = raw(compute, "PUT", snapshot_id("rg-snap", "x"), snapshot_json(disk_id("rg-src", "d-std")))
    monitor = raw(compute, "GET", _path(emu, accepted.headers["Location"]), api_version=None)
    assert monitor.status_code == 409
    assert monitor.json()["error"]["code"] == "Boom"
    status = raw(compute, "GET", _path(emu, accepted.headers["Azure-AsyncOperation"]), api_version=None)
    assert status.status_code == 200
    assert status.json()["status"] == "Failed"
    assert status.json()["error"]["code"] == "Boom"


def test_subscription_throttling_429_is_retried_by_the_sdk(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.configure(throttle={"reads": {"capacity": 1, "refillPerSecond": 2}, "minRetryAfterSeconds": 0})
    refused = None
    for _ in range(3):
        response = raw(compute, "GET", disk_id("rg-src", "d-std"), retry_total=0)
        if response.status_code == 429:
            refused = response
            break
    assert refused is not None
    assert refused.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"

    # The SDK's retry policy honours Retry-After and succeeds once a token is back.
    assert compute.disks.get("rg-src", "d-std").name == "d-std"
    assert compute.disks.get("rg-src", "d-std").name == "d-std"
    assert emu.admin.counters()["throttled"] >= 2


def test_throttling_can_be_disabled(emu: Emu, compute: ComputeManagementClient) -> None:
    emu.admin.configure(throttle={"enabled": False, "reads": {"capacity": 1, "refillPerSecond": 0}})
    for _ in range(5):
        assert raw(compute, "GET", disk_id("rg-src", "d-std"), retry_total=0).status_code == 200


def test_injected_faults_are_answered_and_counted(emu: Emu, compute: ComputeManagementClient) -> None:
    path = disk_id("rg-src", "d-std")
    emu.admin.set_faults([{"operation": "Disks_Get", "throttle429": 1.0, "retryAfterSeconds": 0}])
    response = raw(compute, "GET", path, retry_total=0)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert response.headers["Retry-After"] == "0"

    emu.admin.set_faults([{"operation": "Disks_Get", "error500": 1.0}])
    response = raw(compute, "GET", path, retry_total=0)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServerError"

    emu.admin.set_faults([{"operation": "Disks_Get", "connectionReset": 1.0}])
    with pytest.raises(ServiceResponseError):
        raw(compute, "GET", path, retry_total=0)

    # Other operations are untouched, and a fault with probability < 1 lets the SDK retry through.
    assert raw(
        compute, "GET", f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks"
    )
    emu.admin.set_faults([{"operation": "Disks_Get", "error500": 0.5}], seed=7)
    assert compute.disks.get("rg-src", "d-std", retry_backoff_factor=0).name == "d-std"

    counters = emu.admin.counters()
    assert counters["faults"]["throttle429"] == 1
    assert counters["faults"]["connectionReset"] == 1
    assert counters["faults"]["error500"] >= 1
    assert counters["byOperation"]["Disks_Get"] >= 4
    assert counters["total"] == sum(counters["byMethod"].values())


def test_every_arm_response_carries_request_ids_and_rate_limit_headers(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    cases = [
        ("GET", disk_id("rg-src", "d-std"), None, "reads", "GetDisk"),
        ("GET", disk_id("rg-src", "nope"), None, "reads", "GetDisk"),
        ("PUT", snapshot_id("rg-snap", "h"), snapshot_json(disk_id("rg-src", "d-std")), "writes",
         "CreateUpdateSnapshots"),
        ("DELETE", snapshot_id("rg-snap", "h"), None, "deletes", "DeleteSnapshots"),
    ]  # fmt: skip
    for method, path, body, category, bucket in cases:
        response = raw(compute, method, path, body, headers={"x-ms-correlation-request-id": "corr-1"})
        assert response.headers["x-ms-request-id"]
        assert response.headers["x-ms-correlation-request-id"] == "corr-1"
        assert int(response.headers[f"x-ms-ratelimit-remaining-subscription-{category}"]) >= 0
        assert f"Microsoft.Compute/{bucket}3Min;" in response.headers["x-ms-ratelimit-remaining-resource"]
