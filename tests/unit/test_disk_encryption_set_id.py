"""A restore's diskEncryptionSetId: a full Microsoft.Compute/diskEncryptionSets id, exactly, in
the restore target's subscription (the refusals are in tests/integration/api/test_hostile_values.py)."""

from __future__ import annotations

from typing import Any

import pytest

from backup.errors import ValidationError
from backup.shapes.restore import parse_restore_request

SUB = "00000000-0000-0000-0000-0000000000ab"
TARGET = f"/subscriptions/{SUB}/resourceGroups/rg-restores/providers/Microsoft.Compute/disks/restored"
DES = f"/subscriptions/{SUB}/resourceGroups/rg-keys/providers/Microsoft.Compute/diskEncryptionSets/des-1"


def request(encryption_set: str) -> dict[str, Any]:
    return {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "recoveryPointId": "0123456789abcdef0123456789abcdef",
        "sourceDataStoreType": "OperationalStore",
        "restoreTargetInfo": {
            "objectType": "RestoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": "westus",
            "datasourceInfo": {
                "objectType": "Datasource",
                "datasourceType": "Microsoft.Compute/disks",
                "resourceID": TARGET,
                "resourceType": "Microsoft.Compute/disks",
                "resourceProperties": {
                    "objectType": "DefaultResourceProperties",
                    "diskEncryptionSetId": encryption_set,
                },
            },
        },
    }


@pytest.mark.parametrize(
    "given",
    [
        DES,
        f"  {DES} ",
        DES.replace(
            "providers/Microsoft.Compute/diskEncryptionSets", "PROVIDERS/microsoft.compute/DISKENCRYPTIONSETS"
        ),
    ],
)
def test_a_full_id_in_the_targets_subscription_is_kept_in_its_canonical_spelling(given: str) -> None:
    assert parse_restore_request(request(given)).overrides.disk_encryption_set_id == DES


@pytest.mark.parametrize(
    "given",
    [
        "/subscriptions/../x",
        DES + "/..",
        DES.replace("rg-keys", ".."),
        DES.replace("diskEncryptionSets", "disks"),
        DES.replace(SUB, "00000000-0000-0000-0000-0000000000cd"),
    ],
)
def test_anything_else_is_refused_naming_the_property(given: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_restore_request(request(given))
    assert refused.value.target is not None
    assert refused.value.target.endswith("resourceProperties.diskEncryptionSetId")
