"""The pure parts of the protection lifecycle: parsing a BackupInstance, the soft-delete state of
an instance, how an instance is shown, and the soft-delete setting."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.api.endpoints.instances import deleted_instance_resource, instance_properties
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.instance_status import STATUS_VALUES, buckets_with_status, protection_status, status_bucket
from backup.domain.models import ProtectionState
from backup.domain.policy import policy_version
from backup.errors import ValidationError
from backup.shapes.backup_instance import parse_backup_instance
from tests.policy_documents import disk_policy

SUB = "11111111-2222-4333-8444-555555555555"
VAULT = VaultRef(SUB, "rg-backup", "vault1")
DISK = f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/disk-a"
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
SOURCE = "properties.dataSourceInfo"
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def properties(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectType": "BackupInstance",
        "dataSourceInfo": {"datasourceType": "Microsoft.Compute/disks", "resourceID": DISK},
        "policyInfo": {
            "policyId": f"{VAULT.id}/backupPolicies/DiskPolicy",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": SNAPS,
                    }
                ]
            },
        },
    }
    body.update(changes)
    return body


def test_a_disk_instance_parses_and_read_only_fields_are_dropped() -> None:
    request = parse_backup_instance(
        properties(currentProtectionState="ProtectionStopped", provisioningState="Failed", friendlyName="a"),
        VAULT,
    )
    assert str(request.disk) == DISK
    assert request.policy_name == "DiskPolicy"
    assert str(request.snapshot_resource_group) == SNAPS
    assert "currentProtectionState" not in request.document
    assert "provisioningState" not in request.document
    assert request.document["friendlyName"] == "a"


def test_the_policy_id_is_matched_without_regard_to_case() -> None:
    body = properties()
    body["policyInfo"]["policyId"] = f"{VAULT.id.upper()}/BACKUPPOLICIES/DiskPolicy"
    assert parse_backup_instance(body, VAULT).policy_name == "DiskPolicy"


def source(datasource_type: str = "Microsoft.Compute/disks", resource_id: str = DISK) -> dict[str, Any]:
    return properties(dataSourceInfo={"datasourceType": datasource_type, "resourceID": resource_id})


def store(
    kind: str = "AzureOperationalStoreParameters", data_store: str = "OperationalStore", **extra: Any
) -> Any:
    return {"objectType": kind, "dataStoreType": data_store, **extra}


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    body = properties()
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def test_a_datasource_set_naming_the_disk_itself_is_accepted_as_azure_shows_it() -> None:
    # Azure's GET of a disk instance shows the disk as its own set; sending that body back works.
    the_set = {
        "objectType": "DatasourceSet",
        "resourceID": DISK.upper(),
        "datasourceType": "Microsoft.Compute/disks",
    }
    request = parse_backup_instance(properties(dataSourceSetInfo=the_set), VAULT)
    assert request.document["dataSourceSetInfo"] == the_set


@pytest.mark.parametrize(
    ("body", "code", "target"),
    [
        ([], "InvalidRequestContent", "properties"),
        (_without(("dataSourceInfo",)), "MissingProperty", "properties.dataSourceInfo"),
        (_without(("dataSourceInfo", "datasourceType")), "MissingProperty", SOURCE + ".datasourceType"),
        (_without(("dataSourceInfo", "resourceID")), "MissingProperty", SOURCE + ".resourceID"),
        (_without(("policyInfo", "policyId")), "MissingProperty", "properties.policyInfo.policyId"),
        (
            _without(("policyInfo", "policyParameters")),
            "UserErrorOperationalStoreParametersNotProvided",
            None,
        ),
        (source("Microsoft.DBforPostgreSQL/servers/databases"), "UnsupportedDatasourceType", None),
        (source(resource_id=SNAPS), "InvalidResourceId", None),
        (source(resource_id=DISK.replace("disks", "snapshots")), "InvalidResourceId", None),
        (
            properties(policyInfo={"policyId": "/subscriptions/x/backupPolicies/p"}),
            "UserErrorPolicyNotInVault",
            None,
        ),
        (properties(policyInfo={"policyId": f"{VAULT.id}/backupPolicies/"}), "InvalidResourceId", None),
        (properties(dataSourceSetInfo={}), "InvalidRequestContent", "properties.dataSourceSetInfo"),
        (
            properties(dataSourceSetInfo={"resourceID": DISK.replace("disk-a", "disk-b")}),
            "InvalidRequestContent",
            "properties.dataSourceSetInfo",
        ),
        (properties(friendlyName=7), "InvalidRequestContent", "properties.friendlyName"),
        # A value of the wrong JSON type answers the field's own code, as it did before shapes.
        (
            properties(policyInfo={"policyId": 7}),
            "UserErrorPolicyNotInVault",
            "properties.policyInfo.policyId",
        ),
        (source(datasource_type=5), "UnsupportedDatasourceType", None),  # type: ignore[arg-type]
        (properties(policyInfo={"policyId": "/" + "x" * 3000}), "UserErrorPolicyNotInVault", None),
        (properties(identityDetails={"useSystemAssignedIdentity": 1}), "InvalidRequestContent", None),
    ],
)
def test_bad_instances_are_refused_naming_the_field(body: Any, code: str, target: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_backup_instance(body, VAULT)
    assert refused.value.code == code
    assert refused.value.message
    if target is not None:
        assert refused.value.target == target


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "UserErrorOperationalStoreParametersNotProvided"),
        ([store()], "UserErrorOperationalStoreParametersNotProvided"),
        ([store(resourceGroupId="rg")], "UserErrorInvalidOperationalStoreResourceGroup"),
        ([store("AzureBlobParameters", resourceGroupId=SNAPS)], "InvalidPropertyValue"),
        ([store(data_store="VaultStore", resourceGroupId=SNAPS)], "InvalidPropertyValue"),
        ([store(resourceGroupId=SNAPS)] * 2, "InvalidPropertyValue"),
        ("rg", "InvalidRequestContent"),
        ([store(resourceGroupId=7)], "UserErrorInvalidOperationalStoreResourceGroup"),
    ],
)
def test_the_snapshot_resource_group_is_required_and_checked(entries: Any, code: str) -> None:
    body = properties()
    body["policyInfo"]["policyParameters"]["dataStoreParametersList"] = entries
    with pytest.raises(ValidationError) as refused:
        parse_backup_instance(body, VAULT)
    assert refused.value.code == code


def instance(**changes: Any) -> BackupInstance:
    base = BackupInstance(
        vault=VAULT,
        name="bi-a",
        disk_id=DISK,
        disk_location="westus",
        policy_name="DiskPolicy",
        policy_document={},
        snapshot_resource_group_id=SNAPS,
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    return base if not changes else BackupInstance(**{**base.__dict__, **changes})


def test_soft_delete_and_undelete() -> None:
    deleted = instance().soft_deleted(NOW, NOW + timedelta(days=14))
    assert deleted.is_soft_deleted
    assert deleted.protection_state is ProtectionState.SOFT_DELETED
    assert not deleted.protection_state.takes_scheduled_backups
    assert not deleted.protection_state.applies_retention
    assert (deleted.deleted_at, deleted.purge_at) == (NOW, NOW + timedelta(days=14))
    back = deleted.undeleted()
    assert back.protection_state is ProtectionState.PROTECTION_STOPPED
    assert (back.deleted_at, back.purge_at) == (None, None)
    with pytest.raises(ValueError, match="purged before"):
        instance().soft_deleted(NOW, NOW - timedelta(seconds=1))


def test_an_instance_is_shown_with_its_state_and_last_error() -> None:
    healthy = instance_properties(instance())
    assert healthy["currentProtectionState"] == "ProtectionConfigured"
    assert healthy["protectionStatus"] == {"status": "ProtectionConfigured"}
    assert healthy["dataSourceInfo"]["resourceID"] == DISK
    assert healthy["policyInfo"]["policyParameters"]["dataStoreParametersList"][0]["resourceGroupId"] == SNAPS
    assert "protectionErrorDetails" not in healthy

    failing = instance().after_failure("UserErrorDiskNotFound", "The disk is gone.")
    shown = instance_properties(failing)
    assert shown["currentProtectionState"] == "ProtectionError"
    assert shown["protectionErrorDetails"]["code"] == "UserErrorDiskNotFound"
    assert shown["protectionErrorDetails"]["isUserError"] is True
    # Azure has no ProtectionError status: the instance stays configured and says why it fails.
    assert shown["protectionStatus"] == {
        "status": "ProtectionConfigured",
        "errorDetails": shown["protectionErrorDetails"],
    }

    stopped = instance_properties(instance(protection_state=ProtectionState.BACKUP_SCHEDULES_SUSPENDED))
    assert stopped["protectionStatus"]["status"] == "ProtectionStopped"

    gone = deleted_instance_resource(instance().soft_deleted(NOW, NOW + timedelta(days=14)))
    assert gone["type"] == "Microsoft.DataProtection/backupVaults/deletedBackupInstances"
    assert gone["properties"]["deletionInfo"]["deletionTime"] == "2026-11-26T04:00:00Z"
    assert gone["properties"]["deletionInfo"]["scheduledPurgeTime"] == "2026-12-10T04:00:00Z"
    assert gone["properties"]["protectionStatus"]["status"] == "SoftDeleted"


def test_parsing_does_not_change_the_input() -> None:
    body = properties(protectionStatus={"status": "x"})
    kept = copy.deepcopy(body)
    parse_backup_instance(body, VAULT)
    assert body == kept


def test_every_state_shows_one_of_azures_six_protection_statuses() -> None:
    azure = {
        "ConfiguringProtection",
        "ConfiguringProtectionFailed",
        "ProtectionConfigured",
        "ProtectionStopped",
        "SoftDeleted",
        "SoftDeleting",
    }
    assert {protection_status(state) for state in ProtectionState} == azure
    assert set(STATUS_VALUES) == azure


def test_the_instance_index_keeps_the_buckets_it_was_written_with() -> None:
    # Index rows already stored name ProtectionError apart; the status shown changed, they did not.
    assert status_bucket(ProtectionState.PROTECTION_ERROR) == "ProtectionError"
    assert buckets_with_status("protectionconfigured") == {"ProtectionConfigured", "ProtectionError"}
    assert buckets_with_status("ProtectionStopped") == {"ProtectionStopped"}
    assert buckets_with_status("ProtectionError") == frozenset()


def test_an_instance_names_its_policys_version_which_changes_with_the_rules() -> None:
    policy = disk_policy(NOW)
    shown = instance_properties(instance(policy_document=policy))
    version = shown["policyInfo"]["policyVersion"]
    assert version == policy_version(copy.deepcopy(policy))
    assert policy_version(disk_policy(NOW, default="P14D")) != version
