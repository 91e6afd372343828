"""Domain vocabulary: retention tags, protection states, jobs and recovery points.

Names and string values are Azure's (Microsoft.DataProtection) wherever Azure has one, so
they can go straight into API responses and job records. Nothing here knows how it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class RetentionTag(StrEnum):
    """The tags a disk policy may use (the AzureDisk manifest allows Daily and Weekly besides Default)."""

    DEFAULT = "Default"
    DAILY = "Daily"
    WEEKLY = "Weekly"

    @classmethod
    def from_name(cls, name: str) -> RetentionTag | None:
        """Case-insensitive, as Azure accepts ``--retention-tag-override "default"``."""
        folded = name.strip().casefold()
        return next((tag for tag in cls if tag.value.casefold() == folded), None)


class TagCriterion(StrEnum):
    """Azure's ``AbsoluteMarker`` values that disks support."""

    FIRST_OF_DAY = "FirstOfDay"
    FIRST_OF_WEEK = "FirstOfWeek"


class ProtectionState(StrEnum):
    """``currentProtectionState`` of a backup instance, exactly Azure's values."""

    INVALID = "Invalid"
    NOT_PROTECTED = "NotProtected"
    CONFIGURING_PROTECTION = "ConfiguringProtection"
    PROTECTION_CONFIGURED = "ProtectionConfigured"
    BACKUP_SCHEDULES_SUSPENDED = "BackupSchedulesSuspended"
    RETENTION_SCHEDULES_SUSPENDED = "RetentionSchedulesSuspended"
    PROTECTION_STOPPED = "ProtectionStopped"
    PROTECTION_ERROR = "ProtectionError"
    CONFIGURING_PROTECTION_FAILED = "ConfiguringProtectionFailed"
    SOFT_DELETING = "SoftDeleting"
    SOFT_DELETED = "SoftDeleted"
    UPDATING_PROTECTION = "UpdatingProtection"

    @property
    def takes_scheduled_backups(self) -> bool:
        # ProtectionError keeps trying so that fixing the cause (a role, a lock) heals the instance
        # without a manual resume.
        return self in _TAKES_SCHEDULED_BACKUPS

    @property
    def applies_retention(self) -> bool:
        """Whether expired points may be deleted.

        "Stop protection and retain data" (ProtectionStopped) keeps everything forever;
        "suspend backups" (BackupSchedulesSuspended) keeps applying the policy. States we have
        no documented rule for keep everything: deleting too little is recoverable, too much is not.
        """
        return self in _APPLIES_RETENTION


_TAKES_SCHEDULED_BACKUPS = frozenset(
    {
        ProtectionState.PROTECTION_CONFIGURED,
        ProtectionState.PROTECTION_ERROR,
        ProtectionState.RETENTION_SCHEDULES_SUSPENDED,
        ProtectionState.UPDATING_PROTECTION,
    }
)
_APPLIES_RETENTION = frozenset(
    {
        ProtectionState.CONFIGURING_PROTECTION,
        ProtectionState.PROTECTION_CONFIGURED,
        ProtectionState.PROTECTION_ERROR,
        ProtectionState.UPDATING_PROTECTION,
        ProtectionState.BACKUP_SCHEDULES_SUSPENDED,
    }
)


class JobOperation(StrEnum):
    """What a job did, as stored and indexed (``k|o|{value}|``); the API shows :attr:`rest_value`.

    Storage keeps the finer kind (scheduled and on-demand backups apart), which Azure splits
    into ``operation: Backup`` plus ``isUserTriggered``; keeping it means jobs stored before the
    API showed Azure's values need no backfill, and a filter on Azure's value reads the ranges of
    every kind that shows it.
    """

    SCHEDULED_BACKUP = "ScheduledBackup"
    ON_DEMAND_BACKUP = "OnDemandBackup"
    RESTORE = "Restore"
    RETENTION_DELETION = "RetentionDeletion"

    @property
    def rest_value(self) -> str:
        """Azure's ``operation``: ``Backup`` for every backup, ``Restore``; a retention deletion
        has no Azure job (Azure prunes expired points silently), so it keeps our name, under the
        ``Management`` category."""
        return {
            JobOperation.SCHEDULED_BACKUP: "Backup",
            JobOperation.ON_DEMAND_BACKUP: "Backup",
            JobOperation.RESTORE: "Restore",
            JobOperation.RETENTION_DELETION: "RetentionDeletion",
        }[self]

    @property
    def operation_category(self) -> str:
        """Azure's ``operationCategory``: Backup, Restore or Management."""
        return {
            JobOperation.SCHEDULED_BACKUP: "Backup",
            JobOperation.ON_DEMAND_BACKUP: "Backup",
            JobOperation.RESTORE: "Restore",
            JobOperation.RETENTION_DELETION: "Management",
        }[self]

    @property
    def is_user_triggered(self) -> bool:
        return self in (JobOperation.ON_DEMAND_BACKUP, JobOperation.RESTORE)

    @property
    def recorded_when_accepted(self) -> bool:
        """Whether the API stores the job InProgress when it accepts the request (the worker later
        writes its end): only these jobs ever change status once stored."""
        return self in (JobOperation.ON_DEMAND_BACKUP, JobOperation.RESTORE)


