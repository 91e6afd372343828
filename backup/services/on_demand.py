"""Accepting an on-demand ("adhoc") backup: check, count it, record the job, hand it to the engine.

The API does everything that can refuse the request, so a refusal is an immediate 4xx and
not a failed job: the instance exists and takes backups, ``ruleName`` is the policy's backup
rule, ``retentionTagOverride`` names one of its retention rules, and both on-demand budgets
have room (:func:`~backup.domain.retention.check_on_demand_backup_allowed`: 50 live on-demand
recovery points, 10 requests per rolling 24 hours).

The request time is written onto the instance row with the ETag it was read at, in the same
entity-group transaction that creates the InProgress job. Two concurrent requests therefore
cannot both take the last slot of the day: the slower one's write fails with 412, it re-reads
the instance and checks the limits again. Requests for one instance in one worker queue behind
each other first (:mod:`backup.services.serial`), so a burst does not exhaust the retries.
Then a :class:`BackupRequest` goes on the backup queue;
:class:`~backup.services.backup_runner.BackupRunner` takes the snapshot and replaces the
InProgress job row with the final one (same job id).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from backup.domain.burst import on_demand_burst_refusal
from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef, instance_key, instance_not_found
from backup.domain.jobs import Job, job_id
from backup.domain.limits import MAX_ON_DEMAND_BACKUPS_PER_DAY, ON_DEMAND_RATE_WINDOW, SNAPSHOT_BURST_LIMIT
from backup.domain.models import JobOperation, ProtectionState, RecoveryPoint
from backup.domain.records import Versioned
from backup.domain.retention import (
    check_backup_rule_name,
    check_on_demand_backup_allowed,
    resolve_retention_tag_override,
)
from backup.domain.schedule import Schedule
from backup.domain.snapshots import recovery_point_id
from backup.errors import (
    BackupError,
    ConflictError,
    LimitExceededError,
    ThrottledError,
    TransientError,
)
from backup.ports import SendMessages, VaultStore
from backup.services.etag_retry import raising, write_with_retry
from backup.services.messages import ON_DEMAND, BackupRequest
from backup.services.policies import PolicyCache
from backup.services.serial import KeyedLocks

_log = logging.getLogger(__name__)


DAILY_LIMIT_CODE = "OnDemandBackupDailyLimitReached"
NOT_PROTECTED_CODE = "UserErrorBackupInstanceNotProtected"
SNAPSHOT_BURST_CODE = "UserErrorMaxConcurrentOperationLimitReached"
"""Azure Backup's code for "too many operations on this item right now"; Azure documents no code
for an on-demand backup refused by the disk's snapshot rate (README, "Limits refused up front")."""


def check_takes_on_demand_backups(instance: BackupInstance) -> None:
    """On-demand backups need an instance that is protected now (scheduled backups running)."""
    state = instance.protection_state
    if state.takes_scheduled_backups:
        return
    if state is ProtectionState.PROTECTION_STOPPED:
        hint = "Protection is stopped; resume protection (resumeProtection) first."
    elif state is ProtectionState.BACKUP_SCHEDULES_SUSPENDED:
        hint = "Backups are suspended; resume them (resumeBackups) first."
    elif state in (ProtectionState.SOFT_DELETED, ProtectionState.SOFT_DELETING):
        hint = "The instance is deleted; undelete it and resume protection first."
    else:
        hint = "Wait until protection is configured, then try again."
    raise ConflictError(
        f"The backup instance '{instance.name}' is in state {state.value} and takes no backups. {hint}",
        code=NOT_PROTECTED_CODE,
        target="backupInstanceName",
    )


def recent_requests(times: Sequence[datetime], now: datetime) -> tuple[datetime, ...]:
    """The request times still inside the rolling window (older ones no longer count)."""
    start = now - ON_DEMAND_RATE_WINDOW
    return tuple(sorted(at for at in times if start < at <= now))


