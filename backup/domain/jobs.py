"""Jobs: the record of every backup, restore and retention deletion.

Job ids are GUID-shaped, as Azure's are, but derived: the first 12 hex digits are the
inverted start time in milliseconds, so ids sort newest first in storage, and the rest is a
hash of what the job is about, so the job of one scheduled slot always gets the same id and
a retried or duplicated run cannot record two jobs for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from backup.domain.clock import MAX_INVERTED_MILLIS, epoch_millis
from backup.domain.models import JobOperation, JobStatus

if TYPE_CHECKING:
    from backup.domain.instance import BackupInstance


RESTORE_TYPE = "RecoveryPoint"
"""A disk restore is always from a discrete recovery point: Azure's ``restoreType`` for it."""

STATUSES_A_JOB_LEAVES = (JobStatus.IN_PROGRESS,)
"""Once stored, a job changes status only from InProgress to its end."""


def job_id(start: datetime, *identity: str) -> str:
    if start.tzinfo is None:
        raise ValueError("job start times must be timezone-aware")
    millis = epoch_millis(start)
    digits = format(MAX_INVERTED_MILLIS - millis, "012x")
    digits += hashlib.sha256("|".join(identity).encode()).hexdigest()[:20]
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:32]}"


def scheduled_backup_job_id(instance_key: str, slot: datetime) -> str:
    return job_id(slot, instance_key, "scheduled", slot.astimezone(UTC).isoformat())


@dataclass(frozen=True)
class Job:
    id: str
    vault_id: str
    instance: str
    operation: JobOperation
    status: JobStatus
    start_time: datetime
    end_time: datetime | None = None
    datasource_id: str | None = None
    datasource_name: str | None = None
    datasource_location: str | None = None
    policy_name: str | None = None
    recovery_point_id: str | None = None
    restore_target_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    progress_percent: int | None = None
    initiated_by: str = "system"
    warnings: tuple[str, ...] = ()
    policy_rule_name: str | None = None
    """Backups: the policy's backup rule (``ruleName`` of an on-demand request), as Azure's
    ``additionalDetails.PolicyRuleName``."""
    retention_tag: str | None = None
    """Backups: the retention tag the recovery point got (``additionalDetails.RetentionTag``)."""
    recovery_point_time: datetime | None = None
    """Restores: when the restored point was taken (``sourceRecoverPoint.recoveryPointTime``)."""
    instance_state: str | None = None
    """Restores: the instance's ``currentProtectionState`` when the restore was accepted
    (``extendedInfo.backupInstanceState``)."""

    @classmethod
    def for_instance(
        cls,
        instance: BackupInstance,
        *,
        id: str,
        operation: JobOperation,
        start_time: datetime,
        **details: Any,
    ) -> Job:
        """An InProgress job about one backup instance, with the datasource fields filled in."""
        return cls(
            id=id,
            vault_id=instance.vault.id,
            instance=instance.name,
            operation=operation,
            status=JobStatus.IN_PROGRESS,
            start_time=start_time,
            datasource_id=instance.disk_id,
            datasource_name=instance.disk_id.rsplit("/", 1)[-1],
            datasource_location=instance.disk_location,
            policy_name=instance.policy_name,
            **details,
        )

    @property
    def duration_seconds(self) -> float | None:
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def completed(
        self, at: datetime, *, recovery_point_id: str | None = None, retention_tag: str | None = None
    ) -> Job:
        return replace(
            self,
            status=JobStatus.COMPLETED_WITH_WARNINGS if self.warnings else JobStatus.COMPLETED,
            end_time=at,
            progress_percent=100,
            recovery_point_id=recovery_point_id or self.recovery_point_id,
            retention_tag=retention_tag or self.retention_tag,
        )

    def failed(self, at: datetime, code: str, message: str) -> Job:
        return replace(self, status=JobStatus.FAILED, end_time=at, error_code=code, error_message=message)

    @property
    def superseded_statuses(self) -> tuple[JobStatus, ...]:
        """The statuses this job may have been stored with before, that it no longer has.

        Only a job the API recorded InProgress when it accepted the request changes status once
        stored (scheduled backups, missed slots and deletions are written once, at their end), so
        a finished one supersedes ``InProgress``. The job index marks those rows stale.
        """
        if self.status.is_terminal and self.operation.recorded_when_accepted:
            return STATUSES_A_JOB_LEAVES
        return ()


class JobIndexField(StrEnum):
    """What the job index keys jobs by, so a ``$filter`` on it reads only the matching jobs."""

    STATUS = "status"
    OPERATION = "operation"
    INSTANCE = "instance"


@dataclass(frozen=True)
class JobIndexScan:
    """Read only the jobs whose ``field`` has one of ``values`` (one index range each, merged
    newest first), instead of every job of the vault."""

    field: JobIndexField
    values: tuple[str, ...]