class JobStatus(StrEnum):
    """The subset of Azure's job statuses that our jobs reach (we never cancel or pause)."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    COMPLETED_WITH_WARNINGS = "CompletedWithWarnings"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self is not JobStatus.IN_PROGRESS

    @property
    def succeeded(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_WARNINGS)


class RecoveryPointState(StrEnum):
    """A point exists only for a backup that succeeded; the state says whether it is usable yet."""

    CREATING = "Creating"
    """The snapshot exists but cannot be restored yet (Premium SSD v2 / Ultra background copy)."""
    COMMITTED = "Committed"
    DELETING = "Deleting"


@dataclass(frozen=True)
class RecoveryPoint:
    """One snapshot of one disk, with the retention it earned when it was taken.

    ``slot`` is the schedule slot the point fills, or ``None`` for an on-demand backup.
    ``retention_tag`` is the primary (highest-priority) tag, as Azure reports
    ``retentionTagName``; ``earned_tags`` are all the tags it earned, which decide both
    ``expires_at`` and whether a later backup can still earn a Daily or Weekly tag.
    """

    id: str
    instance: str
    slot: datetime | None
    created_at: datetime
    retention_tag: RetentionTag
    earned_tags: frozenset[RetentionTag]
    expires_at: datetime
    snapshot_id: str
    state: RecoveryPointState = RecoveryPointState.COMMITTED
    in_use_until: datetime | None = None
    """Set by a restore that reads from this point; retention leaves it alone until then."""
    source_disk_tags: tuple[tuple[str, str], ...] = ()
    """The source disk's own tags at backup time, which a restored disk inherits."""
    policy_name: str | None = None
    """The policy its instance was under when the point was recorded (the store sets it), which
    Azure reports as the point's ``policyName``; ``None`` on rows from before it was kept."""
    policy_version: str | None = None
    """That policy's ``policyVersion`` then (:func:`backup.domain.policy.policy_version`), set
    with ``policy_name``."""

    def __post_init__(self) -> None:
        for name in ("slot", "created_at", "expires_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"RecoveryPoint.{name} must be timezone-aware")
        if self.retention_tag not in self.earned_tags:
            raise ValueError("RecoveryPoint.retention_tag must be one of its earned_tags")

    @property
    def is_on_demand(self) -> bool:
        return self.slot is None

    def with_state(self, state: RecoveryPointState) -> RecoveryPoint:
        return replace(self, state=state)


@dataclass(frozen=True)
class BackupInstanceHealth:
    """What the API and alerts report about an instance's recent backups."""

    last_successful_backup: datetime | None = None
    consecutive_failures: int = 0
    last_error_code: str | None = None
    last_error_message: str | None = None
    oldest_point_at: datetime | None = None
    """When the oldest live recovery point was taken: how far back the disk can be restored
    (``None`` when it has none, or its row predates the column: see ``docs/storage.md``)."""

    def after_success(self, at: datetime) -> BackupInstanceHealth:
        # The last error stays visible after a success; consecutive_failures says it is healed.
        if at.tzinfo is None:
            raise ValueError("BackupInstanceHealth needs a timezone-aware time")
        latest = at if self.last_successful_backup is None else max(at, self.last_successful_backup)
        return replace(self, last_successful_backup=latest, consecutive_failures=0)

    def after_failure(self, code: str, message: str) -> BackupInstanceHealth:
        return replace(
            self,
            consecutive_failures=self.consecutive_failures + 1,
            last_error_code=code,
            last_error_message=message,
        )
