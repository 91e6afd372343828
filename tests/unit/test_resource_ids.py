from __future__ import annotations

import pytest

from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import ValidationError

SUB = "00000000-0000-0000-0000-000000000001"
DISK = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/data-disk_01"


def test_disk_id_round_trips_and_compares_case_insensitively() -> None:
    disk = ComputeResourceId.disk(DISK)
    assert (disk.subscription_id, disk.resource_group, disk.name) == (SUB, "rg-prod", "data-disk_01")
    assert str(disk) == DISK
    assert disk.same_as(ComputeResourceId.disk(DISK.upper().replace(SUB.upper(), SUB)))
    assert disk.resource_group_id == ResourceGroupId(SUB, "rg-prod")


def test_provider_and_type_segments_are_case_insensitive() -> None:
    lowered = f"/subscriptions/{SUB}/resourcegroups/rg-prod/providers/microsoft.compute/DISKS/d1"
    assert ComputeResourceId.disk(lowered).name == "d1"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "subscriptions/x",
        f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/snapshots/s1",
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/disks/d1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1/extra",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/disks/d1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/",
        f"/subscriptions/{SUB}/resourceGroups/rg//providers/Microsoft.Compute/disks/d1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1?x=1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d#1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/-starts-with-dash",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/ends-with-dot.",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/{'a' * 81}",
        f"/subscriptions/{SUB}/resourceGroups/r|g/providers/Microsoft.Compute/disks/d1",
        f"/subscriptions/{SUB}/resourceGroups/rg./providers/Microsoft.Compute/disks/d1",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d 1",
        None,
        42,
    ],
)
def test_malformed_disk_ids_are_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as refused:
        ComputeResourceId.disk(bad, target="properties.dataSourceInfo.resourceID")
    assert refused.value.target == "properties.dataSourceInfo.resourceID"
    assert refused.value.status == 400


def test_resource_group_id() -> None:
    rg = ResourceGroupId.parse(f"/subscriptions/{SUB}/resourcegroups/Snapshots(East)")
    assert rg.resource_group == "Snapshots(East)"
    assert str(rg) == f"/subscriptions/{SUB}/resourceGroups/Snapshots(East)"
    with pytest.raises(ValidationError):
        ResourceGroupId.parse(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d")
