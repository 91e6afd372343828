"""What a restore creates, decided before any ARM call: the new disk's settings, the queue
message that carries them to the worker, and the rolling restore rate.

Pure: no I/O. :mod:`backup.services.restore` checks the request against Azure and runs it.

The new disk gets the source disk's SKU, zone, performance tier and disk encryption set as the
snapshot's tags recorded them at backup time (:class:`~backup.domain.snapshots.SourceDisk`),
the request's overrides on top, its size from the snapshot, the snapshot's region, and two tags
naming where it came from (:data:`TAG_RESTORED_RECOVERY_POINT`, :data:`TAG_RESTORE_JOB`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from backup.domain.arm import SnapshotInfo
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.limits import MAX_DISK_TAGS, MAX_RESTORES_PER_DAY, RESTORE_RATE_WINDOW
from backup.domain.models import RecoveryPoint
from backup.domain.records import Versioned
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import SnapshotTags
from backup.errors import LimitExceededError, ValidationError

DISK_RESTORE_OPERATOR_ACTIONS = ("Microsoft.Compute/disks/write", "Microsoft.Compute/disks/read")
SNAPSHOT_ACTIONS_FOR_RESTORE = (
    "Microsoft.Compute/snapshots/read",
    "Microsoft.Compute/snapshots/beginGetAccess/action",
)

PROGRESS_ACCEPTED = 10
"""The job's progress once the restore is accepted: nothing created yet."""
PROGRESS_STARTED = 25
"""The job's progress once the worker has it and found the target name free."""
PROGRESS_CREATING = 50
"""The job's progress once the snapshot is verified and the worker starts creating the disk (a
disk of the target's name may be this job's from then on)."""

TAG_RESTORED_RECOVERY_POINT = "adb-restored-recovery-point"
TAG_RESTORE_JOB = "adb-restore-job"
RESTORE_OWN_TAGS = 2
"""Tags every restored disk gets besides the inherited and requested ones (the two above)."""

TARGET_RG_NOT_FOUND = "UserErrorRestoreTargetRGNotFound"
TARGET_RG_PERMISSIONS = "UserErrorNotEnoughPermissionOnTargetRG"
SNAPSHOT_RG_PERMISSIONS = "UserErrorNotEnoughPermissionOnSnapshotRG"
SAME_NAME_DISK = "UserErrorSameNameDiskAlreadyExists"
RECOVERY_POINT_NOT_FOUND = "UserErrorRecoveryPointNotFound"
SNAPSHOT_NOT_FOUND = "UserErrorDiskSnapshotNotFound"
SNAPSHOT_METADATA = "UserErrorSnapshotMetadataNotFound"
COPY_IN_PROGRESS = "UserErrorSnapshotCopyInProgress"
DAILY_LIMIT = "RestoreDailyLimitReached"
DISK_QUOTA = "UserErrorSubscriptionDiskQuotaLimitReached"
RETRIES_EXHAUSTED = "RestoreRetriesExhausted"


class SettingsOverrides(Protocol):
    """What a restore request may set instead of the source disk's settings
    (:class:`backup.shapes.restore.DiskOverrides` is the parsed form)."""

    @property
    def sku(self) -> str | None: ...

    @property
    def zone(self) -> str | None: ...

    @property
    def sets_zone(self) -> bool:
        """Whether :attr:`zone` replaces the source disk's zone (``None`` then means no zone)."""
        ...

    @property
    def tier(self) -> str | None: ...

    @property
    def disk_encryption_set_id(self) -> str | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class DiskSettings:
    location: str
    sku: str
    zone: str | None
    tier: str | None
    disk_encryption_set_id: str | None
    tags: Mapping[str, str]

    def for_job(self, job_id: str) -> DiskSettings:
        """The settings with the tag that names the restore job (room for it was kept)."""
        return replace(self, tags={**self.tags, TAG_RESTORE_JOB: job_id})


@dataclass(frozen=True)
class RestorePlan:
    """A restore that passed every check: what to create, from what."""

    instance: BackupInstance
    point: Versioned[RecoveryPoint]
    snapshot: SnapshotInfo
    target: ComputeResourceId
    settings: DiskSettings


