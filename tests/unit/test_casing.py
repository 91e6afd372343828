"""Property names and objectType discriminators match in any letter case, as Azure's service
matches them; the declared spelling is what the product keeps."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from backup.errors import ValidationError
from backup.shapes.policy import parse_backup_policy
from backup.shapes.restore import parse_validate_restore_request
from backup.shapes.vault import parse_vault
from tests.unit.policy_builders import default_template

SUB = "11111111-2222-3333-4444-555555555555"
TARGET = f"/subscriptions/{SUB}/resourceGroups/targetrg/providers/Microsoft.Compute/disks/APITestDisk2"
# The validateRestore body of the disk backup REST walkthrough, as published: the recovery point
# id also at the top, "dataSourceInfo" and "restoreTargetInfo" spelled as Azure's docs spell them.
DOCS_VALIDATE_RESTORE: dict[str, Any] = {
    "recoveryPointId": "a3d02fc3ab8a4c3a8cc26688c26d3356",
    "restoreRequestObject": {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "sourceDataStoreType": "OperationalStore",
        "recoveryPointId": "a3d02fc3ab8a4c3a8cc26688c26d3356",
        "restoreTargetInfo": {
            "objectType": "restoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "dataSourceInfo": {
                "objectType": "Datasource",
                "resourceID": TARGET,
                "resourceName": "APITestDisk2",
                "resourceType": "Microsoft.Compute/disks",
                "resourceLocation": "westUS",
                "resourceUri": TARGET,
                "datasourceType": "Microsoft.Compute/disks",
            },
            "restoreLocation": "westUS",
        },
    },
}


def test_the_documented_validate_restore_body_is_accepted() -> None:
    spec = parse_validate_restore_request(copy.deepcopy(DOCS_VALIDATE_RESTORE))
    assert str(spec.target) == TARGET
    assert spec.restore_location == "westUS"


def test_one_property_spelled_twice_is_refused_naming_both() -> None:
    body = copy.deepcopy(DOCS_VALIDATE_RESTORE)
    target_info = body["restoreRequestObject"]["restoreTargetInfo"]
    target_info["datasourceInfo"] = target_info["dataSourceInfo"]
    with pytest.raises(ValidationError) as refused:
        parse_validate_restore_request(body)
    assert refused.value.code == "InvalidRequestContent"
    assert refused.value.target == "restoreRequestObject.restoreTargetInfo.datasourceInfo"
    assert "dataSourceInfo" in refused.value.message


def shout_keys(value: Any) -> Any:
    """Every property name upper-cased, every objectType lower-cased."""
    if isinstance(value, dict):
        return {
            key.upper(): (item.lower() if key == "objectType" else shout_keys(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [shout_keys(item) for item in value]
    return value


def test_a_policy_in_any_letter_case_means_the_same_and_is_kept_in_the_declared_spelling() -> None:
    document = default_template()
    expected = parse_backup_policy(copy.deepcopy(document))
    policy = parse_backup_policy(shout_keys(document))
    assert policy.schedule == expected.schedule
    assert policy.retention_rules == expected.retention_rules
    kept = json.dumps(policy.to_json())
    assert '"policyRules"' in kept
    assert '"objectType": "AzureRetentionRule"' in kept
    assert "POLICYRULES" not in kept


def test_free_form_maps_keep_their_keys() -> None:
    body = {
        "LOCATION": "westus",
        "Tags": {"CostCenter": "42"},
        "PROPERTIES": {"storageSettings": [{"dataStoreType": "VaultStore", "type": "LocallyRedundant"}]},
    }
    vault = parse_vault(body)
    assert vault.location == "westus"
    assert vault.tags == {"CostCenter": "42"}
    assert body["tags"] == {"CostCenter": "42"}  # renamed in place, the tag itself untouched
