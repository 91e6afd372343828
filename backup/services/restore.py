"""Restore a recovery point as a new disk: validate, accept, and the queue worker that does it.

Request (``AzureBackupRecoveryPointBasedRestoreRequest``, as the SDK and the CLI send it)::

    {"objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
     "recoveryPointId": "<32 hex or the friendlyName GUID>",
     "sourceDataStoreType": "OperationalStore",
     "restoreTargetInfo": {
        "objectType": "RestoreTargetInfo", "recoveryOption": "FailIfExists",
        "restoreLocation": "<the snapshot's region>",
        "datasourceInfo": {"resourceID": "<ARM id of the new disk>", ...,
                           "resourceProperties": {<optional overrides, below>}}}}

What the new disk gets: the source disk's SKU, zone, performance tier and disk encryption set
as recorded in the snapshot's tags at backup time (:class:`~backup.domain.snapshots.SourceDisk`),
its size from the snapshot, the snapshot's region, and two tags naming where it came from
(:data:`TAG_RESTORED_RECOVERY_POINT`, :data:`TAG_RESTORE_JOB`). The source disk's own tags are
not recorded in snapshots, so they are not restored.

Overrides: Azure's request model has no field for disk settings (Azure's disk restore offers
none). ``datasourceInfo.resourceProperties`` is the model's one open object
(``DefaultResourceProperties``), so overrides go there::

    "resourceProperties": {"objectType": "DefaultResourceProperties",
                           "skuName": "Premium_LRS", "zone": "2" | null, "tier": "P30",
                           "diskEncryptionSetId": "<ARM id>", "tags": {"k": "v"}}

``zone: null`` restores without a zone; a ``*_ZRS`` SKU never gets one. Unknown keys are
refused, so a typo cannot silently restore with the wrong settings.

Checks (validateRestore runs them; restore runs them again), each with Azure's code:

=====================================================  ========================================  ====
target resource group exists                           UserErrorRestoreTargetRGNotFound          404
Disk Restore Operator actions on the target RG         UserErrorNotEnoughPermissionOnTargetRG    403
no disk of the target name                             UserErrorSameNameDiskAlreadyExists        409
recovery point exists                                  UserErrorRecoveryPointNotFound            404
Disk Snapshot Contributor actions on the snapshot RG   UserErrorNotEnoughPermissionOnSnapshotRG  403
the snapshot exists                                    UserErrorDiskSnapshotNotFound             404
its tags name this recovery point                      UserErrorSnapshotMetadataNotFound         409
restoreLocation is the snapshot's region               UserErrorRestoreLocationMismatch          400
background copy done (Premium SSD v2, Ultra)           UserErrorSnapshotCopyInProgress           409
=====================================================  ========================================  ====

Accepting a restore writes, in one entity-group transaction, the InProgress Restore job
(progress 10%), the instance's restore count (10 per rolling 24 hours, with the count row's
ETag, so concurrent requests cannot both pass) and the recovery point's ``InUseUntil`` lease
(with the point's ETag), then queues a :class:`RestoreMessage` on ``names.RESTORE_QUEUE``.

The worker (:class:`RestoreRunner`) is idempotent. The job row says how far a restore got: at
10% nothing was created yet, so a disk of the target name is someone else's and the job fails
``UserErrorSameNameDiskAlreadyExists``; it then moves the job to 50% and PUTs the disk. A
redelivered or duplicated message that finds the job at 50% PUTs the same disk again, which
ARM treats as an idempotent update of the disk it already created from the same snapshot (a
disk of that name from another source answers ``PropertyChangeNotAllowed``, reported as
``UserErrorSameNameDiskAlreadyExists``); one that finds the job finished does nothing. The job
ends Completed (100%) or Failed, and the lease is released either way.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from backup import names
from backup.domain.arm import SnapshotInfo
from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef, instance_key, instance_not_found
from backup.domain.jobs import Job, job_id
from backup.domain.limits import (
    MAX_DEQUEUE_COUNT,
    MAX_DISK_TAGS,
    MAX_RESTORES_PER_DAY,
    RESTORE_LEASE,
    RESTORE_RATE_WINDOW,
)
from backup.domain.models import JobOperation, ProtectionState, RecoveryPoint, RecoveryPointState
from backup.domain.records import Versioned
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import SnapshotTags
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    PermanentError,
    RetryableError,
    TransientError,
    ValidationError,
)
from backup.ports import ArmGateway, SendMessages, VaultStore
from backup.services.etag_retry import raising, retry_lost_races
from backup.shapes.restore import LOCATION_MISMATCH, DiskOverrides, RestoreSpec, normalize_location
from backup.telemetry import RUN_OUTCOME, Telemetry

_log = logging.getLogger(__name__)


OPERATIONAL_STORE = "OperationalStore"

DISK_RESTORE_OPERATOR = "Disk Restore Operator"
DISK_RESTORE_OPERATOR_ACTIONS = ("Microsoft.Compute/disks/write", "Microsoft.Compute/disks/read")
DISK_SNAPSHOT_CONTRIBUTOR = "Disk Snapshot Contributor"
SNAPSHOT_ACTIONS_FOR_RESTORE = (
    "Microsoft.Compute/snapshots/read",
    "Microsoft.Compute/snapshots/beginGetAccess/action",
)


PROGRESS_ACCEPTED = 10
PROGRESS_CREATING = 50

TAG_RESTORED_RECOVERY_POINT = "adb-restored-recovery-point"
TAG_RESTORE_JOB = "adb-restore-job"

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


# --- the plan and the message -------------------------------------------------------------------


@dataclass(frozen=True)
class DiskSettings:
    location: str
    sku: str
    zone: str | None
    tier: str | None
    disk_encryption_set_id: str | None
    tags: Mapping[str, str]


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
    overrides: DiskOverrides,
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
    room = MAX_DISK_TAGS - 2 - len(overrides.tags)
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
    start = now - RESTORE_RATE_WINDOW
    return tuple(sorted(at for at in times if start < at <= now))


def check_restore_rate(recent: Sequence[datetime], instance: str) -> None:
    if len(recent) < MAX_RESTORES_PER_DAY:
        return
    next_allowed = recent[-MAX_RESTORES_PER_DAY] + RESTORE_RATE_WINDOW
    raise LimitExceededError(
        f"The backup instance '{instance}' had {len(recent)} restores in the last 24 hours; the limit is "
        f"{MAX_RESTORES_PER_DAY}. The next restore is allowed after "
        f"{next_allowed.astimezone(UTC).isoformat().replace('+00:00', 'Z')}.",
        code=DAILY_LIMIT,
    )


# --- API side: validate and accept ---------------------------------------------------------------


class RestoreService:
    def __init__(
        self, store: VaultStore, compute: ArmGateway, clock: Clock, send_restore_requests: SendMessages
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._send = send_restore_requests

    async def validate(self, vault: VaultRef, instance_name: str, spec: RestoreSpec) -> RestorePlan:
        """Every check a restore makes before it is accepted; raises the first that fails."""
        current = await self._store.get_instance(vault, instance_name)
        if current is None:
            raise instance_not_found(vault, instance_name)
        instance = current.value
        if instance.protection_state in (ProtectionState.SOFT_DELETED, ProtectionState.SOFT_DELETING):
            raise ConflictError(
                f"The backup instance '{instance.name}' is deleted; undelete it before restoring from it.",
                code="UserErrorBackupInstanceSoftDeleted",
                target="backupInstanceName",
            )
        compute = self._compute.for_identity(instance.identity)
        await self._check_target(spec.target, compute)
        point = await self._store.get_recovery_point(vault, instance.name, spec.recovery_point_id)
        if point is None or point.value.state is RecoveryPointState.DELETING:
            raise NotFoundError(
                f"The recovery point '{spec.recovery_point_id}' of backup instance '{instance.name}' was not "
                "found; list the instance's recovery points for the ones that can be restored.",
                code=RECOVERY_POINT_NOT_FOUND,
                target="recoveryPointId",
            )
        snapshot, tags = await self._check_snapshot(instance, point.value)
        if normalize_location(spec.restore_location) != normalize_location(snapshot.location):
            raise ValidationError(
                f"restoreLocation '{spec.restore_location}' is not the recovery point's region: a disk is "
                f"restored in the region of its snapshot, '{snapshot.location}'.",
                code=LOCATION_MISMATCH,
                target="restoreTargetInfo.restoreLocation",
            )
        if not snapshot.ready_for_restore:
            done = snapshot.completion_percent
            progress = f"{done:.0f}% copied" if done is not None else f"state {snapshot.provisioning_state}"
            raise ConflictError(
                f"The snapshot of recovery point '{point.value.id}' is still being copied in the background "
                f"({progress}); Premium SSD v2 and Ultra Disk snapshots can be restored only once the copy "
                "completes. Retry the restore later.",
                code=COPY_IN_PROGRESS,
                target="recoveryPointId",
            )
        settings = disk_settings(tags, snapshot, spec.overrides, dict(point.value.source_disk_tags))
        return RestorePlan(instance, point, snapshot, spec.target, settings)

    async def _check_target(self, target: ComputeResourceId, compute: ArmGateway) -> None:
        group = target.resource_group_id
        try:
            exists = await compute.resource_group_exists(group)
        except AuthorizationError:
            exists = True  # cannot tell: the permission check below names what is missing
        if not exists:
            raise NotFoundError(
                f"The target resource group '{group}' does not exist; create it, grant the backup app's "
                f"identity the '{DISK_RESTORE_OPERATOR}' role on it, and restore again.",
                code=TARGET_RG_NOT_FOUND,
                target="restoreTargetInfo.datasourceInfo.resourceID",
            )
        try:
            permissions = await compute.permissions(group)
        except NotFoundError as error:
            raise NotFoundError(
                f"The target resource group '{group}' does not exist ({error.message}).",
                code=TARGET_RG_NOT_FOUND,
                target="restoreTargetInfo.datasourceInfo.resourceID",
            ) from error
        missing = permissions.missing(DISK_RESTORE_OPERATOR_ACTIONS)
        if missing:
            raise AuthorizationError(
                f"The backup app's identity lacks {', '.join(missing)} on the target resource group "
                f"'{group}'. Grant it the '{DISK_RESTORE_OPERATOR}' role on '{group}' (and revoke it after "
                "the restore if you like).",
                code=TARGET_RG_PERMISSIONS,
                target="restoreTargetInfo.datasourceInfo.resourceID",
            )
        if await compute.find_disk(target) is not None:
            raise ConflictError(
                f"A disk named '{target.name}' already exists in resource group '{group.resource_group}'. "
                "A restore always creates a new disk: choose another name, or delete that disk first.",
                code=SAME_NAME_DISK,
                target="restoreTargetInfo.datasourceInfo.resourceID",
            )

    async def _check_snapshot(
        self, instance: BackupInstance, point: RecoveryPoint
    ) -> tuple[SnapshotInfo, SnapshotTags]:
        snapshot_id = ComputeResourceId.snapshot(point.snapshot_id)
        group = snapshot_id.resource_group_id
        gone = NotFoundError(
            f"The snapshot '{snapshot_id}' of recovery point '{point.id}' no longer exists; snapshots must "
            "stay in their snapshot resource group to be restored. Choose another recovery point.",
            code=SNAPSHOT_NOT_FOUND,
            target="recoveryPointId",
        )
        compute = self._compute.for_identity(instance.identity)
        try:
            permissions = await compute.permissions(group)
        except NotFoundError as error:
            raise gone from error
        missing = permissions.missing(SNAPSHOT_ACTIONS_FOR_RESTORE)
        if missing:
            raise AuthorizationError(
                f"The backup app's identity lacks {', '.join(missing)} on the snapshot resource group "
                f"'{group}'. Grant it the '{DISK_SNAPSHOT_CONTRIBUTOR}' role on '{group}' again.",
                code=SNAPSHOT_RG_PERMISSIONS,
                target="recoveryPointId",
            )
        snapshot = await compute.get_snapshot(snapshot_id)
        if snapshot is None:
            raise gone
        tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
        if (
            tags is None
            or tags.recovery_point_id != point.id
            or tags.instance.casefold() != instance.name.casefold()
            or tags.vault_id.casefold() != instance.vault.id.casefold()
        ):
            raise ConflictError(
                f"The snapshot '{snapshot_id}' no longer carries the tags that tie it to recovery point "
                f"'{point.id}' (they were changed or the snapshot was replaced), so it cannot be restored "
                "safely. Choose another recovery point.",
                code=SNAPSHOT_METADATA,
                target="recoveryPointId",
            )
        return snapshot, tags

    async def trigger(
        self, vault: VaultRef, instance_name: str, spec: RestoreSpec, *, requested_by: str
    ) -> Job:
        """Check, count, record the InProgress job, lease the point, queue the work; returns the job."""

        async def accept() -> Job:
            plan = await self.validate(vault, instance_name, spec)
            instance = plan.instance
            now = self._clock.now()
            usage = await self._store.get_restore_usage(vault, instance.name)
            recent = recent_restores(usage.value if usage else (), now)
            check_restore_rate(recent, instance.name)
            job = self._job(plan, now, requested_by)
            lease_until = now + RESTORE_LEASE
            # A lost race (the count or the point changed meanwhile) checks everything again.
            await self._store.accept_restore(
                vault,
                instance.name,
                usage=usage,
                recent_restores=(*recent, now),
                job=job,
                point=plan.point,
                in_use_until=lease_until,
            )
            message = RestoreMessage(
                vault=instance.vault,
                instance=instance.name,
                job_id=job.id,
                recovery_point_id=plan.point.value.id,
                snapshot_id=plan.snapshot.id,
                target_id=str(plan.target),
                settings=replace(plan.settings, tags={**plan.settings.tags, TAG_RESTORE_JOB: job.id}),
                lease_until=lease_until,
            )
            await self._enqueue(message, job, plan.point.value)
            return job

        return await retry_lost_races(
            accept,
            exhausted=raising(
                lambda: TransientError(
                    "The recovery point kept changing while the restore was being accepted; try again.",
                    code="ConcurrentUpdate",
                )
            ),
        )

    def _job(self, plan: RestorePlan, now: datetime, requested_by: str) -> Job:
        instance = plan.instance
        key = instance_key(instance.vault.id, instance.name)
        return Job.for_instance(
            instance,
            id=job_id(now, key, "restore", uuid.uuid4().hex),
            operation=JobOperation.RESTORE,
            start_time=now,
            recovery_point_id=plan.point.value.id,
            restore_target_id=str(plan.target),
            progress_percent=PROGRESS_ACCEPTED,
            initiated_by=requested_by,
        )

    async def _enqueue(self, message: RestoreMessage, job: Job, point: RecoveryPoint) -> None:
        try:
            await self._send([message.to_json()])
        except Exception as error:
            _log.exception("could not enqueue restore job %s", job.id)
            reason = "The restore could not be queued (storage unavailable); request it again."
            try:
                await self._store.put_job(job.failed(self._clock.now(), "RestoreQueueUnavailable", reason))
                await self._store.release_recovery_point(message.vault, point, message.lease_until)
            except BackupError:
                _log.exception("could not record the failure of job %s", job.id)
            raise TransientError(reason, code="ServiceUnavailable") from error


# --- worker side -----------------------------------------------------------------------------


class RestoreOutcome(StrEnum):
    COMPLETED = "Completed"
    DUPLICATE = "Duplicate"
    FAILED = "Failed"
    SKIPPED = "Skipped"


def restore_error(error: BackupError) -> BackupError:
    """An ARM failure of the disk creation in Azure's restore vocabulary (same class, same status)."""
    code, message = error.code, error.message
    if isinstance(error, ConflictError) and code in ("PropertyChangeNotAllowed", "InvalidResourceLocation"):
        return ConflictError(
            "A disk of the target name already exists and was not created from this recovery point: "
            + message,
            code=SAME_NAME_DISK,
        )
    if isinstance(error, AuthorizationError):
        if code == "LinkedAuthorizationFailed":
            return AuthorizationError(
                f"The backup app's identity cannot read the snapshot; grant it '{DISK_SNAPSHOT_CONTRIBUTOR}' "
                f"on the snapshot resource group. ({message})",
                code=SNAPSHOT_RG_PERMISSIONS,
            )
        return AuthorizationError(
            f"The backup app's identity cannot create the disk; grant it '{DISK_RESTORE_OPERATOR}' on the "
            f"target resource group. ({message})",
            code=TARGET_RG_PERMISSIONS,
        )
    if isinstance(error, NotFoundError):
        if code == "ResourceGroupNotFound":
            return NotFoundError(
                f"The target resource group does not exist. ({message})", code=TARGET_RG_NOT_FOUND
            )
        return NotFoundError(
            f"The snapshot to restore from no longer exists. ({message})", code=SNAPSHOT_NOT_FOUND
        )
    if isinstance(error, LimitExceededError) and code == "QuotaExceeded":
        return LimitExceededError(message, code=DISK_QUOTA)
    return error


