"""Restore, API side: check a restore request against Azure, then accept it (job, rate count,
lease) and queue it for :mod:`backup.services.restore.worker`.

Checks (validateRestore runs them; restore runs them again), each with Azure's code:

=====================================================  ========================================  ====
target resource group exists                           UserErrorRestoreTargetRGNotFound          404
Disk Restore Operator actions on the target RG         UserErrorNotEnoughPermissionOnTargetRG    403
no disk of the target name                             UserErrorSameNameDiskAlreadyExists        409
recovery point exists                                  UserErrorRecoveryPointNotFound            404
Disk Snapshot Contributor actions on the snapshot RG   UserErrorNotEnoughPermissionOnSnapshotRG  403
the snapshot exists                                    UserErrorDiskSnapshotNotFound             404
custody verifies it is this recovery point            UserErrorSnapshotMetadataNotFound         409
(its tags, and its real source: the instance's disk)
restoreLocation is the snapshot's region               UserErrorRestoreLocationMismatch          400
background copy done (Premium SSD v2, Ultra)           UserErrorSnapshotCopyInProgress           409
=====================================================  ========================================  ====

Accepting a restore writes, in one entity-group transaction, the InProgress Restore job
(progress 10%), the instance's restore count (10 per rolling 24 hours, with the count row's
ETag, so concurrent requests cannot both pass) and the recovery point's ``InUseUntil`` lease
(with the point's ETag), then queues a :class:`~backup.domain.restore.RestoreMessage` on
``names.RESTORE_QUEUE``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from backup.domain.arm import (
    DISK_RESTORE_OPERATOR,
    DISK_SNAPSHOT_CONTRIBUTOR,
    SnapshotInfo,
    normalize_location,
)
from backup.domain.clock import Clock
from backup.domain.custody import CustodyVerdict, judge
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import BackupInstance, VaultRef, instance_key, instance_not_found
from backup.domain.jobs import Job, job_id
from backup.domain.limits import RESTORE_LEASE
from backup.domain.models import JobOperation, ProtectionState, RecoveryPoint, RecoveryPointState
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.restore import (
    COPY_IN_PROGRESS,
    DISK_RESTORE_OPERATOR_ACTIONS,
    PROGRESS_ACCEPTED,
    RECOVERY_POINT_NOT_FOUND,
    SAME_NAME_DISK,
    SNAPSHOT_ACTIONS_FOR_RESTORE,
    SNAPSHOT_METADATA,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_RG_PERMISSIONS,
    TARGET_RG_NOT_FOUND,
    TARGET_RG_PERMISSIONS,
    RestoreMessage,
    RestorePlan,
    check_restore_rate,
    disk_settings,
    recent_restores,
)
from backup.domain.snapshots import SnapshotTags
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    NotFoundError,
    TransientError,
    ValidationError,
)
from backup.ports import ArmGateway, SendMessages, VaultStore
from backup.services.etag_retry import raising, retry_lost_races
from backup.services.serial import KeyedLocks
from backup.shapes.restore import LOCATION_MISMATCH, RestoreSpec
from backup.telemetry import Telemetry

_log = logging.getLogger(__name__)


def unverified_snapshot(snapshot_id: str, point_id: str, verdict: CustodyVerdict) -> ConflictError:
    """The refusal of a restore whose snapshot custody did not verify (API and worker alike)."""
    return ConflictError(
        f"The snapshot '{snapshot_id}' cannot be restored as recovery point '{point_id}': {verdict.detail} "
        f"({verdict.finding.value}). Its tags were changed or the snapshot was replaced, so it may hold "
        "another disk's data. Choose another recovery point.",
        code=SNAPSHOT_METADATA,
        target="recoveryPointId",
    )


class RestoreService:
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        send_restore_requests: SendMessages,
        telemetry: Telemetry | None = None,
        identity_bindings: IdentityBindings | None = None,
    ) -> None:
        self._store = store
        self._bindings = identity_bindings or IdentityBindings()
        """Which vaults may act as which user-assigned identity; none bound: only the app's own."""
        self._compute = compute
        self._clock = clock
        self._send = send_restore_requests
        self._telemetry = telemetry
        self._accepting = KeyedLocks()

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
        self._bindings.require(instance.identity, instance.vault)
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
                recommended_action=f"Assign the '{DISK_RESTORE_OPERATOR}' role on the resource group "
                f"'{group}' to the backup vault's identity, wait a few minutes, then restore again.",
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
        self._bindings.require(instance.identity, instance.vault)
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
                recommended_action=f"Assign the '{DISK_SNAPSHOT_CONTRIBUTOR}' role on the snapshot resource "
                f"group '{group}' to the backup vault's identity, wait a few minutes, then retry.",
            )
        snapshot = await compute.get_snapshot(snapshot_id)
        if snapshot is None:
            raise gone
        verdict = judge(snapshot, instance, recorded=point)
        if not verdict.may_use or verdict.tags is None:
            if self._telemetry is not None:
                self._telemetry.lookalike_snapshot(instance.vault.id, "restore", snapshot.id, verdict)
            raise unverified_snapshot(snapshot.id, point.id, verdict)
        return snapshot, verdict.tags

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
                settings=plan.settings.for_job(job.id),
                lease_until=lease_until,
            )
            await self._enqueue(message, job, plan.point.value)
            return job

        # Restores of one instance in this worker queue here rather than race for its count.
        async with self._accepting.hold(instance_key(vault.id, instance_name)):
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
            recovery_point_time=plan.point.value.created_at,
            instance_state=instance.protection_state.value,
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
