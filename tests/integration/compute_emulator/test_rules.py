"""Rules DiskRP and ARM enforce, with their error codes: limits, regions, subscriptions, names,
api-versions, background copy, CopyStart, missing things."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient

from .conftest import OWNER, SUB, SUB_B, Emu, disk_id, rg_id, snapshot_id
from .helpers import error_code, raw, restore_body, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration


def test_at_most_n_incremental_snapshots_per_disk_at_any_time(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    emu.admin.configure(maxIncrementalSnapshotsPerDisk=3)
    source = disk_id("rg-src", "d-std")
    for i in range(3):
        take_snapshot(compute, "rg-snap", f"n-{i}", source)
    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "n-3", source)
    assert info.value.status_code == 409
    assert error_code(info.value) == "SnapshotsLimitReached"
    # Other disks are not affected; deleting an old snapshot makes room again.
    take_snapshot(compute, "rg-snap", "other", disk_id("rg-src", "d-prem"))
    compute.snapshots.begin_delete("rg-snap", "n-0").result()
    take_snapshot(compute, "rg-snap", "n-3", source)


def test_the_default_limit_is_500(emu: Emu) -> None:
    assert emu.admin.config()["maxIncrementalSnapshotsPerDisk"] == 500


def test_seven_incremental_snapshots_per_disk_per_five_minutes(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    source = disk_id("rg-src", "d-std")
    for i in range(7):
        take_snapshot(compute, "rg-snap", f"r-{i}", source)
    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "r-7", source)
    assert error_code(info.value) == "OperationNotAllowed"
    assert "7 incremental snapshots" in info.value.error.message
    # Deleting does not give the rate back: the window is about creations.
    compute.snapshots.begin_delete("rg-snap", "r-0").result()
    with pytest.raises(ResourceExistsError):
        take_snapshot(compute, "rg-snap", "r-7", source)
    # Full snapshots are not limited by it.
    take_snapshot(compute, "rg-snap", "full", source, incremental=False)
    emu.admin.advance_clock(301)
    take_snapshot(compute, "rg-snap", "r-7", source)


def test_incremental_snapshot_only_in_the_disks_subscription(emu: Emu) -> None:
    with emu.client(OWNER, subscription=SUB_B) as other_sub:
        with pytest.raises(HttpResponseError) as info:
            take_snapshot(other_sub, "rg-other", "x-sub", disk_id("rg-src", "d-std"))
        assert info.value.status_code == 400
        assert error_code(info.value) == "BadRequest"
        assert "subscription" in info.value.error.message
        # A full snapshot may be made in another subscription.
        take_snapshot(other_sub, "rg-other", "x-sub-full", disk_id("rg-src", "d-std"), incremental=False)


def test_incremental_snapshot_only_in_the_disks_region(emu: Emu, compute: ComputeManagementClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        take_snapshot(compute, "rg-snap-west", "x-region", disk_id("rg-src", "d-std"), location="westus2")
    assert info.value.status_code == 400
    assert error_code(info.value) == "BadRequest"
    assert "CopyStart" in info.value.error.message


@pytest.mark.parametrize(
    "name", ["-lead", "trail-", "trail.", "has space", "a" * 81, "sl@sh", "ünicode", "dot.end."]
)
def test_invalid_names_are_refused(compute: ComputeManagementClient, name: str) -> None:
    response = raw(compute, "PUT", snapshot_id("rg-snap", name), snapshot_json(disk_id("rg-src", "d-std")))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidResourceName"


def test_valid_edge_names_are_accepted(compute: ComputeManagementClient) -> None:
    for name in ["a", "A" * 80, "x_", "a.b-c_d", "9"]:
        take_snapshot(compute, "rg-snap", name, disk_id("rg-src", "d-std"), incremental=False)


def test_api_version_missing_unknown_or_malformed(compute: ComputeManagementClient) -> None:
    path = disk_id("rg-src", "d-std")
    missing = raw(compute, "GET", path, api_version=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    unknown = raw(compute, "GET", path, api_version="2099-01-01")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "NoRegisteredProviderFound"
    malformed = raw(compute, "GET", path, api_version="latest")
    assert malformed.json()["error"]["code"] == "InvalidApiVersionParameter"
    with pytest.raises(HttpResponseError) as info:
        compute.disks.get("rg-src", "d-std", api_version="2019-01-01")
    assert error_code(info.value) == "NoRegisteredProviderFound"
    assert raw(compute, "GET", path, api_version="2024-03-02").status_code == 200


def test_missing_subscription_group_and_resource(emu: Emu, compute: ComputeManagementClient) -> None:
    with emu.client(OWNER, subscription="cccccccc-0000-4000-8000-000000000003") as unknown_sub:
        with pytest.raises(ResourceNotFoundError) as info:
            unknown_sub.disks.get("rg-src", "d-std")
        assert error_code(info.value) == "SubscriptionNotFound"
    with emu.client(OWNER) as owner:
        with pytest.raises(ResourceNotFoundError) as info:
            owner.disks.get("rg-nope", "d-std")
        assert error_code(info.value) == "ResourceGroupNotFound"
        with pytest.raises(ResourceNotFoundError) as info:
            owner.disks.get("rg-src", "d-nope")
        assert error_code(info.value) == "ResourceNotFound"
        with pytest.raises(ResourceNotFoundError) as info:
            list(owner.snapshots.list_by_resource_group("rg-nope"))
        assert error_code(info.value) == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as info:
        take_snapshot(compute, "rg-snap", "from-nothing", disk_id("rg-src", "d-nope"))
    assert error_code(info.value) == "NotFound"


def test_premium_v2_snapshot_restores_only_after_background_copy(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    source = disk_id("rg-src", "d-v2")
    snap = take_snapshot(compute, "rg-snap", "v2-1", source)
    assert snap.completion_percent < 50  # just started (real time moves the copy a little too)
    emu.admin.advance_clock(30)
    # Half the copy time has passed on the emulator clock, plus whatever real time the test took.
    assert 50 <= compute.snapshots.get("rg-snap", "v2-1").completion_percent < 100
    with pytest.raises(ResourceExistsError) as info:
        compute.disks.begin_create_or_update("rg-restore", "too-early", restore_body(snap.id)).result()
    assert error_code(info.value) == "OperationNotAllowed"
    assert "completionPercent" in info.value.error.message
    emu.admin.advance_clock(30)
    assert compute.snapshots.get("rg-snap", "v2-1").completion_percent == 100
    restored = compute.disks.begin_create_or_update(
        "rg-restore", "in-time", restore_body(snap.id, sku="PremiumV2_LRS")
    ).result()
    assert emu.admin.read_content(restored.id) == "v2-v1"
    # Snapshots of other disk types report 100 at once.
    assert take_snapshot(compute, "rg-snap", "std-1", disk_id("rg-src", "d-std")).completion_percent == 100


def test_premium_v2_and_ultra_rules(emu: Emu, compute: ComputeManagementClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        take_snapshot(compute, "rg-snap", "full-v2", disk_id("rg-src", "d-ultra"), incremental=False)
    assert error_code(info.value) == "BadRequest"
    for i in range(3):
        take_snapshot(compute, "rg-snap", f"u-{i}", disk_id("rg-src", "d-ultra"))
    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "u-3", disk_id("rg-src", "d-ultra"))
    assert "pending" in info.value.error.message
    emu.admin.advance_clock(60)
    take_snapshot(compute, "rg-snap", "u-3", disk_id("rg-src", "d-ultra"))


def test_copy_start_to_another_region(emu: Emu, compute: ComputeManagementClient) -> None:
    local = take_snapshot(compute, "rg-snap", "east-1", disk_id("rg-src", "d-std"))
    copied = take_snapshot(
        compute, "rg-snap-west", "west-1", local.id, location="westus2", option="CopyStart"
    )
    assert copied.location == "westus2"
    assert copied.incremental is True
    assert copied.creation_data.create_option == "CopyStart"
    assert copied.creation_data.source_resource_id == local.id
    assert copied.incremental_snapshot_family_id == local.incremental_snapshot_family_id
    assert copied.completion_percent < 50  # just started
    assert emu.admin.read_content(copied.id) == "std-v1"

    with pytest.raises(ResourceExistsError):  # one copy per disk at a time
        take_snapshot(compute, "rg-snap-west", "west-2", local.id, location="westus2", option="CopyStart")
    full = take_snapshot(compute, "rg-snap", "full", disk_id("rg-src", "d-std"), incremental=False)
    with pytest.raises(HttpResponseError) as info:  # only incremental snapshots can be copied
        take_snapshot(compute, "rg-snap-west", "west-3", full.id, location="westus2", option="CopyStart")
    assert error_code(info.value) == "BadRequest"

    emu.admin.advance_clock(60)
    assert compute.snapshots.get("rg-snap-west", "west-1").completion_percent == 100
    with emu.client(OWNER) as owner:
        owner.disks.begin_create_or_update(
            "rg-restore", "west-restored", restore_body(copied.id, location="westus2")
        ).result()
        with pytest.raises(HttpResponseError) as info:  # a restore lands in the snapshot's region
            owner.disks.begin_create_or_update("rg-restore", "wrong", restore_body(copied.id)).result()
        assert error_code(info.value) == "BadRequest"


def test_copy_start_fails_when_its_source_is_deleted_mid_copy(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    local = take_snapshot(compute, "rg-snap", "east-1", disk_id("rg-src", "d-std"))
    take_snapshot(compute, "rg-snap-west", "west-1", local.id, location="westus2", option="CopyStart")
    compute.snapshots.begin_delete("rg-snap", "east-1").result()
    copied = raw(compute, "GET", snapshot_id("rg-snap-west", "west-1")).json()
    assert copied["properties"]["copyCompletionError"]["errorCode"] == "CopySourceNotFound"
    assert copied["properties"]["completionPercent"] < 100


def test_restore_must_not_be_smaller_than_the_snapshot(compute: ComputeManagementClient) -> None:
    snap = take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-prem"))
    body = restore_body(snap.id)
    body.disk_size_gb = 32
    with pytest.raises(HttpResponseError) as info:
        compute.disks.begin_create_or_update("rg-restore", "small", body).result()
    assert error_code(info.value) == "BadRequest"


def test_reput_to_another_location_and_delete_while_creating(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-std"))
    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-std"), location="westus")
    assert error_code(info.value) == "InvalidResourceLocation"

    emu.admin.configure(lroDurationSeconds=60)
    raw(compute, "PUT", snapshot_id("rg-snap", "busy"), snapshot_json(disk_id("rg-src", "d-std")))
    busy = raw(compute, "DELETE", snapshot_id("rg-snap", "busy"))
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "OperationNotAllowed"


def test_resource_group_get_is_case_insensitive(emu: Emu) -> None:
    with emu.client(OWNER) as owner:
        response = raw(owner, "GET", f"/subscriptions/{SUB}/RESOURCEGROUPS/Rg-Snap", api_version="2021-04-01")
        assert response.status_code == 200
        assert response.json() == {
            "id": rg_id("rg-snap"),
            "name": "rg-snap",
            "type": "Microsoft.Resources/resourceGroups",
            "location": "eastus",
            "properties": {"provisioningState": "Succeeded"},
        }
        missing = raw(owner, "GET", f"/subscriptions/{SUB}/resourcegroups/rg-none", api_version="2021-04-01")
        assert missing.json()["error"]["code"] == "ResourceGroupNotFound"
        assert raw(owner, "GET", rg_id("rg-snap"), api_version=None).status_code == 400
