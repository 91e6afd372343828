"""On-demand backups and restores: what the API accepts (limits, states, checks, each with Azure's
code and nothing written on refusal), and what the workers then do (idempotent, errors mapped to
Azure's restore vocabulary, the recovery point's lease always released)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backup.domain.instance import instance_key
from backup.domain.limits import MAX_DEQUEUE_COUNT, RESTORE_LEASE
from backup.domain.models import JobOperation, JobStatus, ProtectionState, RetentionTag
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.restore import TAG_RESTORE_JOB, TAG_RESTORED_RECOVERY_POINT, RestoreMessage
from backup.domain.snapshots import TAG_RECOVERY_POINT, recovery_point_id
from backup.errors import (
    AuthorizationError,
    ConcurrencyError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from backup.services.backup_runner import Outcome
from backup.services.messages import ON_DEMAND
from backup.services.restore import RestoreOutcome
from backup.shapes.restore import RestoreSpec
from tests.fakes.compute import APP_PRINCIPAL
from tests.service.conftest import (
    RESTORE_RG,
    SNAP_RG,
    SRC_RG,
    START,
    VAULT,
    Env,
    disk_id,
    policy_document,
    restore_target,
)

NAME = "disk-a-instance"


async def request_backup(env: Env, *, rule: str = "BackupHourly", tag: str | None = None) -> object:
    return await env.on_demand.request(
        VAULT, NAME, rule_name=rule, retention_tag_override=tag, requested_by="alice"
    )


# --- on-demand backups ----------------------------------------------------------------------------


async def test_an_on_demand_backup_is_accepted_queued_and_run_under_its_job(env: Env) -> None:
    await env.protect("disk-a", policy_document(daily="P30D"))
    job = await request_backup(env, tag="Daily")
    assert (job.status, job.operation, job.initiated_by) == (
        JobStatus.IN_PROGRESS,
        JobOperation.ON_DEMAND_BACKUP,
        "alice",
    )
    assert (await env.store.get_job(VAULT, job.id)) == job
    assert (await env.instance()).recent_on_demand_requests == (START,)
    [request] = env.queued()
    assert (request.kind, request.job_id, request.requested_at, request.retention_tag_override) == (
        ON_DEMAND,
        job.id,
        START,
        "Daily",
    )

    assert await env.drain() == [Outcome.RECORDED]
    finished = await env.store.get_job(VAULT, job.id)
    assert finished.status is JobStatus.COMPLETED
    [point] = await env.store.list_recovery_points(VAULT, NAME)
    assert (point.slot, point.retention_tag, point.expires_at) == (
        None,
        RetentionTag.DAILY,
        START + timedelta(days=30),
    )
    assert (await env.instance()).live_on_demand_points == 1


async def test_the_eleventh_request_in_a_day_is_refused_with_the_time_it_is_allowed_again(env: Env) -> None:
    await env.protect("disk-a")
    for _ in range(10):
        await request_backup(env)
        env.advance(timedelta(minutes=30))
    with pytest.raises(LimitExceededError) as refused:
        await request_backup(env)
    assert refused.value.code == "OnDemandBackupDailyLimitReached"
    assert "2026-11-03T00:00:00Z" in refused.value.message
    assert len(env.queued()) == 10
    assert len(await env.store.list_jobs(VAULT)) == 10
    env.clock.set(START + timedelta(days=1, seconds=1))
    await request_backup(env)
    assert len(env.queued()) == 11


async def test_a_burst_of_ten_is_refused_up_front_beyond_the_disks_snapshot_rate_and_spares_the_schedule(
    env: Env,
) -> None:
    await env.protect("disk-a")  # every 4 hours from START
    assert await env.cycle() == [Outcome.RECORDED]  # the 00:00 slot
    env.clock.set(START + timedelta(hours=3, minutes=57))  # the 04:00 slot falls inside the window
    accepted, refusals = [], []
    for _ in range(10):
        try:
            accepted.append(await request_backup(env))
        except ThrottledError as error:
            refusals.append(error)
        env.advance(timedelta(seconds=1))

    # 7 per disk per 5 minutes, one kept for the 04:00 backup: 6 accepted, 4 refused at once.
    assert len(accepted) == 6
    assert [(error.status, error.code) for error in refusals] == [
        (429, "UserErrorMaxConcurrentOperationLimitReached")
    ] * 4
    # The first refused (03:57:06) may come back when the first accepted (03:57:00) leaves the window.
    assert refusals[0].retry_after == timedelta(minutes=5, seconds=-6).total_seconds()
    assert "2026-11-02T04:02:00Z" in refusals[0].recommended_action
    assert "kept for the scheduled backup" in refusals[0].message
    # A refusal writes nothing: no job, no request counted against the day's 10.
    assert len(await env.store.list_jobs(VAULT)) == 1 + 6
    assert len((await env.instance()).recent_on_demand_requests) == 6
    assert len((await env.instance()).snapshot_reservations) == 6

    assert await env.drain() == [Outcome.RECORDED] * 6
    env.clock.set(START + timedelta(hours=4))
    assert await env.cycle() == [Outcome.RECORDED]  # the scheduled backup still had its room
    jobs = await env.store.list_jobs(VAULT)
    assert len(jobs) == 8
    assert all(job.status is JobStatus.COMPLETED for job in jobs)
    assert (await env.instance()).protection_state is ProtectionState.PROTECTION_CONFIGURED


async def test_an_on_demand_backup_takes_its_snapshot_reservation_when_accepted(env: Env) -> None:
    await env.protect("disk-a")
    env.clock.set(START + timedelta(hours=1))
    job = await request_backup(env)
    point_id = recovery_point_id(instance_key(VAULT.id, NAME), job.start_time, job.id)
    assert dict((await env.instance()).snapshot_reservations) == {point_id: job.start_time}
    # The runner finds the reservation held: it takes no second one and the point gets that id.
    assert await env.drain() == [Outcome.RECORDED]
    [point] = await env.store.list_recovery_points(VAULT, NAME)
    assert point.id == point_id
    assert dict((await env.instance()).snapshot_reservations) == {}


@pytest.mark.parametrize(
    "state",
    [
        ProtectionState.PROTECTION_STOPPED,
        ProtectionState.BACKUP_SCHEDULES_SUSPENDED,
        ProtectionState.SOFT_DELETED,
    ],
)
async def test_an_instance_that_takes_no_backups_refuses_on_demand_ones(
    env: Env, state: ProtectionState
) -> None:
    await env.protect("disk-a", protection_state=state)
    with pytest.raises(ConflictError) as refused:
        await request_backup(env)
    assert refused.value.code == "UserErrorBackupInstanceNotProtected"
    assert env.backups.messages == []
    assert await env.store.list_jobs(VAULT) == []


async def test_an_unknown_instance_rule_or_tag_is_refused(env: Env) -> None:
    with pytest.raises(NotFoundError):
        await request_backup(env)
    await env.protect("disk-a")
    with pytest.raises(ValidationError) as rule:
        await request_backup(env, rule="Nightly")
    assert rule.value.code == "UnknownBackupRule"
    with pytest.raises(ValidationError):
        await request_backup(env, tag="Weekly")
    assert await env.store.list_jobs(VAULT) == []
    assert (await env.instance()).recent_on_demand_requests == ()


async def test_a_queue_outage_fails_the_accepted_job_and_says_retry(env: Env) -> None:
    await env.protect("disk-a")
    env.backups.fail_next(ConnectionError("queue down"))
    with pytest.raises(TransientError):
        await request_backup(env)
    [job] = await env.store.list_jobs(VAULT)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "BackupQueueUnavailable")


async def test_an_on_demand_request_whose_instance_changed_meanwhile_is_checked_again(env: Env) -> None:
    await env.protect("disk-a")
    env.store.fail_next("accept_on_demand_backup", ConcurrencyError("raced"))
    job = await request_backup(env)
    assert [j.id for j in await env.store.list_jobs(VAULT)] == [job.id]
    assert len(env.queued()) == 1


# --- restores -------------------------------------------------------------------------------------


async def backed_up_point(env: Env, disk: str = "disk-a") -> object:
    await env.protect(disk)
    await env.run_slots(1)
    [point] = await env.store.list_recovery_points(VAULT, f"{disk}-instance")
    return point


def spec(point: object, target: str = "restored", **changes: object) -> RestoreSpec:
    made = RestoreSpec(point.id, ComputeResourceId.disk(restore_target(target)), "eastus")  # type: ignore[attr-defined]
    return replace(made, **changes)


async def test_a_restore_is_accepted_leased_queued_and_creates_the_disk_once(env: Env) -> None:
    point = await backed_up_point(env)
    env.arm.write_disk(disk_id("disk-a"), "after the backup")
    job = await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    assert (job.status, job.progress_percent, job.restore_target_id) == (
        JobStatus.IN_PROGRESS,
        10,
        restore_target("restored"),
    )
    leased = await env.store.get_recovery_point(VAULT, NAME, point.id)
    assert leased.value.in_use_until == env.now + RESTORE_LEASE
    usage = await env.store.get_restore_usage(VAULT, NAME)
    assert usage.value == (env.now,)
    [body] = env.restores.messages

    assert await env.drain_restores() == [RestoreOutcome.COMPLETED]
    disk = await env.compute.get_disk(ComputeResourceId.disk(restore_target("restored")))
    assert env.arm.read_content(disk.id) == "disk-a-v0"
    assert (disk.sku, disk.location) == ("StandardSSD_LRS", "eastus")
    assert disk.tags[TAG_RESTORED_RECOVERY_POINT] == point.id
    assert disk.tags[TAG_RESTORE_JOB] == job.id
    assert disk.tags["app"] == "disk-a"  # the source disk's own tags, recorded at backup time
    done = await env.store.get_job(VAULT, job.id)
    assert (done.status, done.progress_percent) == (JobStatus.COMPLETED, 100)
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None

    calls = env.arm.calls["Disks_CreateOrUpdate"]
    assert await env.restore_runner.handle_message(body, 2) is RestoreOutcome.DUPLICATE
    assert env.arm.calls["Disks_CreateOrUpdate"] == calls


async def test_a_redelivery_after_the_disk_put_finishes_the_same_restore(env: Env) -> None:
    point = await backed_up_point(env)
    await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    [body] = env.restores.take()
    env.arm.fail("Disks_CreateOrUpdate", "error500", times=1)
    with pytest.raises(TransientError):
        await env.restore_runner.handle_message(body, 1)
    message = RestoreMessage.from_json(body)
    assert (await env.store.get_job(VAULT, message.job_id)).progress_percent == 50
    assert await env.restore_runner.handle_message(body, 2) is RestoreOutcome.COMPLETED
    assert (await env.store.get_job(VAULT, message.job_id)).status is JobStatus.COMPLETED


@pytest.mark.parametrize(
    ("arrange", "error", "code"),
    [
        ("target-exists", ConflictError, "UserErrorSameNameDiskAlreadyExists"),
        ("no-restore-role", AuthorizationError, "UserErrorNotEnoughPermissionOnTargetRG"),
        ("no-target-group", NotFoundError, "UserErrorRestoreTargetRGNotFound"),
        ("unknown-point", NotFoundError, "UserErrorRecoveryPointNotFound"),
        ("snapshot-gone", NotFoundError, "UserErrorDiskSnapshotNotFound"),
        ("snapshot-retagged", ConflictError, "UserErrorSnapshotMetadataNotFound"),
        ("no-snapshot-role", AuthorizationError, "UserErrorNotEnoughPermissionOnSnapshotRG"),
        ("wrong-region", ValidationError, "UserErrorRestoreLocationMismatch"),
    ],
)
async def test_each_refused_restore_has_its_code_and_records_nothing(
    env: Env, arrange: str, error: type[Exception], code: str
) -> None:
    point = await backed_up_point(env)
    request = spec(point)
    if arrange == "target-exists":
        env.arm.add_disk(restore_target("restored"))
    elif arrange == "no-restore-role":
        env.arm.revoke(APP_PRINCIPAL, "Disk Restore Operator", RESTORE_RG)
    elif arrange == "no-target-group":
        env.arm.remove_group(RESTORE_RG)
    elif arrange == "unknown-point":
        request = replace(request, recovery_point_id="0" * 32)
    elif arrange == "snapshot-gone":
        env.arm.remove_snapshot(point.snapshot_id)
    elif arrange == "snapshot-retagged":
        tags = dict(env.arm.snapshots[point.snapshot_id.lower()].info.tags)
        env.arm.set_snapshot_tags(point.snapshot_id, {**tags, TAG_RECOVERY_POINT: "f" * 32})
    elif arrange == "no-snapshot-role":
        env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    elif arrange == "wrong-region":
        request = replace(request, restore_location="westus2")
    jobs_before = len(await env.store.list_jobs(VAULT))
    with pytest.raises(error) as refused:
        await env.restore_service.trigger(VAULT, NAME, request, requested_by="bob")
    assert refused.value.code == code
    assert len(await env.store.list_jobs(VAULT)) == jobs_before
    assert await env.store.get_restore_usage(VAULT, NAME) is None
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None
    assert env.restores.messages == []


async def test_a_premium_v2_point_restores_only_after_its_copy_completes(env: Env) -> None:
    await env.protect("disk-fast", policy_document(interval="PT12H"))
    await env.run_slots(1)
    [point] = await env.store.list_recovery_points(VAULT, "disk-fast-instance")
    env.clock.set(point.created_at + timedelta(seconds=30))
    with pytest.raises(ConflictError) as early:
        await env.restore_service.validate(VAULT, "disk-fast-instance", spec(point))
    assert early.value.code == "UserErrorSnapshotCopyInProgress"
    env.advance(timedelta(minutes=1))
    plan = await env.restore_service.validate(VAULT, "disk-fast-instance", spec(point))
    assert plan.settings.sku == "PremiumV2_LRS"


async def test_the_eleventh_restore_in_a_day_is_refused(env: Env) -> None:
    point = await backed_up_point(env)
    for index in range(10):
        await env.restore_service.trigger(VAULT, NAME, spec(point, f"r-{index}"), requested_by="bob")
        env.advance(timedelta(minutes=10))
    with pytest.raises(LimitExceededError) as refused:
        await env.restore_service.trigger(VAULT, NAME, spec(point, "r-10"), requested_by="bob")
    assert refused.value.code == "RestoreDailyLimitReached"
    assert len(env.restores.messages) == 10


async def test_a_soft_deleted_instance_cannot_be_restored_from(env: Env) -> None:
    point = await backed_up_point(env)
    current = await env.versioned()
    await env.store.update_instance(
        current, current.value.soft_deleted(env.now, env.now + timedelta(days=14))
    )
    with pytest.raises(ConflictError) as refused:
        await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    assert refused.value.code == "UserErrorBackupInstanceSoftDeleted"


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        ("disk-appeared", "UserErrorSameNameDiskAlreadyExists"),
        ("snapshot-deleted", "UserErrorDiskSnapshotNotFound"),
        ("role-revoked", "UserErrorNotEnoughPermissionOnTargetRG"),
    ],
)
async def test_worker_failures_are_recorded_in_restore_terms_and_release_the_lease(
    env: Env, arrange: str, code: str
) -> None:
    point = await backed_up_point(env)
    job = await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    if arrange == "disk-appeared":
        env.arm.add_disk(restore_target("restored"))
    elif arrange == "snapshot-deleted":
        env.arm.remove_snapshot(point.snapshot_id)
    else:
        env.arm.revoke(APP_PRINCIPAL, "Disk Restore Operator", RESTORE_RG)
        env.arm.grant(APP_PRINCIPAL, "Reader", RESTORE_RG)
    assert await env.drain_restores() == [RestoreOutcome.FAILED]
    failed = await env.store.get_job(VAULT, job.id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, code)
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None


async def test_throttling_is_retried_then_failed_on_the_final_delivery(env: Env) -> None:
    point = await backed_up_point(env)
    job = await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    [body] = env.restores.take()
    env.arm.fail("Disks_CreateOrUpdate", "throttle429")
    with pytest.raises(ThrottledError):
        await env.restore_runner.handle_message(body, 1)
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is not None
    assert await env.restore_runner.handle_message(body, MAX_DEQUEUE_COUNT) is RestoreOutcome.FAILED
    failed = await env.store.get_job(VAULT, job.id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "SubscriptionRequestsThrottled")
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None


async def test_a_poisoned_restore_ends_as_a_failed_job_once(env: Env) -> None:
    point = await backed_up_point(env)
    job = await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    [body] = env.restores.take()
    await env.restore_runner.handle_poison(body)
    failed = await env.store.get_job(VAULT, job.id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "RestoreRetriesExhausted")
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None
    assert await env.restore_runner.handle_message(body, 1) is RestoreOutcome.DUPLICATE
    assert env.arm.calls["Disks_CreateOrUpdate"] == 0


async def test_a_restore_queue_outage_fails_the_job_and_releases_the_point(env: Env) -> None:
    point = await backed_up_point(env)
    env.restores.fail_next(ConnectionError("queue down"))
    with pytest.raises(TransientError):
        await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    [failed] = [j for j in await env.store.list_jobs(VAULT) if j.operation is JobOperation.RESTORE]
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "RestoreQueueUnavailable")
    assert (await env.store.get_recovery_point(VAULT, NAME, point.id)).value.in_use_until is None


IDENTITY = "/subscriptions/x/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a"


async def test_a_restore_as_an_identity_unbound_since_the_backup_is_refused_and_creates_nothing(
    env: Env,
) -> None:
    env.arm.attach_identity(IDENTITY)
    for role, scope in (
        ("Disk Backup Reader", SRC_RG),
        ("Disk Snapshot Contributor", SNAP_RG),
        ("Disk Restore Operator", RESTORE_RG),
    ):
        env.arm.grant(IDENTITY.lower(), role, scope)
    env.bind_identity(IDENTITY, VAULT.id)
    await env.protect("disk-a", identity=IDENTITY)
    await env.run_slots(1)
    [point] = await env.store.list_recovery_points(VAULT, NAME)
    # Accepted while bound; the worker then finds the binding gone and fails closed.
    accepted = await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    env.bind_identity(IDENTITY, "/subscriptions/00000000-0000-0000-0000-0000000000ff")
    assert await env.drain_restores() == [RestoreOutcome.FAILED]
    failed = await env.store.get_job(VAULT, accepted.id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "UserErrorIdentityNotBoundToVault")
    # A new request is refused up front.
    with pytest.raises(AuthorizationError) as refused:
        await env.restore_service.trigger(VAULT, NAME, spec(point, "restored-2"), requested_by="bob")
    assert refused.value.code == "UserErrorIdentityNotBoundToVault"
    assert env.arm.calls.get("Disks_CreateOrUpdate", 0) == 0
    # And the scheduled backups stop with the same error.
    await env.run_slots(1)
    jobs = [job for job in await env.store.list_jobs(VAULT) if job.operation is JobOperation.SCHEDULED_BACKUP]
    assert jobs[0].error_code == "UserErrorIdentityNotBoundToVault"
