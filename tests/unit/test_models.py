"""Domain vocabulary: Azure's values, invariants and health bookkeeping."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from backup.domain.models import (
    BackupInstanceHealth,
    JobOperation,
    JobStatus,
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
)
from tests.unit.policy_builders import make_point, utc


def test_protection_states_are_azures_values() -> None:
    assert {state.value for state in ProtectionState} == {
        "Invalid", "NotProtected", "ConfiguringProtection", "ProtectionConfigured",
        "BackupSchedulesSuspended", "RetentionSchedulesSuspended", "ProtectionStopped", "ProtectionError",
        "ConfiguringProtectionFailed", "SoftDeleting", "SoftDeleted", "UpdatingProtection",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("state", "takes_backups"),
    [
        (ProtectionState.PROTECTION_CONFIGURED, True),
        (ProtectionState.PROTECTION_ERROR, True),
        (ProtectionState.RETENTION_SCHEDULES_SUSPENDED, True),
        (ProtectionState.BACKUP_SCHEDULES_SUSPENDED, False),
        (ProtectionState.PROTECTION_STOPPED, False),
        (ProtectionState.CONFIGURING_PROTECTION, False),
        (ProtectionState.SOFT_DELETED, False),
    ],
)
def test_which_states_take_scheduled_backups(state: ProtectionState, takes_backups: bool) -> None:
    assert state.takes_scheduled_backups is takes_backups


@pytest.mark.parametrize(
    ("operation", "category", "user_triggered"),
    [
        (JobOperation.SCHEDULED_BACKUP, "Backup", False),
        (JobOperation.ON_DEMAND_BACKUP, "Backup", True),
        (JobOperation.RESTORE, "Restore", True),
        (JobOperation.RETENTION_DELETION, "Management", False),
    ],
)
def test_job_operations_map_to_azure_categories(
    operation: JobOperation, category: str, user_triggered: bool
) -> None:
    assert (operation.operation_category, operation.is_user_triggered) == (category, user_triggered)


def test_job_statuses() -> None:
    assert [status.value for status in JobStatus] == [
        "InProgress",
        "Completed",
        "CompletedWithWarnings",
        "Failed",
    ]
    assert [status.succeeded for status in JobStatus] == [False, True, True, False]
    assert [status.is_terminal for status in JobStatus] == [False, True, True, True]


@pytest.mark.parametrize(
    ("name", "tag"),
    [("default", RetentionTag.DEFAULT), (" Weekly ", RetentionTag.WEEKLY), ("Monthly", None), ("", None)],
)
def test_retention_tag_names(name: str, tag: RetentionTag | None) -> None:
    assert RetentionTag.from_name(name) is tag


def test_recovery_point_invariants() -> None:
    point = make_point(utc(2024, 1, 1))
    assert not point.is_on_demand
    assert point.with_state(RecoveryPointState.DELETING) == replace(point, state=RecoveryPointState.DELETING)
    assert make_point(utc(2024, 1, 1), slot=None).is_on_demand

    with pytest.raises(ValueError, match="timezone-aware"):
        make_point(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="earned_tags"):
        RecoveryPoint(**{**point.__dict__, "retention_tag": RetentionTag.WEEKLY})


def test_health_counts_consecutive_failures_and_keeps_the_last_error() -> None:
    health = BackupInstanceHealth().after_success(utc(2024, 1, 1))
    health = health.after_failure("UserErrorDiskBackupDiskOrMSIPermissionsNotPresent", "Role missing")
    health = health.after_failure("UserErrorSnapshotRGNotFound", "RG gone")

    assert health == BackupInstanceHealth(
        last_successful_backup=utc(2024, 1, 1),
        consecutive_failures=2,
        last_error_code="UserErrorSnapshotRGNotFound",
        last_error_message="RG gone",
    )
    healed = health.after_success(utc(2024, 1, 2))
    assert (healed.consecutive_failures, healed.last_successful_backup) == (0, utc(2024, 1, 2))
    assert healed.last_error_code == "UserErrorSnapshotRGNotFound"
    # A late report of an older success never moves the timestamp back.
    assert healed.after_success(utc(2023, 12, 31)).last_successful_backup == utc(2024, 1, 2)
