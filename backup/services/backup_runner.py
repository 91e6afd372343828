"""Runs one backup request: check limits, take the incremental snapshot, record the outcome.

A backup is a queue-driven state machine (:mod:`backup.services.messages`): the ``start``
phase holds an ARM write token, reserves the disk's snapshot rate on the instance row and PUTs
the snapshot with the disk facts the instance keeps (no disk GET, unless the facts are older
than their refresh period); ARM's 202 becomes a ``poll`` message delayed by its Retry-After,
which holds a read token and GETs the operation until it ends. Whenever the budget says "not
yet" or ARM answers 429, the same step is sent again as a fresh, delayed message and the
current one completes: waiting never spends a delivery, so only real failures reach poison.

Every attempted backup ends as a recovery point or as a failed job with a reason:

* permanent errors (a missing role, a deleted disk, a quota) are recorded at once and the
  message completes, so the queue never retries what cannot succeed;
* retryable errors (5xx, connection resets) propagate so the host redelivers the message,
  except on the final delivery, where the failure is recorded instead; a message that still
  escapes (a crash) reaches the poison queue, whose handler records it too. Failures are
  counted across a backup's messages (``failures``), so a chain of continuations gets the same
  number of real tries as one message. A snapshot operation that ended Failed is PUT again
  as a fresh start that counts the failure (ARM keeps the first capture);
* throttling (429) is a wait, not a failure.

Idempotency: the snapshot name and the recovery point id are derived from (instance, slot),
so a duplicate message re-PUTs the same snapshot (ARM keeps the first capture) and its
recovery point insert collides with the first one instead of creating a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from backup import names
from backup.domain.arm import DiskInfo, SnapshotInfo, recovery_point_from_snapshot
from backup.domain.clock import Clock
from backup.domain.custody import adoptable_point, judge
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import DISK_FACTS_REFRESH_PERIOD, BackupInstance, instance_key
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.limits import MAX_DEQUEUE_COUNT
from backup.domain.lro import DEFAULT_RETRY_AFTER_SECONDS, Accepted, InProgress
from backup.domain.models import JobOperation, ProtectionState, RecoveryPoint
from backup.domain.pacing import DEFAULT_HOLD_HORIZON, Category
from backup.domain.policy import BackupPolicy, check_policy_supports_disk_sku
from backup.domain.records import Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.retention import (
    RetentionLabel,
    earned_tags_after,
    expiry,
    label_on_demand_backup,
    primary_tag,
)
from backup.domain.slots import DEFAULT_START_WINDOW, window_closed
from backup.domain.snapshots import SnapshotTags, is_ours, recovery_point_id, snapshot_name
from backup.errors import (
    BackupError,
    ConcurrencyError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    PermanentError,
    RetryableError,
    ThrottledError,
)
from backup.ports import ArmBudget, ArmGateway, InstanceRows, SendLater, VaultStore
from backup.services.etag_retry import WRITE_ATTEMPTS, raising, write_with_retry
from backup.services.messages import POLL, SCHEDULED, START, BackupRequest
from backup.services.policies import PolicyCache
from backup.services.slot_accounting import record_window_closed
from backup.telemetry import BACKUP_SPAN, RUN_OUTCOME, Telemetry

_log = logging.getLogger(__name__)


_InstanceChange = Callable[[BackupInstance], BackupInstance]

DATASOURCE_NOT_FOUND = "UserErrorManagedDiskNotFound"
RETRIES_EXHAUSTED = "BackupRetriesExhausted"
DEFER_AFTER_SECONDS = DEFAULT_HOLD_HORIZON
"""A held token due later than this is waited for as a delayed message, a shorter wait in-process.
The budget holds tokens only this far ahead and brings a caller it turned away back shortly
before its token (:data:`~backup.domain.pacing.TICKET_LEAD`), so a backup waiting for the budget
costs one message more, not two: every message is a queue receive, a delete and an execution,
which at estate scale was most of the engine's traffic (1.0 s here made a backlogged start take
three messages; tests/service/test_budget_backlog.py)."""


class Outcome(StrEnum):
    RECORDED = "Recorded"
    DUPLICATE = "Duplicate"
    SKIPPED = "Skipped"
    FAILED = "Failed"
    IN_PROGRESS = "InProgress"
    """ARM is taking the snapshot: a poll message follows."""
    DEFERRED = "Deferred"
    """The budget or a 429 said "not yet": the same step follows as a delayed message."""

    @property
    def is_final(self) -> bool:
        return self not in (Outcome.IN_PROGRESS, Outcome.DEFERRED)


class BackupRunner:
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        telemetry: Telemetry,
        policies: PolicyCache | None = None,
        *,
        rows: InstanceRows | None = None,
        send_later: SendLater | None = None,
        budget: ArmBudget | None = None,
        disk_refresh_period: timedelta = DISK_FACTS_REFRESH_PERIOD,
        start_window: timedelta = DEFAULT_START_WINDOW,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        identity_bindings: IdentityBindings | None = None,
    ) -> None:
        self._store = store
        self._bindings = identity_bindings or IdentityBindings()
        """Which vaults may act as which user-assigned identity; none bound: only the app's own."""
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry
        self._policies = policies or PolicyCache()
        self._rows = rows
        """Decodes the instance row a scheduled message carries (without it, the worker reads the row)."""
        self._send_later = send_later
        """Sends the next step as a delayed message; without it (a one-off run) the worker
        waits in-process and goes on with the next step itself."""
        self._budget = budget
        self._disk_refresh_period = disk_refresh_period
        self._start_window = start_window
        self._sleep = sleep

    def _acting_for(self, instance: BackupInstance) -> ArmGateway:
        """ARM as the instance's identity, only while the deployer binds it to the instance's vault
        (a binding removed later fails the backup with ``UserErrorIdentityNotBoundToVault``)."""
        self._bindings.require(instance.identity, instance.vault)
        return self._compute.for_identity(instance.identity)

    @property
    def defer_after(self) -> float:
        """The longest wait for a held token that is slept in-process (longer: a delayed message)."""
        return DEFER_AFTER_SECONDS

    async def run(self, request: BackupRequest, *, final_attempt: bool = False) -> Outcome:
        current = await self._instance(request)
        if current is None:
            _log.warning("backup of %s skipped: the instance no longer exists", request.instance)
            return Outcome.SKIPPED
        instance = current.value
        scheduled = request.kind == SCHEDULED
        if scheduled:
            assert request.slot is not None
            if instance.last_attempted_slot is not None and instance.last_attempted_slot >= request.slot:
                return Outcome.DUPLICATE
            if request.phase == START and not instance.protection_state.takes_scheduled_backups:
                return Outcome.SKIPPED  # (a snapshot already taken is recorded whatever came since)
        job = self._job_for(request, instance)
        with self._telemetry.job_span(
            BACKUP_SPAN,
            vault=instance.vault.id,
            instance=instance.name,
            job_id=job.id,
            disk_id=instance.disk_id,
            job_type=job.operation.value,
        ) as span:
            try:
                if request.phase == POLL:
                    outcome = await self._poll(current, request, job)
                else:
                    outcome = await self._start(current, request, job)
            except ThrottledError as error:
                # A wait, not a failure: the same step again after ARM's Retry-After (the
                # gateway already told the budget). The row is read afresh then.
                again = replace(request, reserved=False, instance_row=None)
                outcome = await self._later(
                    again, error.retry_after or DEFAULT_RETRY_AFTER_SECONDS, Outcome.DEFERRED
                )
            except PermanentError as error:
                outcome = await self._settle_or_fail(current, request, job, error)
            except RetryableError as error:
                if not final_attempt:
                    span.set_attribute(RUN_OUTCOME, "Retrying")
                    raise
                outcome = await self._settle_or_fail(current, request, job, error)
            span.set_attribute(RUN_OUTCOME, outcome.value)
            return outcome

    async def _instance(self, request: BackupRequest) -> Versioned[BackupInstance] | None:
        """The row the planner read (the write checks its ETag), or a fresh read (API requests,
        redeliveries, and messages whose row cannot be decoded)."""
        if request.instance_row is not None and self._rows is not None:
            try:
                return self._rows.decode_instance(request.vault, request.instance_row)
            except (KeyError, TypeError, ValueError):
                _log.warning("the planner's copy of %s could not be read; reading the row", request.instance)
        return await self._store.get_instance(request.vault, request.instance)

    async def handle_message(self, body: bytes | str, dequeue_count: int) -> Outcome:
        """The queue trigger's whole job: the last delivery records a failure instead of retrying."""
        try:
            request = BackupRequest.from_json(body)
        except PermanentError:
            _log.error("dropping an unreadable backup request: %r", body[:200])
            return Outcome.SKIPPED
        if dequeue_count > 1:
            # A redelivery follows a real failure: it reads the row as it is now and holds its
            # token again; the failures it follows count towards the backup's last attempt.
            request = replace(
                request, instance_row=None, reserved=False, failures=request.failures + dequeue_count - 1
            )
        return await self.run(request, final_attempt=request.failures + 1 >= MAX_DEQUEUE_COUNT)

    async def handle_poison(self, body: bytes | str) -> None:
        self._telemetry.poison_message(names.BACKUP_QUEUE + names.POISON_SUFFIX)
        try:
            request = BackupRequest.from_json(body)
        except PermanentError:
            _log.error("an unreadable message reached the poison queue: %r", body[:200])
            return
        await self.record_poison(
            request, f"The backup was retried {MAX_DEQUEUE_COUNT} times and kept failing; see the job's logs."
        )

    async def record_poison(self, request: BackupRequest, reason: str) -> None:
        """A message the host gave up on: make sure it ends as a failed job, once."""
        current = await self._store.get_instance(request.vault, request.instance)
        if current is None:
            return
        job = self._job_for(request, current.value)
        existing = await self._store.get_job(request.vault, job.id)
        if existing is not None and existing.status.is_terminal:
            return
        error = RetryableError(reason, code=RETRIES_EXHAUSTED)
        await self._fail(current, request, existing or job, error)

    def _job_for(self, request: BackupRequest, instance: BackupInstance) -> Job:
        key = instance_key(instance.vault.id, instance.name)
        if request.kind == SCHEDULED:
            assert request.slot is not None
            job_id, operation, start = (
                scheduled_backup_job_id(key, request.slot),
                JobOperation.SCHEDULED_BACKUP,
                self._clock.now(),
            )
        else:
            if request.job_id is None or request.requested_at is None:
                raise PermanentError("an on-demand request must carry its job id and request time")
            job_id, operation, start = request.job_id, JobOperation.ON_DEMAND_BACKUP, request.requested_at
        return Job.for_instance(
            instance,
            id=job_id,
            operation=operation,
            start_time=start,
            initiated_by=request.requested_by,
            policy_rule_name=self._policies.parse(instance.policy_document).backup_rule_name,
        )

    async def _start(self, current: Versioned[BackupInstance], request: BackupRequest, job: Job) -> Outcome:
        """Hold a write token, reserve the disk's snapshot rate, PUT the snapshot."""
        instance = current.value
        now = self._clock.now()
        policy = self._policies.parse(instance.policy_document)
        point_id, snapshot = self._target(instance, request)
        # The slot's latest allowed start (the planner's time for a catch-up): past it, the slot
        # is a missed job, whatever held it up (the queue, ARM's budget, the app being down). A
        # backup whose reservation is on the row may already have PUT its snapshot (this is a
        # redelivery or a re-send): it goes on, and its idempotent re-PUT finds the same snapshot.
        if (
            request.kind == SCHEDULED
            and request.slot is not None
            and not instance.holds_reservation(point_id)
            and window_closed(request.slot, request.requested_at, now, self._start_window)
        ):
            await record_window_closed(
                self._store,
                self._clock,
                self._telemetry,
                current,
                request.slot,
                request.requested_at,
                self._start_window,
            )
            return Outcome.FAILED
        self._check_limits(instance, point_id, now)
        compute = self._acting_for(instance)
        if not request.reserved:
            delay = await self._hold(compute, snapshot.subscription_id, Category.WRITES)
            if delay > DEFER_AFTER_SECONDS:
                return await self._later(replace(request, reserved=True), delay, Outcome.DEFERRED)
            if delay > 0:
                await self._sleep(delay)
        facts = instance.disk_facts
        refreshed = False
        if facts is None or instance.disk_facts_stale(now, self._disk_refresh_period):
            facts = await compute.find_disk(ComputeResourceId.disk(instance.disk_id))
            if facts is None:
                return await self._datasource_missing(current, request, job)
            refreshed = True
        check_policy_supports_disk_sku(policy, facts.sku)
        reserved = await self._reserve(current, request, point_id, facts if refreshed else None, now)
        if isinstance(reserved, Outcome):
            return reserved
        current = reserved
        tags = self._tags(policy, current.value, request, point_id, facts)
        try:
            answer = await compute.begin_incremental_snapshot(facts, snapshot, tags.to_tags())
        except NotFoundError:
            # The PUT names the disk: a 404 may mean it is gone. One GET tells (a missing
            # snapshot resource group, say, is an ordinary permanent failure).
            if await compute.find_disk(ComputeResourceId.disk(instance.disk_id)) is None:
                return await self._datasource_missing(current, request, job)
            raise
        if isinstance(answer, Accepted):
            poll = replace(
                request.next_phase(POLL, operation_url=answer.operation_url),
                instance_row=self._encoded(current),
            )
            return await self._later(poll, answer.retry_after, Outcome.IN_PROGRESS)
        return await self._record_taken(current, request, job, answer, facts)

    async def _poll(self, current: Versioned[BackupInstance], request: BackupRequest, job: Job) -> Outcome:
        """Hold a read token and GET the snapshot's operation: wait again, or record the point."""
        assert request.operation_url is not None, "validated by BackupRequest.from_json"
        instance = current.value
        _, snapshot = self._target(instance, request)
        compute = self._acting_for(instance)
        if not request.reserved:
            delay = await self._hold(compute, snapshot.subscription_id, Category.READS)
            if delay > DEFER_AFTER_SECONDS:
                return await self._later(replace(request, reserved=True), delay, Outcome.DEFERRED)
            if delay > 0:
                await self._sleep(delay)
        try:
            answer = await compute.poll_snapshot(request.operation_url, snapshot)
        except ThrottledError:
            raise
        except RetryableError:
            if request.failures + 1 >= MAX_DEQUEUE_COUNT:
                raise  # the last try: settle what the PUT left, or fail
            left = await compute.get_snapshot(snapshot)
            if left is None or left.provisioning_state != "Failed":
                raise  # the poll itself failed: the host redelivers it, and it polls again
            # The operation failed: PUT again (ARM's update repairs the snapshot), as a fresh
            # start that counts this failure, so a create that keeps failing ends as a failed job.
            retry = replace(request.next_phase(START), instance_row=None, failures=request.failures + 1)
            return await self._later(retry, DEFAULT_RETRY_AFTER_SECONDS, Outcome.DEFERRED)
        if isinstance(answer, InProgress):
            again = request.next_phase(POLL, operation_url=request.operation_url)
            return await self._later(again, answer.retry_after, Outcome.IN_PROGRESS)
        return await self._record_taken(current, request, job, answer, instance.disk_facts)

    def _check_limits(self, instance: BackupInstance, point_id: str, now: datetime) -> None:
        if not instance.holds_reservation(point_id) and not instance.snapshot_burst_room(now):
            raise LimitExceededError(
                "The disk already had 7 incremental snapshots in the last 5 minutes, the platform's limit; "
                "this backup was not attempted.",
                code="UserErrorSnapshotRateLimitReached",
            )
        if not instance.snapshot_quota_room():
            raise LimitExceededError(
                f"The disk already has {instance.live_recovery_points} recovery points, the platform's limit "
                "of 500 incremental snapshots per disk; this backup was not attempted.",
                code="SnapshotsLimitReached",
            )

    async def _hold(self, compute: ArmGateway, subscription_id: str, category: Category) -> float:
        """Hold one ARM token for this step's request; the seconds until it may be spent."""
        if self._budget is None:
            return 0.0
        [delay] = await self._budget.reserve(compute.budget_scope(subscription_id), category)
        return delay

    async def _later(self, request: BackupRequest, delay: float, outcome: Outcome) -> Outcome:
        """The backup's next step, ``delay`` seconds from now, as a fresh message."""
        if self._send_later is None:
            await self._sleep(max(0.0, delay))
            return await self.run(request, final_attempt=request.failures + 1 >= MAX_DEQUEUE_COUNT)
        await self._send_later(request.to_json(), max(0.0, delay))
        return outcome

    def _encoded(self, current: Versioned[BackupInstance]) -> dict[str, object] | None:
        return self._rows.encode_instance(current) if self._rows is not None else None

    async def _reserve(
        self,
        current: Versioned[BackupInstance],
        request: BackupRequest,
        point_id: str,
        facts: DiskInfo | None,
        now: datetime,
    ) -> Versioned[BackupInstance] | Outcome:
        """Write the snapshot's reservation (and refreshed disk facts) on the instance row before
        the PUT, so every other backup of the disk counts it; a duplicate finds it held already."""

        async def write(latest: Versioned[BackupInstance]) -> Versioned[BackupInstance] | Outcome:
            instance = latest.value
            slot, attempted = request.slot, instance.last_attempted_slot
            if request.kind == SCHEDULED and slot is not None and attempted is not None and attempted >= slot:
                return Outcome.DUPLICATE
            self._check_limits(instance, point_id, now)
            updated = instance.with_snapshot_reserved(point_id, now)
            if facts is not None:
                updated = updated.with_disk_facts(facts, now)
            if updated == instance:
                return latest
            return await self._store.update_instance(latest, updated)

        async def vanished() -> Outcome:
            _log.warning("backup of %s skipped: the instance no longer exists", request.instance)
            return Outcome.SKIPPED

        return await write_with_retry(
            write,
            lambda: self._store.get_instance(request.vault, request.instance),
            current=current,
            gone=vanished,
            exhausted=raising(
                lambda: ConcurrencyError(f"could not reserve the snapshot of {request.instance}")
            ),
        )

    def _tags(
        self,
        policy: BackupPolicy,
        instance: BackupInstance,
        request: BackupRequest,
        point_id: str,
        disk: DiskInfo,
    ) -> SnapshotTags:
        # The snapshot is created now: its expiry counts from now, as Azure's do (the recorded
        # point counts from ARM's timeCreated, see _record_taken).
        label = self._label(policy, instance, request, self._label_time(request), self._clock.now())
        return SnapshotTags(
            vault_id=instance.vault.id,
            instance=instance.name,
            policy=instance.policy_name,
            recovery_point_id=point_id,
            slot=request.slot,
            retention_tag=label.retention_tag.value,
            earned_tags=tuple(sorted(tag.value for tag in label.earned_tags)),
            expires_at=label.expires_at,
            source=disk.source,
        )

    async def _record_taken(
        self,
        current: Versioned[BackupInstance],
        request: BackupRequest,
        job: Job,
        taken: SnapshotInfo,
        disk: DiskInfo | None,
    ) -> Outcome:
        """The snapshot exists: its recovery point is what its tags say (written at the PUT)."""
        instance = current.value
        point_id, _ = self._target(instance, request)
        label_time = self._label_time(request)
        policy = self._policies.parse(instance.policy_document)
        created_at = taken.time_created or self._clock.now()
        described = recovery_point_from_snapshot(taken)
        if described is not None and described.id == point_id:
            retention_tag, earned = described.retention_tag, described.earned_tags
        else:  # someone retagged it since: label it again as the PUT did
            label = self._label(policy, instance, request, label_time, created_at)
            retention_tag, earned = label.retention_tag, label.earned_tags
        # Azure's points expire at their creation time plus the retention (not at the slot's):
        # ARM's timeCreated is that time, the same for every re-PUT of the snapshot.
        expires_at = expiry(policy, created_at, earned)
        point = RecoveryPoint(
            id=point_id,
            instance=instance.name,
            slot=request.slot,
            created_at=created_at,
            retention_tag=retention_tag,
            earned_tags=earned,
            expires_at=expires_at,
            snapshot_id=taken.id,
            source_disk_tags=tuple(sorted((disk.tags if disk is not None else {}).items())),
        )
        finished = job.completed(
            self._clock.now(), recovery_point_id=point_id, retention_tag=retention_tag.value
        )
        return await self._record_success(current, request, point, finished, label_time)

    def _label(
        self,
        policy: BackupPolicy,
        instance: BackupInstance,
        request: BackupRequest,
        at: datetime,
        created_at: datetime,
    ) -> RetentionLabel:
        """Tags judged at ``at`` (the slot, or the on-demand request time); expiry counted from
        ``created_at``."""
        if request.kind != SCHEDULED:
            tag = label_on_demand_backup(policy, at, request.retention_tag_override).retention_tag
            tags = frozenset({tag})
        else:
            tags = earned_tags_after(policy, at, instance.last_tagged_at)
        return RetentionLabel(
            retention_tag=primary_tag(policy, tags),
            earned_tags=tags,
            expires_at=expiry(policy, created_at, tags),
        )

    @staticmethod
    def _label_time(request: BackupRequest) -> datetime:
        """What retention is judged by: the slot, or the on-demand request time."""
        moment = request.slot if request.kind == SCHEDULED else request.requested_at
        assert moment is not None, "validated by BackupRequest.from_json"
        return moment

    def _target(self, instance: BackupInstance, request: BackupRequest) -> tuple[str, ComputeResourceId]:
        """The recovery point id and snapshot id of a request: derived, so retries find them again."""
        point_id = recovery_point_id(
            instance_key(instance.vault.id, instance.name),
            self._label_time(request),
            "scheduled" if request.kind == SCHEDULED else str(request.job_id),
        )
        group = ResourceGroupId.parse(instance.snapshot_resource_group_id)
        return point_id, ComputeResourceId(
            group.subscription_id, group.resource_group, "snapshots", snapshot_name(instance.name, point_id)
        )

    async def _settle_or_fail(
        self, current: Versioned[BackupInstance], request: BackupRequest, job: Job, error: BackupError
    ) -> Outcome:
        """Before calling a backup failed, look at what the snapshot PUT may have left behind.

        A create whose poll failed may still have succeeded: that snapshot is a good backup
        and is recorded as one. A create that ended Failed leaves a resource that costs money
        and counts against the disk's 500: delete it. If even the look fails, record the
        failure; reconciliation settles the snapshot later.
        """
        try:
            point_id, snapshot_id = self._target(current.value, request)
            compute = self._acting_for(current.value)
            snapshot = await compute.get_snapshot(snapshot_id)
            # Custody decides, as everywhere: a snapshot at our name taken from another disk
            # (or wearing copied tags) is neither recorded nor deleted, only reported.
            if snapshot is not None and snapshot.provisioning_state == "Succeeded":
                verdict, point = adoptable_point(snapshot, current.value)
                if verdict.lookalike:
                    self._telemetry.lookalike_snapshot(current.value.vault.id, "backup", snapshot.id, verdict)
                if point is not None and point.id == point_id:
                    finished = job.completed(
                        self._clock.now(), recovery_point_id=point_id, retention_tag=point.retention_tag.value
                    )
                    return await self._record_success(
                        current, request, point, finished, self._label_time(request)
                    )
            elif snapshot is not None and snapshot.provisioning_state == "Failed" and is_ours(snapshot.tags):
                # Only a create that ended Failed: one still being created may yet succeed.
                verdict = judge(snapshot, current.value)
                if verdict.may_delete:
                    await compute.delete_snapshot(snapshot_id)
                elif verdict.lookalike:
                    self._telemetry.lookalike_snapshot(current.value.vault.id, "backup", snapshot.id, verdict)
        except BackupError as settle_error:
            _log.warning("could not settle the snapshot of %s: %s", request.instance, settle_error.message)
        return await self._fail(current, request, job, error)

    async def _record_success(
        self,
        current: Versioned[BackupInstance],
        request: BackupRequest,
        point: RecoveryPoint,
        job: Job,
        label_time: datetime,
    ) -> Outcome:
        async def write(latest: Versioned[BackupInstance]) -> Outcome:
            updated = latest.value.after_snapshot(
                point.created_at,
                earned=point.earned_tags,
                on_demand=request.kind != SCHEDULED,
                slot=request.slot,
                tagged_at=label_time,
                point_id=point.id,
            )
            try:
                await self._store.record_backup(latest, updated, point, job)
            except ConcurrencyError:  # before ConflictError, which it specialises: read again
                raise
            except ConflictError:
                return Outcome.DUPLICATE  # the same recovery point was recorded by a twin run
            self._telemetry.job_finished(job)
            return Outcome.RECORDED

        async def vanished() -> Outcome:
            _log.error(
                "instance %s vanished after its snapshot %s was taken", request.instance, point.snapshot_id
            )
            return Outcome.SKIPPED

        return await write_with_retry(
            write,
            lambda: self._store.get_instance(request.vault, request.instance),
            current=current,
            gone=vanished,
            exhausted=raising(
                lambda: ConcurrencyError(
                    f"could not record the backup of {request.instance} after {WRITE_ATTEMPTS} tries"
                )
            ),
        )

    async def _datasource_missing(
        self, current: Versioned[BackupInstance], request: BackupRequest, job: Job
    ) -> Outcome:
        instance = current.value
        slot = request.slot
        if instance.datasource_missing_since is not None and slot is not None:
            await self._write_instance(current, request, lambda latest: latest.after_skip(slot))
            return Outcome.SKIPPED
        message = (
            f"The source disk {instance.disk_id} was not found. Backups of this instance are paused until "
            "the disk exists again or protection is stopped; its recovery points stay restorable."
        )
        now = self._clock.now()
        failed = job.failed(now, DATASOURCE_NOT_FOUND, message)

        def missing(latest: BackupInstance) -> BackupInstance:
            return replace(
                latest.after_failure(DATASOURCE_NOT_FOUND, message, request.slot),
                datasource_missing_since=latest.datasource_missing_since or now,
                protection_state=(
                    ProtectionState.PROTECTION_ERROR
                    if latest.protection_state.takes_scheduled_backups
                    else latest.protection_state
                ),
            )

        await self._write_failure(current, request, missing, failed)
        return Outcome.FAILED

    async def _fail(
        self, current: Versioned[BackupInstance], request: BackupRequest, job: Job, error: BackupError
    ) -> Outcome:
        failed = job.failed(self._clock.now(), error.code, error.message)
        _log.warning("backup job %s of %s failed: %s %s", job.id, request.instance, error.code, error.message)
        await self._write_failure(
            current,
            request,
            lambda latest: latest.after_failure(error.code, error.message, request.slot),
            failed,
        )
        return Outcome.FAILED

    async def _write_failure(
        self,
        current: Versioned[BackupInstance],
        request: BackupRequest,
        change: _InstanceChange,
        job: Job,
    ) -> None:
        async def write(latest: Versioned[BackupInstance]) -> None:
            await self._store.record_failure(latest, change(latest.value), job)

        async def job_only() -> None:
            await self._store.put_job(job)  # the instance is gone, or keeps changing: keep the job

        await write_with_retry(
            write,
            lambda: self._store.get_instance(request.vault, request.instance),
            current=current,
            gone=job_only,
            exhausted=job_only,
        )
        self._telemetry.job_finished(job)

    async def _write_instance(
        self, current: Versioned[BackupInstance], request: BackupRequest, change: _InstanceChange
    ) -> None:
        async def write(latest: Versioned[BackupInstance]) -> None:
            await self._store.update_instance(latest, change(latest.value))

        async def give_up() -> None:
            return None  # the instance is gone, or keeps changing: its health is only a summary

        await write_with_retry(
            write,
            lambda: self._store.get_instance(request.vault, request.instance),
            current=current,
            gone=give_up,
            exhausted=give_up,
        )
