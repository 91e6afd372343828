"""The pure rules of protecting a disk: what a PUT over an existing instance may not change, the
properties an instance is stored with, and reading a vault out of its stored document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from backup.domain.arm import DiskInfo
from backup.domain.instance import BackupInstance, VaultRef, vault_of_document
from backup.domain.models import ProtectionState
from backup.domain.protection import check_unchangeable, document_with_defaults
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import BackupError, ConflictError, ValidationError

SUB = "11111111-2222-4333-8444-555555555555"
VAULT = VaultRef(SUB, "rg-backup", "vault1")
DISK_ID = f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/disk-a"
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
INSTANCE = BackupInstance(
    vault=VAULT, name="bi-a", disk_id=DISK_ID, disk_location="westus", policy_name="p",
    policy_document={}, snapshot_resource_group_id=SNAPS,
    protection_state=ProtectionState.PROTECTION_CONFIGURED,
)  # fmt: skip
DELETED_AT = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
DISK = DiskInfo(
    id=DISK_ID, name="disk-a", location="westus", sku="StandardSSD_LRS", size_gb=32, unique_id="u",
    provisioning_state="Succeeded",
)  # fmt: skip


def test_a_put_may_change_the_policy_but_names_the_same_disk_and_group_in_any_case() -> None:
    check_unchangeable(
        INSTANCE, ComputeResourceId.disk(DISK_ID.upper()), ResourceGroupId.parse(SNAPS.replace("rg-", "RG-"))
    )


@pytest.mark.parametrize(
    ("instance", "disk", "group", "error", "code"),
    [
        (
            INSTANCE.soft_deleted(DELETED_AT, DELETED_AT),
            DISK_ID,
            SNAPS,
            ConflictError,
            "UserErrorBackupInstanceSoftDeleted",
        ),
        (
            INSTANCE,
            DISK_ID.replace("disk-a", "disk-b"),
            SNAPS,
            ValidationError,
            "UserErrorDatasourceChangeNotAllowed",
        ),
        (INSTANCE, DISK_ID, SNAPS + "-2", ValidationError, "UserErrorSnapshotRGChangeNotAllowed"),
    ],
    ids=["soft-deleted", "other disk", "other snapshot group"],
)
def test_what_a_put_may_not_change(
    instance: BackupInstance, disk: str, group: str, error: type[BackupError], code: str
) -> None:
    with pytest.raises(error) as refused:
        check_unchangeable(instance, ComputeResourceId.disk(disk), ResourceGroupId.parse(group))
    assert refused.value.code == code
    assert "bi-a" in refused.value.message


def test_the_stored_properties_get_the_datasource_fields_azure_fills_in() -> None:
    sent: dict[str, Any] = {
        "dataSourceInfo": {"resourceID": DISK_ID, "datasourceType": "microsoft.compute/DISKS"},
        "policyInfo": {"policyId": "x"},
    }
    stored = document_with_defaults(sent, DISK, ComputeResourceId.disk(DISK_ID))
    assert stored["dataSourceInfo"] == {
        "resourceID": DISK_ID,
        "datasourceType": "Microsoft.Compute/disks",
        "objectType": "Datasource",
        "resourceType": "Microsoft.Compute/disks",
        "resourceName": "disk-a",
        "resourceLocation": "westus",
        "resourceUri": DISK_ID,
    }
    assert stored["friendlyName"] == "disk-a"
    assert stored["policyInfo"] == {"policyId": "x"}
    assert sent["dataSourceInfo"] == {"resourceID": DISK_ID, "datasourceType": "microsoft.compute/DISKS"}


def test_what_the_client_set_is_kept() -> None:
    sent = {
        "friendlyName": "payroll data",
        "dataSourceInfo": {"resourceName": "mine", "resourceLocation": "West US", "resourceUri": "/given"},
    }
    stored = document_with_defaults(sent, DISK, ComputeResourceId.disk(DISK_ID))
    assert stored["friendlyName"] == "payroll data"
    source = stored["dataSourceInfo"]
    assert (source["resourceName"], source["resourceLocation"], source["resourceUri"]) == (
        "mine",
        "West US",
        "/given",
    )


def test_a_vault_document_names_its_vault() -> None:
    assert vault_of_document({"id": VAULT.id}) == VAULT
    assert vault_of_document({"id": "/subscriptions/x"}) is None
    assert vault_of_document({}) is None