class RestoreRunner:
    def __init__(self, store: VaultStore, compute: ArmGateway, clock: Clock, telemetry: Telemetry) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry

    async def handle_message(self, body: bytes | str, dequeue_count: int) -> RestoreOutcome:
        """The queue trigger's whole job: the last delivery records a failure instead of retrying."""
        try:
            message = RestoreMessage.from_json(body)
        except PermanentError:
            _log.error("dropping an unreadable restore request: %r", body[:200])
            return RestoreOutcome.SKIPPED
        return await self.run(message, final_attempt=dequeue_count >= MAX_DEQUEUE_COUNT)

    async def handle_poison(self, body: bytes | str) -> None:
        self._telemetry.poison_message(names.RESTORE_QUEUE + names.POISON_SUFFIX)
        try:
            message = RestoreMessage.from_json(body)
        except PermanentError:
            _log.error("an unreadable message reached the restore poison queue: %r", body[:200])
            return
        job = await self._store.get_job(message.vault, message.job_id)
        if job is None or job.status.is_terminal:
            return
        error = RetryableError(
            f"The restore was retried {MAX_DEQUEUE_COUNT} times and kept failing; see the job's logs. "
            "The disk may be partly created: check the target resource group before restoring again.",
            code=RETRIES_EXHAUSTED,
        )
        await self._fail(message, job, error)

    async def run(self, message: RestoreMessage, *, final_attempt: bool = False) -> RestoreOutcome:
        job = await self._store.get_job(message.vault, message.job_id)
        if job is None:
            _log.warning("restore job %s no longer exists; the request is dropped", message.job_id)
            return RestoreOutcome.SKIPPED
        if job.status.is_terminal:
            await self._release(message)
            return RestoreOutcome.DUPLICATE
        with self._telemetry.job_span(
            "restore",
            vault=job.vault_id,
            instance=job.instance,
            job_id=job.id,
            disk_id=message.target_id,
        ) as span:
            try:
                outcome = await self._attempt(message, job)
            except PermanentError as error:
                outcome = await self._fail(message, job, restore_error(error))
            except RetryableError as error:
                if not final_attempt:
                    span.set_attribute(RUN_OUTCOME, "Retrying")
                    raise
                outcome = await self._fail(message, job, error)
            span.set_attribute(RUN_OUTCOME, outcome.value)
            return outcome

    async def _attempt(self, message: RestoreMessage, job: Job) -> RestoreOutcome:
        target = ComputeResourceId.disk(message.target_id, target="target")
        instance = await self._store.get_instance(message.vault, message.instance)
        compute = self._compute.for_identity(instance.value.identity if instance is not None else None)
        if (job.progress_percent or 0) < PROGRESS_CREATING:
            # Nothing was created for this job yet: a disk of that name belongs to someone else.
            if await compute.find_disk(target) is not None:
                raise ConflictError(
                    f"A disk named '{target.name}' was created in resource group '{target.resource_group}' "
                    "after the restore was accepted; choose another name and restore again.",
                    code=SAME_NAME_DISK,
                )
            job = replace(job, progress_percent=PROGRESS_CREATING)
            await self._store.put_job(job)
        snapshot = await compute.get_snapshot(ComputeResourceId.snapshot(message.snapshot_id))
        if snapshot is None:
            raise NotFoundError(
                f"The snapshot '{message.snapshot_id}' was deleted after the restore was accepted.",
                code=SNAPSHOT_NOT_FOUND,
            )
        settings = message.settings
        await compute.create_disk_from_snapshot(
            target,
            snapshot,
            location=settings.location,
            sku=settings.sku,
            zone=settings.zone,
            tier=settings.tier,
            disk_encryption_set_id=settings.disk_encryption_set_id,
            tags=settings.tags,
        )
        finished = job.completed(self._clock.now())
        await self._store.put_job(finished)
        await self._release(message)
        self._telemetry.job_finished(finished)
        return RestoreOutcome.COMPLETED

    async def _fail(self, message: RestoreMessage, job: Job, error: BackupError) -> RestoreOutcome:
        failed = job.failed(self._clock.now(), error.code, error.message)
        _log.warning("restore job %s failed: %s %s", job.id, error.code, error.message)
        await self._store.put_job(failed)
        await self._release(message)
        self._telemetry.job_finished(failed)
        return RestoreOutcome.FAILED

    async def _release(self, message: RestoreMessage) -> None:
        point = await self._store.get_recovery_point(
            message.vault, message.instance, message.recovery_point_id
        )
        if point is not None:
            await self._store.release_recovery_point(message.vault, point.value, message.lease_until)
