"""The restore request as the SDK sends it, the disk it asks for, the queue message, the limits."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.domain.arm import SnapshotInfo
from backup.domain.instance import VaultRef
from backup.domain.restore import (
    TAG_RESTORED_RECOVERY_POINT,
    DiskSettings,
    RestoreMessage,
    check_restore_rate,
    disk_settings,
    recent_restores,
)
from backup.domain.snapshots import SnapshotTags, SourceDisk
from backup.errors import (
    AuthorizationError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from backup.services.on_demand import recent_requests
from backup.services.restore import restore_error
from backup.shapes.restore import parse_restore_request, parse_validate_restore_request

SUB = "11111111-2222-3333-4444-555555555555"
POINT = "a3d02fc3ab8a4c3a8cc26688c26d3356"
TARGET = f"/subscriptions/{SUB}/resourceGroups/targetrg/providers/Microsoft.Compute/disks/APITestDisk2"
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
# REST-RESTORE's documented body.
BODY: dict[str, Any] = {
    "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
    "recoveryPointId": POINT,
    "sourceDataStoreType": "OperationalStore",
    "restoreTargetInfo": {
        "objectType": "RestoreTargetInfo",
        "recoveryOption": "FailIfExists",
        "restoreLocation": "westUS",
        "datasourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": TARGET,
            "resourceUri": TARGET,
            "resourceName": "APITestDisk2",
            "resourceType": "Microsoft.Compute/disks",
            "resourceLocation": "westUS",
        },
    },
}


def body(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(BODY)
    for path, value in changes.items():
        node = document
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return document


def test_the_documented_request_parses() -> None:
    spec = parse_restore_request(BODY)
    assert spec.recovery_point_id == POINT
    assert str(spec.target) == TARGET
    assert spec.restore_location == "westUS"
    assert not spec.overrides.sets_zone
    wrapped = parse_validate_restore_request(
        {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": BODY}
    )
    assert wrapped == spec


def test_the_friendly_name_guid_is_accepted_as_the_point_id() -> None:
    guid = f"{POINT[:8]}-{POINT[8:12]}-{POINT[12:16]}-{POINT[16:20]}-{POINT[20:]}".upper()
    assert parse_restore_request(body(recoveryPointId=guid)).recovery_point_id == POINT


@pytest.mark.parametrize(
    ("changes", "target"),
    [
        ({"objectType": "AzureBackupRecoveryTimeBasedRestoreRequest"}, "objectType"),
        ({"sourceDataStoreType": "VaultStore"}, "sourceDataStoreType"),
        ({"recoveryPointId": "nope"}, "recoveryPointId"),
        ({"recoveryPointId": None}, "recoveryPointId"),
        ({"restoreTargetInfo__objectType": "RestoreFilesTargetInfo"}, "restoreTargetInfo.objectType"),
        ({"restoreTargetInfo__recoveryOption": "Overwrite"}, "restoreTargetInfo.recoveryOption"),
        ({"restoreTargetInfo__restoreLocation": None}, "restoreTargetInfo.restoreLocation"),
        (
            {"restoreTargetInfo__datasourceInfo__resourceID": "/subscriptions/x"},
            "restoreTargetInfo.datasourceInfo.resourceID",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__resourceName": "other"},
            "restoreTargetInfo.datasourceInfo.resourceName",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__resourceLocation": "eastus"},
            "restoreTargetInfo.datasourceInfo.resourceLocation",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__datasourceType": "Microsoft.Storage/blobs"},
            "restoreTargetInfo.datasourceInfo.datasourceType",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__resourceProperties": {"diskSku": "x"}},
            "restoreTargetInfo.datasourceInfo.resourceProperties.diskSku",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__resourceProperties": {"skuName": "Gold"}},
            "restoreTargetInfo.datasourceInfo.resourceProperties.skuName",
        ),
        (
            {"restoreTargetInfo__datasourceInfo__resourceProperties": {"zone": "4"}},
            "restoreTargetInfo.datasourceInfo.resourceProperties.zone",
        ),
    ],
)
def test_malformed_requests_name_the_field(changes: dict[str, Any], target: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_restore_request(body(**changes))
    assert refused.value.target == target


def _tags(**source: Any) -> SnapshotTags:
    return SnapshotTags(
        vault_id="/v",
        instance="bi",
        policy="p",
        recovery_point_id=POINT,
        slot=None,
        retention_tag="Default",
        earned_tags=("Default",),
        expires_at=NOW + timedelta(days=7),
        source=SourceDisk(id="/d", location="westus", **{"sku": "Premium_LRS", "size_gb": 64, **source}),
    )


SNAPSHOT = SnapshotInfo(
    id="/s", name="s", location="westus", tags={}, incremental=True, provisioning_state="Succeeded",
    time_created=NOW, completion_percent=100.0, source_resource_id="/d", source_unique_id="u",
)  # fmt: skip


def test_the_new_disk_is_the_source_disk_unless_overridden() -> None:
    source = _tags(zone="2", tier="P30", disk_encryption_set_id="/des")
    plain = disk_settings(source, SNAPSHOT, parse_restore_request(BODY).overrides)
    assert plain == DiskSettings(
        "westus", "Premium_LRS", "2", "P30", "/des", {TAG_RESTORED_RECOVERY_POINT: POINT}
    )

    overrides = {"skuName": "standardssd_zrs", "zone": "1", "tags": {"team": "db"}}
    spec = parse_restore_request(body(restoreTargetInfo__datasourceInfo__resourceProperties=overrides))
    changed = disk_settings(source, SNAPSHOT, spec.overrides)
    assert (changed.sku, changed.zone, changed.tier) == ("StandardSSD_ZRS", None, None)  # ZRS has no zone
    assert changed.tags == {"team": "db", TAG_RESTORED_RECOVERY_POINT: POINT}

    no_zone = parse_restore_request(
        body(restoreTargetInfo__datasourceInfo__resourceProperties={"zone": None})
    )
    assert disk_settings(source, SNAPSHOT, no_zone.overrides).zone is None


def test_the_message_round_trips() -> None:
    message = RestoreMessage(
        vault=VaultRef(SUB, "rg", "vault"),
        instance="bi",
        job_id="00000000-0000-4000-8000-000000000001",
        recovery_point_id=POINT,
        snapshot_id="/s",
        target_id=TARGET,
        settings=DiskSettings("westus", "Premium_LRS", None, "P30", None, {"k": "v"}),
        lease_until=NOW,
    )
    assert RestoreMessage.from_json(message.to_json()) == message
    with pytest.raises(ValidationError):
        RestoreMessage.from_json("{}")


def test_ten_restores_and_ten_on_demand_backups_per_rolling_day() -> None:
    times = [NOW - timedelta(hours=h) for h in range(30)]
    assert len(recent_restores(times, NOW)) == 24
    assert len(recent_requests(times, NOW)) == 24
    check_restore_rate(recent_restores(times[:9], NOW), "bi")
    with pytest.raises(LimitExceededError) as refused:
        check_restore_rate(recent_restores(times[:10], NOW), "bi")
    assert refused.value.code == "RestoreDailyLimitReached"
    assert "2026-11-26T19:00:00Z" in refused.value.message  # the oldest of the ten leaves the window


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConflictError("x", code="PropertyChangeNotAllowed"), "UserErrorSameNameDiskAlreadyExists"),
        (
            AuthorizationError("x", code="LinkedAuthorizationFailed"),
            "UserErrorNotEnoughPermissionOnSnapshotRG",
        ),
        (AuthorizationError("x", code="AuthorizationFailed"), "UserErrorNotEnoughPermissionOnTargetRG"),
        (NotFoundError("x", code="ResourceGroupNotFound"), "UserErrorRestoreTargetRGNotFound"),
        (NotFoundError("x", code="NotFound"), "UserErrorDiskSnapshotNotFound"),
        (LimitExceededError("x", code="QuotaExceeded"), "UserErrorSubscriptionDiskQuotaLimitReached"),
        (ValidationError("x", code="InvalidParameter"), "InvalidParameter"),
    ],
)
def test_arm_failures_become_restore_error_codes(error: Exception, code: str) -> None:
    assert isinstance(
        error, ValidationError | ConflictError | AuthorizationError | NotFoundError | LimitExceededError
    )
    mapped = restore_error(error)
    assert mapped.code == code
    assert type(mapped) is type(error)
