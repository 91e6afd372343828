"""Restore, worker side: create the disk a queued :class:`~backup.domain.restore.RestoreMessage`
describes, and record how it ended.

The worker (:class:`RestoreRunner`) is idempotent. The job row says how far a restore got: at
10% nothing was created yet, so a disk of the target name is someone else's and the job fails
``UserErrorSameNameDiskAlreadyExists``; it then moves the job to 50% and PUTs the disk. A
redelivered or duplicated message that finds the job at 50% PUTs the same disk again, which
ARM treats as an idempotent update of the disk it already created from the same snapshot (a
disk of that name from another source answers ``PropertyChangeNotAllowed``, reported as
``UserErrorSameNameDiskAlreadyExists``); one that finds the job finished does nothing. The job
ends Completed (100%) or Failed, and the lease is released either way. Right before the disk
is created, custody checks the snapshot it just read again (:func:`backup.domain.custody.judge`):
a snapshot whose tags or source changed since the restore was accepted fails the job
``UserErrorSnapshotMetadataNotFound`` and is reported as a look-alike.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum

from backup import names
from backup.domain.arm import DISK_RESTORE_OPERATOR, DISK_SNAPSHOT_CONTRIBUTOR, SnapshotInfo
from backup.domain.clock import Clock
from backup.domain.custody import judge
from backup.domain.identity_bindings import NOT_BOUND, IdentityBindings
from backup.domain.instance import BackupInstance
from backup.domain.jobs import Job
from backup.domain.limits import MAX_DEQUEUE_COUNT
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.restore import (
    DISK_QUOTA,
    PROGRESS_CREATING,
    PROGRESS_STARTED,
    RECOVERY_POINT_NOT_FOUND,
    RETRIES_EXHAUSTED,
    SAME_NAME_DISK,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_RG_PERMISSIONS,
    TARGET_RG_NOT_FOUND,
    TARGET_RG_PERMISSIONS,
    RestoreMessage,
)
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    PermanentError,
    RetryableError,
)
from backup.ports import ArmGateway, VaultStore
from backup.services.restore.requests import unverified_snapshot
from backup.telemetry import RUN_OUTCOME, Telemetry

_log = logging.getLogger(__name__)


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
        if code == NOT_BOUND:
            return error  # the deployer's binding, not a missing role: said as it is
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
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        telemetry: Telemetry,
        identity_bindings: IdentityBindings | None = None,
    ) -> None:
        self._store = store
        self._bindings = identity_bindings or IdentityBindings()
        """Which vaults may act as which user-assigned identity; none bound: only the app's own."""
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
        identity = instance.value.identity if instance is not None else None
        self._bindings.require(identity, message.vault)
        compute = self._compute.for_identity(identity)
        if (job.progress_percent or 0) < PROGRESS_CREATING:
            # Nothing was created for this job yet: a disk of that name belongs to someone else.
            if await compute.find_disk(target) is not None:
                raise ConflictError(
                    f"A disk named '{target.name}' was created in resource group '{target.resource_group}' "
                    "after the restore was accepted; choose another name and restore again.",
                    code=SAME_NAME_DISK,
                )
            job = await self._progressed(job, PROGRESS_STARTED)
        snapshot = await compute.get_snapshot(ComputeResourceId.snapshot(message.snapshot_id))
        if snapshot is None:
            raise NotFoundError(
                f"The snapshot '{message.snapshot_id}' was deleted after the restore was accepted.",
                code=SNAPSHOT_NOT_FOUND,
            )
        await self._verify(message, instance.value if instance is not None else None, snapshot)
        # A step the page shows: the bar moves with the work (10, 25, 50, 100), not 10 then 100.
        job = await self._progressed(job, PROGRESS_CREATING)
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

    async def _progressed(self, job: Job, percent: int) -> Job:
        """The job at ``percent`` done, written; a redelivery past that step writes nothing."""
        if (job.progress_percent or 0) >= percent:
            return job
        job = replace(job, progress_percent=percent)
        await self._store.put_job(job)
        return job

    async def _verify(
        self, message: RestoreMessage, instance: BackupInstance | None, snapshot: SnapshotInfo
    ) -> None:
        """Custody again, on the snapshot just read: its tags may have changed since acceptance."""
        point = await self._store.get_recovery_point(
            message.vault, message.instance, message.recovery_point_id
        )
        if point is None:
            raise NotFoundError(
                f"The recovery point '{message.recovery_point_id}' was deleted after the restore was "
                "accepted.",
                code=RECOVERY_POINT_NOT_FOUND,
            )
        verdict = judge(snapshot, instance, recorded=point.value)
        if not verdict.may_use:
            self._telemetry.lookalike_snapshot(message.vault.id, "restore", snapshot.id, verdict)
            raise unverified_snapshot(snapshot.id, message.recovery_point_id, verdict)

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
