"""The product's happy paths through azure-mgmt-compute 39, sync and aio: snapshot, list, restore,
tag, delete; disk content flowing disk -> snapshot -> restored disk; paging."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient as AioComputeManagementClient
from azure.mgmt.compute.models import CreationData, Disk, DiskSku, DiskUpdate, SnapshotUpdate

from .conftest import OWNER, SUB, Emu, disk_id, snapshot_id
from .helpers import error_code, raw, restore_body, snapshot_body, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration


def test_sync_backup_and_restore_carry_disk_content(emu: Emu, compute: ComputeManagementClient) -> None:
    source = compute.disks.get("rg-src", "d-std")
    first = take_snapshot(compute, "rg-snap", "snap-1", source.id, tags={"policy": "daily"})
    assert first.provisioning_state == "Succeeded"
    assert first.incremental is True
    assert first.creation_data.source_resource_id == source.id
    assert first.creation_data.source_unique_id == source.unique_id
    assert first.completion_percent == 100
    assert first.tags == {"policy": "daily"}

    # "A write" to the disk after the first snapshot: only the second snapshot sees it.
    emu.admin.write_disk(source.id, "std-v2")
    second = take_snapshot(compute, "rg-snap", "snap-2", source.id)
    assert second.incremental_snapshot_family_id == first.incremental_snapshot_family_id
    assert emu.admin.read_content(first.id) == "std-v1"
    assert emu.admin.read_content(second.id) == "std-v2"

    restored = compute.disks.begin_create_or_update(
        "rg-restore", "restored-1", restore_body(first.id)
    ).result()
    assert restored.provisioning_state == "Succeeded"
    assert restored.disk_size_gb == source.disk_size_gb
    assert restored.creation_data.source_resource_id == first.id
    assert restored.creation_data.source_unique_id == first.unique_id
    assert emu.admin.read_content(restored.id) == "std-v1"

    empty = compute.disks.begin_create_or_update(
        "rg-restore",
        "empty-1",
        Disk(location="eastus", sku=DiskSku(name="Premium_LRS"), disk_size_gb=8,
             creation_data=CreationData(create_option="Empty")),
    ).result()  # fmt: skip
    assert emu.admin.read_content(empty.id) == ""
    assert empty.sku.tier == "Premium"


async def test_aio_backup_list_tag_restore_delete(emu: Emu, aio_compute: AioComputeManagementClient) -> None:
    source = await aio_compute.disks.get("rg-src", "d-prem")
    assert source.zones == ["1"]
    poller = await aio_compute.snapshots.begin_create_or_update("rg-snap", "a-1", snapshot_body(source.id))
    snap = await poller.result()
    assert snap.provisioning_state == "Succeeded"
    assert emu.admin.read_content(snap.id) == "prem-v1"

    names = [s.name async for s in aio_compute.snapshots.list_by_resource_group("rg-snap")]
    assert names == ["a-1"]

    poller = await aio_compute.snapshots.begin_update(
        "rg-snap", "a-1", SnapshotUpdate(tags={"state": "kept"})
    )
    updated = await poller.result()
    assert updated.tags == {"state": "kept"}

    poller = await aio_compute.disks.begin_create_or_update("rg-restore", "r-1", restore_body(snap.id))
    restored = await poller.result()
    assert emu.admin.read_content(restored.id) == "prem-v1"

    poller = await aio_compute.snapshots.begin_delete("rg-snap", "a-1")
    await poller.result()
    with pytest.raises(ResourceNotFoundError):
        await aio_compute.snapshots.get("rg-snap", "a-1")


def test_reput_is_an_idempotent_update_that_keeps_content_and_time(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    source_id = disk_id("rg-src", "d-std")
    first = take_snapshot(compute, "rg-snap", "s", source_id)
    emu.admin.advance_clock(120)
    emu.admin.write_disk(source_id, "changed")
    again = take_snapshot(compute, "rg-snap", "s", source_id, tags={"k": "v"})
    assert again.unique_id == first.unique_id
    assert again.time_created == first.time_created
    assert again.tags == {"k": "v"}
    assert emu.admin.read_content(first.id) == "std-v1"

    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-prem"))
    assert error_code(info.value) == "PropertyChangeNotAllowed"
    with pytest.raises(ResourceExistsError) as info:
        take_snapshot(compute, "rg-snap", "s", source_id, incremental=False)
    assert error_code(info.value) == "PropertyChangeNotAllowed"


def test_delete_answers_202_then_204(emu: Emu, compute: ComputeManagementClient) -> None:
    snap = take_snapshot(compute, "rg-snap", "gone", disk_id("rg-src", "d-std"))
    path = snap.id
    first = raw(compute, "DELETE", path)
    assert first.status_code == 202
    assert first.headers["Location"].startswith(emu.url + "/subscriptions/")
    assert "?" in first.headers["Location"]
    assert int(first.headers["Retry-After"]) == 0
    # Still there (Deleting) until the operation is observed complete on a later request.
    status = raw(compute, "GET", first.headers["Azure-AsyncOperation"].replace(emu.url, ""), api_version=None)
    assert status.json()["status"] == "Succeeded"
    assert raw(compute, "DELETE", path).status_code == 204
    assert raw(compute, "GET", path).status_code == 404
    # The SDK's own delete of something already gone is a no-op, not an error.
    compute.snapshots.begin_delete("rg-snap", "gone").result()


def test_paging_by_resource_group_and_subscription(emu: Emu) -> None:
    with emu.client(OWNER) as owner:
        emu.admin.reset_counters()
        names = [d.name for d in owner.disks.list_by_resource_group("rg-many")]
        assert names == [f"m-{i:02d}" for i in range(7)]
        assert emu.admin.counters()["byOperation"]["Disks_ListByResourceGroup"] == 3  # 3 + 3 + 1

        everything = [d.id for d in owner.disks.list()]
        assert len(everything) == len(set(everything)) == 12
        assert emu.admin.counters()["byOperation"]["Disks_List"] == 4

        first_page = raw(
            owner, "GET", f"/subscriptions/{SUB}/resourceGroups/rg-many/providers/Microsoft.Compute/disks"
        )
        next_link = first_page.json()["nextLink"]
        assert next_link.startswith(emu.url + "/subscriptions/")
        assert "api-version=2026-03-02" in next_link

        for i in range(4):
            take_snapshot(owner, "rg-snap", f"p-{i}", disk_id("rg-many", f"m-{i:02d}"))
        assert len(list(owner.snapshots.list_by_resource_group("rg-snap"))) == 4
        assert len(list(owner.snapshots.list())) == 4


def test_snapshot_id_helpers_match_the_emulator(compute: ComputeManagementClient) -> None:
    snap = take_snapshot(compute, "rg-snap", "ids", disk_id("rg-src", "d-std"))
    assert snap.id == snapshot_id("rg-snap", "ids")
    body = raw(compute, "GET", snap.id).json()
    assert body["properties"]["creationData"]["sourceResourceId"].startswith("/subscriptions/")


def test_source_uri_is_rewritten_to_source_resource_id(compute: ComputeManagementClient) -> None:
    source = disk_id("rg-src", "d-std")
    body = snapshot_json("ignored")
    body["properties"]["creationData"] = {"createOption": "Copy", "sourceUri": source}
    response = raw(compute, "PUT", snapshot_id("rg-snap", "via-uri"), body)
    assert response.status_code == 202
    creation = response.json()["properties"]["creationData"]
    assert "sourceUri" not in creation
    assert creation["sourceResourceId"] == source
    assert creation["sourceUniqueId"] == compute.disks.get("rg-src", "d-std").unique_id


def test_disk_patch_updates_tags_and_grows_only(emu: Emu, owner_compute: ComputeManagementClient) -> None:
    updated = owner_compute.disks.begin_update(
        "rg-src", "d-prem", DiskUpdate(tags={"k": "v"}, disk_size_gb=128)
    ).result()
    assert updated.tags == {"k": "v"}
    assert updated.disk_size_gb == 128
    assert updated.disk_size_bytes == 128 * 1024**3
    assert updated.zones == ["1"]
    with pytest.raises(ResourceExistsError) as info:
        owner_compute.disks.begin_update("rg-src", "d-prem", DiskUpdate(disk_size_gb=64)).result()
    assert error_code(info.value) == "OperationNotAllowed"


def test_resource_group_head_and_admin_info(emu: Emu, owner_compute: ComputeManagementClient) -> None:
    assert (
        raw(
            owner_compute, "HEAD", f"/subscriptions/{SUB}/resourcegroups/rg-src", api_version="2021-04-01"
        ).status_code
        == 204
    )
    assert (
        raw(
            owner_compute, "HEAD", f"/subscriptions/{SUB}/resourcegroups/nope", api_version="2021-04-01"
        ).status_code
        == 404
    )
    info = emu.admin.call("GET", "")
    assert info == {"url": emu.url, "ca_bundle": emu.ca_bundle, "admin_url": emu.admin_url}