def disk_settings(
    source: SnapshotTags,
    snapshot: SnapshotInfo,
    overrides: SettingsOverrides,
    source_disk_tags: Mapping[str, str] | None = None,
) -> DiskSettings:
    """The source disk as the snapshot's tags recorded it, with the request's overrides on top.

    The restored disk inherits the source disk's own tags (recorded on the recovery point at
    backup time), then the request's tags, then the two that name the restore. Azure allows
    50 tags on a disk; inherited ones beyond that are dropped, in name order.
    """
    sku = overrides.sku or source.source.sku
    zone = overrides.zone if overrides.sets_zone else source.source.zone
    if sku.upper().endswith("_ZRS"):
        zone = None
    tier = overrides.tier or (source.source.tier if not overrides.sku else None)
    room = MAX_DISK_TAGS - RESTORE_OWN_TAGS - len(overrides.tags)
    inherited = dict(sorted((source_disk_tags or {}).items())[: max(0, room)])
    tags = {**inherited, **overrides.tags, TAG_RESTORED_RECOVERY_POINT: source.recovery_point_id}
    return DiskSettings(
        location=snapshot.location,
        sku=sku,
        zone=zone,
        tier=tier,
        disk_encryption_set_id=overrides.disk_encryption_set_id or source.source.disk_encryption_set_id,
        tags=tags,
    )


@dataclass(frozen=True)
class RestoreMessage:
    """What the restore queue carries: everything the worker needs, decided when it was accepted."""

    vault: VaultRef
    instance: str
    job_id: str
    recovery_point_id: str
    snapshot_id: str
    target_id: str
    settings: DiskSettings
    lease_until: datetime

    def to_json(self) -> str:
        settings = self.settings
        body: dict[str, Any] = {
            "v": 1,
            "vault": [self.vault.subscription_id, self.vault.resource_group, self.vault.name],
            "instance": self.instance,
            "jobId": self.job_id,
            "recoveryPointId": self.recovery_point_id,
            "snapshotId": self.snapshot_id,
            "target": self.target_id,
            "location": settings.location,
            "sku": settings.sku,
            "zone": settings.zone,
            "tier": settings.tier,
            "diskEncryptionSetId": settings.disk_encryption_set_id,
            "tags": dict(settings.tags),
            "leaseUntil": self.lease_until.astimezone(UTC).isoformat(),
        }
        return json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> RestoreMessage:
        try:
            body = json.loads(text)
            subscription_id, resource_group, vault = body["vault"]
            lease = datetime.fromisoformat(body["leaseUntil"])
            if lease.tzinfo is None:
                raise ValueError("leaseUntil must carry a time zone")
            return cls(
                vault=VaultRef(str(subscription_id), str(resource_group), str(vault)),
                instance=str(body["instance"]),
                job_id=str(body["jobId"]),
                recovery_point_id=str(body["recoveryPointId"]),
                snapshot_id=str(body["snapshotId"]),
                target_id=str(body["target"]),
                settings=DiskSettings(
                    location=str(body["location"]),
                    sku=str(body["sku"]),
                    zone=body.get("zone"),
                    tier=body.get("tier"),
                    disk_encryption_set_id=body.get("diskEncryptionSetId"),
                    tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
                ),
                lease_until=lease,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationError(
                f"unreadable restore request: {error}", code="MalformedQueueMessage"
            ) from error


def recent_restores(times: Sequence[datetime], now: datetime) -> tuple[datetime, ...]:
    """The restores that count against the rate at ``now``, oldest first."""
    start = now - RESTORE_RATE_WINDOW
    return tuple(sorted(at for at in times if start < at <= now))


def check_restore_rate(recent: Sequence[datetime], instance: str) -> None:
    """Refuse an eleventh restore within the rolling window, saying when the next is allowed."""
    if len(recent) < MAX_RESTORES_PER_DAY:
        return
    next_allowed = recent[-MAX_RESTORES_PER_DAY] + RESTORE_RATE_WINDOW
    raise LimitExceededError(
        f"The backup instance '{instance}' had {len(recent)} restores in the last 24 hours; the limit is "
        f"{MAX_RESTORES_PER_DAY}. The next restore is allowed after "
        f"{next_allowed.astimezone(UTC).isoformat().replace('+00:00', 'Z')}.",
        code=DAILY_LIMIT,
    )
