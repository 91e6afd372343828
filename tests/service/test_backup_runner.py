"""Backup runner decisions: a recorded backup, duplicate deliveries, a snapshot that already
exists, permanent failures recorded at once with their code, retryable ones retried until the
final delivery, a missing disk, the platform's snapshot limits, and poison messages; and the
backup as a queue-driven state machine: PUT, polls paced by Retry-After, waits for the budget
and for 429s as delayed messages that never spend a delivery, disk facts kept on the instance."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backup.domain.instance import instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.limits import MAX_DEQUEUE_COUNT
from backup.domain.models import JobOperation, JobStatus, ProtectionState
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import SnapshotTags
from backup.errors import TransientError
from backup.services.backup_runner import Outcome
from backup.services.messages import SCHEDULED, BackupRequest
from tests.fakes._types import encode_instance
from tests.service.conftest import SNAP_RG, START, VAULT, Env, disk_id

CREATE = "Snapshots_CreateOrUpdate"
POLLS = "DiskOperations_Get"


async def backup(env: Env, body: str, delivery: int = 1) -> Outcome:
    """One backup from a message to its end: every step it sends on is delivered in turn."""
    first = await env.runner.handle_message(body, delivery)
    ended = await env.drain()
    return ended[-1] if ended else first


def scheduled(slot: object = START, instance: str = "disk-a-instance") -> str:
    return BackupRequest(VAULT, instance, SCHEDULED, slot=slot).to_json()  # type: ignore[arg-type]


def job_of(slot: object = START, instance: str = "disk-a-instance") -> str:
    return scheduled_backup_job_id(instance_key(VAULT.id, instance), slot)  # type: ignore[arg-type]


async def test_a_scheduled_backup_records_point_snapshot_job_and_health(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.write_disk(disk_id("disk-a"), "captured")
    assert await backup(env, scheduled()) is Outcome.RECORDED

    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert point.slot == START
    assert point.expires_at == START + timedelta(days=7)
    assert point.source_disk_tags == (("app", "disk-a"),)
    assert env.arm.read_content(point.snapshot_id) == "captured"
    snapshot = await env.compute.get_snapshot(ComputeResourceId.snapshot(point.snapshot_id))
    assert snapshot is not None
    tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
    assert tags is not None
    assert (tags.recovery_point_id, tags.instance, tags.vault_id) == (point.id, "disk-a-instance", VAULT.id)
    job = await env.store.get_job(VAULT, job_of())
    assert job is not None
    assert (job.status, job.operation, job.recovery_point_id) == (
        JobStatus.COMPLETED,
        JobOperation.SCHEDULED_BACKUP,
        point.id,
    )
    instance = await env.instance()
    assert (instance.live_recovery_points, instance.last_attempted_slot) == (1, START)
    assert instance.health.last_successful_backup == point.created_at


async def test_a_duplicate_delivery_records_nothing_more(env: Env) -> None:
    await env.protect("disk-a")
    body = scheduled()
    assert await backup(env, body) is Outcome.RECORDED
    before = env.store.writes
    assert await env.runner.handle_message(body, 1) is Outcome.DUPLICATE
    assert await env.runner.handle_message(body, 2) is Outcome.DUPLICATE
    assert env.store.writes == before
    assert env.arm.calls[CREATE] == 1
    assert len(await env.store.list_recovery_points(VAULT, "disk-a-instance")) == 1
    assert len(await env.store.list_jobs(VAULT)) == 1


async def test_a_twin_run_that_loses_the_race_is_a_duplicate_not_a_second_point(env: Env) -> None:
    await env.protect("disk-a")
    stale = await env.versioned()
    assert await backup(env, scheduled()) is Outcome.RECORDED
    # The twin read the instance before the first run wrote it, and carries that old row.
    twin = replace(BackupRequest.from_json(scheduled()), instance_row=encode_instance(stale))
    assert await env.runner.run(twin) is Outcome.DUPLICATE
    assert (await env.instance()).live_recovery_points == 1
    assert len(env.arm.snapshot_ids()) == 1


async def test_a_snapshot_taken_before_a_crash_is_recorded_on_redelivery_with_its_first_time(
    env: Env,
) -> None:
    await env.protect("disk-a")
    env.store.fail_next("record_backup", TransientError("tables down", code="StorageUnavailable"))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    [first_poll] = env.backups.take()
    assert await env.runner.handle_message(first_poll, 1) is Outcome.IN_PROGRESS
    [last_poll] = env.backups.take()
    with pytest.raises(TransientError):
        await env.runner.handle_message(last_poll, 1)
    [snapshot_id] = env.arm.snapshot_ids()
    taken_at = env.arm.snapshots[snapshot_id.lower()].info.time_created
    assert await env.store.list_recovery_points(VAULT, "disk-a-instance") == []

    env.advance(timedelta(minutes=10))
    env.arm.write_disk(disk_id("disk-a"), "changed since")
    # The redelivered poll polls again: the operation's result still names the first capture.
    assert await backup(env, last_poll, 2) is Outcome.RECORDED
    assert env.arm.calls[CREATE] == 1
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert point.created_at == taken_at
    assert env.arm.snapshot_ids() == [snapshot_id]
    assert env.arm.read_content(snapshot_id) == "disk-a-v0"
    instance = await env.instance()
    assert (instance.recent_snapshot_times, dict(instance.snapshot_reservations)) == ((taken_at,), {})


async def test_a_missing_role_fails_the_job_at_once_with_its_code(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.revoke("app", "Disk Snapshot Contributor", SNAP_RG)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    job = await env.store.get_job(VAULT, job_of())
    assert job is not None
    assert (job.status, job.error_code) == (JobStatus.FAILED, "AuthorizationFailed")
    assert "Microsoft.Compute/snapshots/write" in (job.error_message or "")
    instance = await env.instance()
    assert instance.protection_state is ProtectionState.PROTECTION_ERROR
    assert (instance.health.consecutive_failures, instance.last_attempted_slot) == (1, START)
    assert env.arm.snapshot_ids() == []
    assert (await env.planner.tick()).enqueued == []  # the failed slot is not retried by the planner


async def test_throttling_is_waited_out_as_delayed_messages_without_spending_deliveries(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.fail(CREATE, "throttle429", times=MAX_DEQUEUE_COUNT + 2, retry_after=30)
    for _ in range(MAX_DEQUEUE_COUNT + 2):
        assert await env.runner.handle_message(scheduled(), 1) is Outcome.DEFERRED
        [again] = env.backups.take()
        assert BackupRequest.from_json(again).phase == "start"
        assert env.backups.delays[-1] == (again, 30)
    assert await env.store.get_job(VAULT, job_of()) is None
    assert await backup(env, scheduled()) is Outcome.RECORDED
    assert (await env.store.get_job(VAULT, job_of())).status is JobStatus.COMPLETED


async def test_a_throttled_poll_is_sent_again_after_its_retry_after(env: Env) -> None:
    await env.protect("disk-a")
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    [poll] = env.backups.take()
    env.arm.fail(POLLS, "throttle429", times=1, retry_after=12)
    assert await env.runner.handle_message(poll, 1) is Outcome.DEFERRED
    [again] = env.backups.take()
    assert env.backups.delays[-1] == (again, 12)
    request = BackupRequest.from_json(again)
    assert (request.phase, request.operation_url, request.failures) == (
        "poll",
        BackupRequest.from_json(poll).operation_url,
        0,
    )
    assert await backup(env, again) is Outcome.RECORDED
    assert env.arm.calls[CREATE] == 1


async def test_a_failed_final_attempt_that_did_take_the_snapshot_is_recorded_as_a_backup(env: Env) -> None:
    await env.protect("disk-a")
    env.store.fail_next("record_backup", TransientError("tables down"))
    with pytest.raises(TransientError):
        await backup(env, scheduled())
    env.arm.fail(CREATE, "error500")
    assert await backup(env, scheduled(), MAX_DEQUEUE_COUNT) is Outcome.RECORDED
    assert (await env.store.get_job(VAULT, job_of())).status is JobStatus.COMPLETED
    assert len(await env.store.list_recovery_points(VAULT, "disk-a-instance")) == 1


async def test_a_snapshot_whose_create_failed_is_deleted_and_the_job_fails(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.fail(CREATE, "lroFailed")
    # The last delivery's PUT is accepted; its poll (a fresh message) is still that last try.
    assert await backup(env, scheduled(), MAX_DEQUEUE_COUNT) is Outcome.FAILED
    assert env.arm.snapshot_ids() == []
    job = await env.store.get_job(VAULT, job_of())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "InternalExecutionError")


async def test_a_missing_disk_fails_once_then_its_slots_are_skipped(env: Env) -> None:
    await env.protect("disk-a")
    env.arm.remove_disk(disk_id("disk-a"))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    instance = await env.instance()
    assert instance.protection_state is ProtectionState.PROTECTION_ERROR
    assert instance.datasource_missing_since == START
    assert (await env.store.get_job(VAULT, job_of())).error_code == "UserErrorManagedDiskNotFound"

    later = START + timedelta(hours=4)
    env.advance(timedelta(hours=4))
    assert await env.runner.handle_message(scheduled(later), 1) is Outcome.SKIPPED
    assert await env.store.get_job(VAULT, job_of(later)) is None
    assert (await env.instance()).last_attempted_slot == later


async def test_the_burst_limit_fails_without_calling_arm(env: Env) -> None:
    recent = tuple(START - timedelta(minutes=4) + timedelta(seconds=index) for index in range(7))
    await env.protect("disk-a", recent_snapshot_times=recent)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    assert (await env.store.get_job(VAULT, job_of())).error_code == "UserErrorSnapshotRateLimitReached"
    assert env.arm.calls[CREATE] == 0


async def test_the_per_disk_quota_fails_without_calling_arm(env: Env) -> None:
    await env.protect("disk-a", live_recovery_points=500)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    assert (await env.store.get_job(VAULT, job_of())).error_code == "SnapshotsLimitReached"
    assert env.arm.calls[CREATE] == 0


async def test_a_premium_v2_disk_refuses_a_policy_more_frequent_than_twelve_hours(env: Env) -> None:
    await env.protect("disk-fast")
    assert await env.runner.handle_message(scheduled(instance="disk-fast-instance"), 1) is Outcome.FAILED
    job = await env.store.get_job(VAULT, job_of(instance="disk-fast-instance"))
    assert job.status is JobStatus.FAILED
    assert env.arm.calls[CREATE] == 0


@pytest.mark.parametrize(
    "state", [ProtectionState.PROTECTION_STOPPED, ProtectionState.BACKUP_SCHEDULES_SUSPENDED]
)
async def test_scheduled_backups_of_paused_instances_are_skipped(env: Env, state: ProtectionState) -> None:
    await env.protect("disk-a", protection_state=state)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.SKIPPED
    assert env.arm.calls[CREATE] == 0
    assert await env.store.list_jobs(VAULT) == []


async def test_a_request_for_a_vanished_instance_or_an_unreadable_one_is_skipped(env: Env) -> None:
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.SKIPPED
    assert await env.runner.handle_message(b"{not json", 1) is Outcome.SKIPPED
    assert env.arm.calls[CREATE] == 0


async def test_a_poison_message_ends_as_one_failed_job(env: Env) -> None:
    await env.protect("disk-a")
    await env.runner.handle_poison(scheduled())
    job = await env.store.get_job(VAULT, job_of())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "BackupRetriesExhausted")
    assert (await env.instance()).health.consecutive_failures == 1
    await env.runner.handle_poison(scheduled())
    assert (await env.instance()).health.consecutive_failures == 1