class OnDemandBackups:
    def __init__(
        self,
        store: VaultStore,
        clock: Clock,
        send_backup_requests: SendMessages,
        policies: PolicyCache | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._send = send_backup_requests
        self._policies = policies or PolicyCache()
        self._accepting = KeyedLocks()

    async def request(
        self,
        vault: VaultRef,
        instance_name: str,
        *,
        rule_name: str,
        retention_tag_override: str | None,
        requested_by: str,
    ) -> Job:
        """Accept one on-demand backup and return its InProgress job (or raise the refusal)."""

        async def accept(current: Versioned[BackupInstance]) -> Job:
            instance = current.value
            check_takes_on_demand_backups(instance)
            policy = self._policies.parse(instance.policy_document)
            check_backup_rule_name(policy, rule_name)
            tag = resolve_retention_tag_override(policy, retention_tag_override)
            now = self._clock.now()
            points = await self._store.list_recovery_points(vault, instance.name)
            recent = recent_requests(instance.recent_on_demand_requests, now)
            _check_limits(points, now, recent)
            _check_snapshot_burst(instance, policy.schedule, now)
            job = replace(
                self._job(instance, now, requested_by),
                policy_rule_name=policy.backup_rule_name,
                retention_tag=tag.value,
            )
            # The snapshot's reservation is taken now, under the same ETag as the job: the runner
            # finds it held (same recovery point id) and takes no second one.
            point_id = recovery_point_id(instance_key(instance.vault.id, instance.name), now, job.id)
            updated = replace(instance, recent_on_demand_requests=(*recent, now)).with_snapshot_reserved(
                point_id, now
            )
            # A lost race (ConcurrencyError) reads the instance again and checks everything again.
            await self._store.accept_on_demand_backup(current, updated, job)
            await self._enqueue(instance, job, tag.value, requested_by)
            return job

        # Requests for one instance in this worker queue here rather than race for its row.
        async with self._accepting.hold(instance_key(vault.id, instance_name)):
            return await write_with_retry(
                accept,
                lambda: self._store.get_instance(vault, instance_name),
                gone=raising(lambda: instance_not_found(vault, instance_name)),
                exhausted=raising(
                    lambda: TransientError(
                        "The backup instance kept changing while the request was being accepted; try again.",
                        code="ConcurrentUpdate",
                    )
                ),
            )

    def _job(self, instance: BackupInstance, now: datetime, requested_by: str) -> Job:
        key = instance_key(instance.vault.id, instance.name)
        return Job.for_instance(
            instance,
            id=job_id(now, key, ON_DEMAND, uuid.uuid4().hex),
            operation=JobOperation.ON_DEMAND_BACKUP,
            start_time=now,
            initiated_by=requested_by,
        )

    async def _enqueue(self, instance: BackupInstance, job: Job, tag: str, requested_by: str) -> None:
        message = BackupRequest(
            vault=instance.vault,
            instance=instance.name,
            kind=ON_DEMAND,
            job_id=job.id,
            requested_at=job.start_time,
            retention_tag_override=tag,
            requested_by=requested_by,
        )
        try:
            await self._send([message.to_json()])
        except Exception as error:
            _log.exception("could not enqueue on-demand backup job %s", job.id)
            reason = "The backup could not be queued (storage unavailable); request it again."
            try:
                await self._store.put_job(job.failed(self._clock.now(), "BackupQueueUnavailable", reason))
            except BackupError:
                _log.exception("could not record the failure of job %s", job.id)
            raise TransientError(reason, code="ServiceUnavailable") from error


def _check_limits(points: Sequence[RecoveryPoint], now: datetime, recent: Sequence[datetime]) -> None:
    try:
        check_on_demand_backup_allowed(points, now, recent)
    except LimitExceededError as error:
        if error.code != DAILY_LIMIT_CODE or len(recent) < MAX_ON_DEMAND_BACKUPS_PER_DAY:
            raise
        next_allowed = recent[-MAX_ON_DEMAND_BACKUPS_PER_DAY] + ON_DEMAND_RATE_WINDOW
        when = next_allowed.isoformat().replace("+00:00", "Z")
        raise LimitExceededError(
            f"{error.message} The next on-demand backup of this instance is allowed after {when}.",
            code=error.code,
            target=error.target,
            recommended_action=f"Request the on-demand backup again after {when}, when the oldest of the "
            f"last {MAX_ON_DEMAND_BACKUPS_PER_DAY} requests leaves the rolling 24 hours; scheduled backups "
            "go on meanwhile.",
        ) from None


def _check_snapshot_burst(instance: BackupInstance, schedule: Schedule, now: datetime) -> None:
    refusal = on_demand_burst_refusal(instance, schedule, now)
    if refusal is None:
        return
    when = refusal.retry_after.isoformat().replace("+00:00", "Z")
    kept = (
        f", and {refusal.kept_for_schedule} is kept for the scheduled backup due in that window"
        if refusal.kept_for_schedule
        else ""
    )
    raise ThrottledError(
        f"The disk already has {refusal.taken} incremental snapshots taken or under way in the last "
        f"5 minutes{kept}; the platform allows {SNAPSHOT_BURST_LIMIT} per disk in any 5 minutes, so "
        "this on-demand backup was not started.",
        code=SNAPSHOT_BURST_CODE,
        target="backupInstanceName",
        retry_after=max(1.0, (refusal.retry_after - now).total_seconds()),
        recommended_action=f"Request the on-demand backup again after {when}: by then an earlier "
        f"snapshot of this disk has left the 5-minute window of {SNAPSHOT_BURST_LIMIT} snapshots.",
    )
