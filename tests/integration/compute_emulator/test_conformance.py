"""Status codes, headers, property names and types compared against Azure's own examples and the
2026-03-02 swagger (the reference files are the ground truth, never the emulator's output).

Known typos in the reference that must NOT be copied: a ``Location`` with ``&monitor=true`` but no
``?``, a ``sourceResourceId`` without its leading ``/`` (the list and CopyStart examples).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient

from tests.paths import COMPUTE_REFERENCE

from .conftest import OWNER, SUB, Emu, disk_id, snapshot_id
from .helpers import raw, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration

SWAGGER = COMPUTE_REFERENCE / "swagger" / "DiskRP-2026-03-02-snapshot-excerpt.json"
SNAPSHOTS_PATH = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/snapshots/"
    "{snapshotName}"
)
DISKS_PATH = SNAPSHOTS_PATH.replace("snapshots/{snapshotName}", "disks/{diskName}")

# Reference fields for features the product does not use and the emulator does not model
# (OS images, marketplace plans, ADE, trusted launch, VM attachment).
NOT_MODELLED = {
    "managedBy", "osType", "hyperVGeneration", "purchasePlan", "supportedCapabilities", "supportsHibernation",
    "securityProfile", "encryptionSettingsCollection", "LastOwnershipUpdateTime", "imageReference",
}  # fmt: skip
SWAGGER_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
    "object": (dict,),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_like_reference(actual: Any, reference: Any, where: str = "$") -> None:
    """Every reference key is present with the same JSON type, recursively (unless not modelled)."""
    if isinstance(reference, dict):
        assert isinstance(actual, dict), f"{where}: expected an object"
        for key, ref_value in reference.items():
            if key in NOT_MODELLED:
                continue
            assert key in actual, f"{where}.{key} missing"
            if key == "tags":  # a map: its keys are user data, its values strings
                assert all(isinstance(v, str) for v in actual[key].values()), f"{where}.tags"
                continue
            assert_like_reference(actual[key], ref_value, f"{where}.{key}")
    elif isinstance(reference, list) and reference:
        assert isinstance(actual, list), f"{where}: expected an array"
        assert actual, f"{where}: expected a non-empty array"
        for item in actual:
            assert_like_reference(item, reference[0], f"{where}[]")
    else:
        assert _json_type(actual) == _json_type(reference), f"{where}: {actual!r} vs reference {reference!r}"


def assert_arm_datetime(value: str) -> None:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None


def assert_sound_arm_id(value: str) -> None:
    assert value.startswith("/subscriptions/"), value  # the reference typo drops the leading '/'


def _swagger() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SWAGGER.read_text())
    return data


def test_disk_get_matches_reference(
    owner_compute: ComputeManagementClient, reference: Callable[[str], dict[str, Any]]
) -> None:
    example = reference("Disk_Get.json")
    response = raw(owner_compute, "GET", disk_id("rg-src", "d-std"))
    assert str(response.status_code) in example["responses"]
    body = response.json()
    assert_like_reference(body, example["responses"]["200"]["body"])
    assert body["type"] == example["responses"]["200"]["body"]["type"]
    assert body["properties"]["encryption"] == {"type": "EncryptionAtRestWithPlatformKey"}
    assert_arm_datetime(body["properties"]["timeCreated"])
    # Fields the product relies on beyond the example.
    props = body["properties"]
    assert props["diskSizeBytes"] == props["diskSizeGB"] * 1024**3
    assert props["diskState"] == "Unattached"
    assert len(props["uniqueId"]) == 36
    assert body["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    zoned = raw(owner_compute, "GET", disk_id("rg-src", "d-prem")).json()
    assert zoned["zones"] == ["1"]
    assert zoned["properties"]["tier"] == "P6"


def test_snapshot_get_matches_reference_and_swagger(
    owner_compute: ComputeManagementClient, reference: Callable[[str], dict[str, Any]]
) -> None:
    example = reference("Snapshot_Get.json")
    take_snapshot(owner_compute, "rg-snap", "mySnapshot", disk_id("rg-src", "d-std"), tags={"project": "x"})
    response = raw(owner_compute, "GET", snapshot_id("rg-snap", "mySnapshot"))
    assert str(response.status_code) in example["responses"]
    body = response.json()
    assert_like_reference(body, example["responses"]["200"]["body"])
    assert set(body["properties"]["creationData"]) == set(
        example["responses"]["200"]["body"]["properties"]["creationData"]
    )
    assert_sound_arm_id(body["properties"]["creationData"]["sourceResourceId"])

    definitions = _swagger()["definitions"]
    schema = definitions["SnapshotProperties"]["properties"]
    for key, value in body["properties"].items():
        assert key in schema, f"properties.{key} is not in SnapshotProperties"
        declared = schema[key].get("type")
        if declared:
            assert isinstance(value, SWAGGER_TYPES[declared]), f"properties.{key}={value!r} is not {declared}"
    assert body["sku"]["name"] in definitions["SnapshotStorageAccountTypes"]["enum"]
    assert body["properties"]["encryption"]["type"] in definitions["EncryptionType"]["enum"]
    assert body["properties"]["creationData"]["createOption"] in definitions["DiskCreateOption"]["enum"]
    assert isinstance(body["properties"]["incrementalSnapshotFamilyId"], str)


def test_snapshot_list_by_resource_group_matches_reference(
    owner_compute: ComputeManagementClient, reference: Callable[[str], dict[str, Any]]
) -> None:
    example = reference("Snapshot_ListByResourceGroup.json")
    take_snapshot(owner_compute, "rg-snap", "one", disk_id("rg-src", "d-std"), tags={"department": "d"})
    collection = f"/subscriptions/{SUB}/resourceGroups/rg-snap/providers/Microsoft.Compute/snapshots"
    response = raw(owner_compute, "GET", collection)
    assert response.status_code == 200
    body = response.json()
    assert_like_reference(body, example["responses"]["200"]["body"])
    assert "nextLink" not in body  # one page only
    for item in body["value"]:
        assert_sound_arm_id(item["properties"]["creationData"]["sourceResourceId"])


def test_copy_start_answers_like_reference(
    owner_compute: ComputeManagementClient, reference: Callable[[str], dict[str, Any]]
) -> None:
    example = reference("Snapshot_Create_FromAnExistingSnapshotInDifferentRegion.json")
    source = take_snapshot(owner_compute, "rg-snap", "mySnapshot1", disk_id("rg-src", "d-std"))
    request = json.loads(json.dumps(example["parameters"]["snapshot"]))
    request["location"] = "West US 2"  # the example's display-name form; ARM normalizes it
    request["properties"]["creationData"]["sourceResourceId"] = source.id
    response = raw(owner_compute, "PUT", snapshot_id("rg-snap-west", "mySnapshot2"), request)
    assert str(response.status_code) in example["responses"]
    assert response.status_code == 202  # DiskRP answers PUT with 202, never 201
    body = response.json()
    expected = example["responses"]["202"]["body"]
    assert_like_reference(body, expected)
    assert (
        body["properties"]["provisioningState"] == expected["properties"]["provisioningState"] == "Updating"
    )
    assert body["properties"]["creationData"]["createOption"] == "CopyStart"
    assert_sound_arm_id(body["properties"]["creationData"]["sourceResourceId"])
    assert body["location"] == "westus2"


@pytest.mark.parametrize(
    ("kind", "example_name"), [("disks", "Disk_Delete.json"), ("snapshots", "Snapshot_Delete.json")]
)
def test_delete_status_codes_and_location_header_match_reference(
    emu: Emu, reference: Callable[[str], dict[str, Any]], kind: str, example_name: str
) -> None:
    example = reference(example_name)
    with emu.client(OWNER) as owner:
        if kind == "snapshots":
            target = take_snapshot(owner, "rg-snap", "mySnapshot", disk_id("rg-src", "d-std")).id
        else:
            target = disk_id("rg-many", "m-00")
        first = raw(owner, "DELETE", target)
        assert str(first.status_code) in example["responses"]
        assert first.status_code == 202
        reference_location = example["responses"]["202"]["headers"]["Location"]
        # Repair the reference typo ('&' where '?' belongs) before comparing query parameters.
        repaired = urllib.parse.urlsplit(reference_location.replace("}&", "}?", 1))
        location = urllib.parse.urlsplit(first.headers["Location"])
        assert location.scheme == "https"
        assert location.query, "Location must carry a proper query string"
        assert set(urllib.parse.parse_qs(repaired.query)) <= set(urllib.parse.parse_qs(location.query))
        assert urllib.parse.parse_qs(location.query)["api-version"] == [example["parameters"]["api-version"]]
        prefix = repaired.path.split("{location}")[0].split("{subscriptionId}")
        assert location.path.startswith(prefix[0])
        assert prefix[1] in location.path
        assert int(first.headers["Retry-After"]) >= 0

        second = raw(owner, "DELETE", target)
        assert str(second.status_code) in example["responses"]
        assert second.status_code == 204


def test_lro_status_codes_and_headers_match_swagger(owner_compute: ComputeManagementClient) -> None:
    paths = _swagger()["paths"]
    source = disk_id("rg-src", "d-std")
    cases = [
        ("put", SNAPSHOTS_PATH, "PUT", snapshot_id("rg-snap", "sw"), snapshot_json(source)),
        ("patch", SNAPSHOTS_PATH, "PATCH", snapshot_id("rg-snap", "sw"), {"tags": {"a": "b"}}),
        ("put", DISKS_PATH, "PUT", disk_id("rg-restore", "dw"),
         {"location": "eastus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4}}),
        ("delete", SNAPSHOTS_PATH, "DELETE", snapshot_id("rg-snap", "sw"), None),
        ("delete", DISKS_PATH, "DELETE", disk_id("rg-restore", "dw"), None),
    ]  # fmt: skip
    for verb, spec_path, method, path, body in cases:
        spec = paths[spec_path][verb]
        assert spec["x-ms-long-running-operation"] is True
        response = raw(owner_compute, method, path, body)
        assert str(response.status_code) in spec["responses"], (method, path, response.status_code)
        if response.status_code == 202:
            for header, schema in spec["responses"]["202"].get("headers", {}).items():
                assert header in response.headers, (method, header)
                if schema.get("type") == "integer":
                    int(response.headers[header])
            assert response.headers["Azure-AsyncOperation"].startswith("https://")
            if verb != "delete":
                assert response.json()["properties"]["provisioningState"] == "Updating"
            else:
                assert response.text() == ""
