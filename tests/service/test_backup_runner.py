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
from backup.domain.pacing import BudgetScope, Category
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import SnapshotTags, recovery_point_id
from backup.errors import TransientError
from backup.services.backup_runner import Outcome
from backup.services.messages import SCHEDULED, BackupRequest
from tests.fakes._types import encode_instance
from tests.fakes.budget_stub import ScriptedBudget
from tests.service.conftest import SNAP_RG, SRC_RG, START, VAULT, Env, disk_id

CREATE = "Snapshots_CreateOrUpdate"
IDENTITY = "/subscriptions/x/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id"
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
    # What Azure's job shows in additionalDetails: the policy's backup rule and the point's tag.
    assert (job.policy_rule_name, job.retention_tag) == ("BackupHourly", point.retention_tag.value)
    instance = await env.instance()
    assert (instance.live_recovery_points, instance.last_attempted_slot) == (1, START)
    assert instance.health.last_successful_backup == point.created_at


async def test_a_scheduled_point_expires_at_its_creation_time_plus_the_retention_as_azures_do(
    env: Env,
) -> None:
    await env.protect("disk-a")
    env.advance(timedelta(minutes=40))  # the 00:00 backup starts late (queue, ARM's budget)
    assert await backup(env, scheduled()) is Outcome.RECORDED
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert point.slot == START
    assert point.created_at == START + timedelta(minutes=40)
    assert point.expires_at == START + timedelta(minutes=40) + timedelta(days=7)  # not START + 7 days
    snapshot = await env.compute.get_snapshot(ComputeResourceId.snapshot(point.snapshot_id))
    assert snapshot is not None
    tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
    assert tags is not None
    assert tags.expires_at == point.expires_at  # what reconciliation would rebuild it with


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


# --- the backup as a queue-driven state machine -------------------------------------------------


def facts(env: Env, disk: str = "disk-a") -> dict[str, object]:
    """What configuring protection keeps of the disk (``env.protect`` writes rows as old
    versions did, without them, unless a test passes these)."""
    return {"disk_facts": env.arm.disks[disk_id(disk).lower()], "disk_facts_refreshed_at": env.now}


async def test_a_scheduled_backup_makes_one_write_and_two_reads_and_never_reads_the_disk(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    [first_poll] = env.queued()
    assert (first_poll.phase, first_poll.reserved) == ("poll", False)
    assert first_poll.operation_url is not None
    assert first_poll.instance_row is not None  # the row the reservation wrote: no read needed
    assert env.backups.delays[-1][1] == env.arm.retry_after_accepted
    assert await env.drain() == [Outcome.RECORDED]
    # Each poll waited what ARM asked: 2 s after the 202, then the InProgress answer's 10 s.
    assert [delay for _, delay in env.backups.delays] == [2.0, 10.0]
    assert (env.arm.calls[CREATE], env.arm.calls[POLLS]) == (1, 2)
    assert env.arm.calls["Disks_Get"] == env.arm.calls["Snapshots_Get"] == 0
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert point.source_disk_tags == (("app", "disk-a"),)
    instance = await env.instance()
    assert (instance.recent_snapshot_times, dict(instance.snapshot_reservations)) == ((point.created_at,), {})


async def test_an_old_row_reads_its_disk_once_and_keeps_the_facts(env: Env) -> None:
    await env.protect("disk-a")
    assert (await env.instance()).disk_facts is None
    assert await backup(env, scheduled()) is Outcome.RECORDED
    assert env.arm.calls["Disks_Get"] == 1
    instance = await env.instance()
    assert instance.disk_facts == env.arm.disks[disk_id("disk-a").lower()]
    assert instance.disk_facts_refreshed_at == START

    env.advance(timedelta(hours=4))
    assert await backup(env, scheduled(START + timedelta(hours=4))) is Outcome.RECORDED
    assert env.arm.calls["Disks_Get"] == 1


async def test_disk_facts_older_than_a_day_are_read_again_once(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.disks[disk_id("disk-a").lower()] = replace(
        env.arm.disks[disk_id("disk-a").lower()], tags={"app": "disk-a", "owner": "ops"}
    )
    later = START + timedelta(hours=24)
    env.advance(timedelta(hours=24))
    assert await backup(env, scheduled(later)) is Outcome.RECORDED
    assert env.arm.calls["Disks_Get"] == 1
    instance = await env.instance()
    assert instance.disk_facts_refreshed_at == later
    assert dict(instance.disk_facts.tags) == {"app": "disk-a", "owner": "ops"}
    [point] = await env.store.list_recovery_points(VAULT, "disk-a-instance")
    assert point.source_disk_tags == (("app", "disk-a"), ("owner", "ops"))


async def test_a_deleted_disk_is_found_by_the_puts_answer_and_one_get(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.remove_disk(disk_id("disk-a"))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    assert (env.arm.calls[CREATE], env.arm.calls["Disks_Get"]) == (1, 1)
    job = await env.store.get_job(VAULT, job_of())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "UserErrorManagedDiskNotFound")
    instance = await env.instance()
    assert (instance.datasource_missing_since, instance.protection_state) == (
        START,
        ProtectionState.PROTECTION_ERROR,
    )
    assert env.arm.snapshot_ids() == []


async def test_a_404_for_something_else_than_the_disk_is_an_ordinary_failure(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.remove_group(SNAP_RG)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED
    job = await env.store.get_job(VAULT, job_of())
    assert job.error_code == "ResourceGroupNotFound"
    assert (await env.instance()).datasource_missing_since is None


async def test_the_budget_defers_a_put_as_a_delayed_message_that_holds_no_second_token(env: Env) -> None:
    budget = ScriptedBudget()
    runner = env.runtime.replacing(budget=budget).runner
    await env.protect("disk-a", **facts(env))
    budget.then(Category.WRITES, 40.0)
    assert await runner.handle_message(scheduled(), 1) is Outcome.DEFERRED
    [deferred] = env.backups.take()
    assert env.backups.delays[-1] == (deferred, 40.0)
    request = BackupRequest.from_json(deferred)
    assert (request.phase, request.reserved) == ("start", True)
    assert env.arm.calls[CREATE] == 0
    assert await env.store.get_job(VAULT, job_of()) is None

    assert await runner.handle_message(deferred, 1) is Outcome.IN_PROGRESS
    assert budget.count(Category.WRITES) == 1  # the deferred message spent the token it held
    assert env.arm.calls[CREATE] == 1
    scope = BudgetScope(SNAP_RG.split("/")[2], None)
    assert {held for held, _, _ in budget.reserved} == {scope}

    budget.then(Category.READS, 10.0)  # past the in-process wait: a delayed message
    [poll] = env.backups.take()
    assert await runner.handle_message(poll, 1) is Outcome.DEFERRED
    [deferred_poll] = env.backups.take()
    assert BackupRequest.from_json(deferred_poll).reserved
    assert env.arm.calls[POLLS] == 0
    outcomes = [await runner.handle_message(deferred_poll, 1)]
    while env.backups.messages:
        outcomes.append(await runner.handle_message(env.backups.take()[0], 1))
    assert outcomes[-1] is Outcome.RECORDED
    assert (budget.count(Category.WRITES), budget.count(Category.READS)) == (1, 2)
    assert env.arm.calls[POLLS] == 2


async def test_a_short_budget_wait_is_slept_in_process(env: Env) -> None:
    budget = ScriptedBudget()
    runner = env.runtime.replacing(budget=budget).runner
    await env.protect("disk-a", **facts(env))
    budget.then(Category.WRITES, 0.01)
    assert await runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    assert env.arm.calls[CREATE] == 1


async def test_the_snapshot_rate_is_reserved_on_the_row_before_the_put_once_per_point(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    reserved = await env.instance()
    point_id = recovery_point_id(instance_key(VAULT.id, "disk-a-instance"), START, "scheduled")
    assert dict(reserved.snapshot_reservations) == {point_id: START}
    # A duplicate of the start message finds its reservation: nothing more is held.
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    assert dict((await env.instance()).snapshot_reservations) == {point_id: START}
    assert await env.drain() == [Outcome.RECORDED, Outcome.DUPLICATE]
    assert dict((await env.instance()).snapshot_reservations) == {}


async def test_reservations_in_flight_count_against_the_disks_burst_rule(env: Env) -> None:
    recent = tuple(START - timedelta(minutes=3) + timedelta(seconds=index) for index in range(6))
    await env.protect("disk-a", recent_snapshot_times=recent, **facts(env))
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS  # the 7th, in flight
    env.backups.take()
    later = START + timedelta(minutes=1)
    env.advance(timedelta(minutes=1))
    assert await env.runner.handle_message(scheduled(later), 1) is Outcome.FAILED
    job = await env.store.get_job(VAULT, job_of(later))
    assert job.error_code == "UserErrorSnapshotRateLimitReached"
    assert env.arm.calls[CREATE] == 1


async def test_a_failed_create_is_put_again_as_a_new_start_that_counts_the_failure(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.fail(CREATE, "lroFailed", times=1)
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    [poll] = env.backups.take()
    assert await env.runner.handle_message(poll, 1) is Outcome.IN_PROGRESS
    [last_poll] = env.backups.take()
    assert await env.runner.handle_message(last_poll, 1) is Outcome.DEFERRED
    [restart] = env.queued()
    assert (restart.phase, restart.failures) == ("start", 1)
    assert await env.drain() == [Outcome.RECORDED]
    assert env.arm.calls[CREATE] == 2
    [snapshot_id] = env.arm.snapshot_ids()
    assert env.arm.snapshots[snapshot_id.lower()].info.provisioning_state == "Succeeded"


async def test_a_create_that_keeps_failing_ends_as_a_failed_job_after_the_allowed_tries(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.fail(CREATE, "lroFailed")
    assert await backup(env, scheduled()) is Outcome.FAILED
    assert env.arm.calls[CREATE] == MAX_DEQUEUE_COUNT
    job = await env.store.get_job(VAULT, job_of())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "InternalExecutionError")
    assert env.arm.snapshot_ids() == []  # settled: the failed snapshot was deleted


async def test_failures_before_a_continuation_count_towards_its_last_try(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    env.arm.fail(POLLS, "error500")
    assert await env.runner.handle_message(scheduled(), 3) is Outcome.IN_PROGRESS
    [poll] = env.queued()
    assert poll.failures == 2
    [body] = env.backups.take()
    with pytest.raises(TransientError):
        await env.runner.handle_message(body, 1)
    with pytest.raises(TransientError):
        await env.runner.handle_message(body, 2)
    # 2 + 2 failures before: this delivery is the fifth try; it settles (the look at the
    # snapshot fails too) and records the failure instead of raising.
    env.arm.fail("Snapshots_Get", "error500")
    assert await env.runner.handle_message(body, 3) is Outcome.FAILED
    job = await env.store.get_job(VAULT, job_of())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "InternalServerError")


async def test_a_poll_of_an_operation_url_off_the_arm_endpoint_is_refused(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    forged = BackupRequest(
        VAULT,
        "disk-a-instance",
        SCHEDULED,
        slot=START,
        phase="poll",
        operation_url="https://attacker.example/subscriptions/x/DiskOperations/1",
    )
    assert await env.runner.handle_message(forged.to_json(), 1) is Outcome.FAILED
    assert env.arm.calls[POLLS] == 0
    job = await env.store.get_job(VAULT, job_of())
    assert job.error_code == "UntrustedOperationUrl"


async def test_an_on_demand_backup_takes_the_same_path(env: Env) -> None:
    await env.protect("disk-a", **facts(env))
    job = await env.on_demand.request(
        VAULT, "disk-a-instance", rule_name="BackupHourly", retention_tag_override=None, requested_by="alice"
    )
    assert await env.drain() == [Outcome.RECORDED]
    assert (env.arm.calls[CREATE], env.arm.calls[POLLS], env.arm.calls["Disks_Get"]) == (1, 2, 0)
    assert (await env.store.get_job(VAULT, job.id)).status is JobStatus.COMPLETED


async def test_a_vault_identity_spends_its_own_budget(env: Env) -> None:
    identity = IDENTITY
    env.arm.attach_identity(identity)
    env.arm.grant(identity.lower(), "Disk Backup Reader", SRC_RG)
    env.bind_identity(IDENTITY)
    env.arm.grant(identity.lower(), "Disk Snapshot Contributor", SNAP_RG)
    budget = ScriptedBudget()
    runner = env.runtime.replacing(budget=budget).runner
    await env.protect("disk-a", identity=identity, **facts(env))
    assert await runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    [(scope, category, _)] = budget.reserved
    assert (scope, category) == (BudgetScope(SNAP_RG.split("/")[2], identity.lower()), Category.WRITES)


async def test_a_start_redelivered_after_its_put_and_past_the_window_still_ends_as_its_point(
    env: Env,
) -> None:
    """The PUT went out (its reservation is on the row), then the start was delivered again
    after the slot's start window closed: the backup goes on, it is not a missed slot."""
    await env.protect("disk-a")
    assert await env.runner.handle_message(scheduled(), 1) is Outcome.IN_PROGRESS
    env.backups.take()  # the poll is lost with the crashed host
    env.advance(timedelta(hours=3))

    assert await backup(env, scheduled(), 2) is Outcome.RECORDED

    job = await env.store.get_job(VAULT, job_of())
    assert job is not None
    assert job.status is JobStatus.COMPLETED
    assert len(await env.store.list_recovery_points(VAULT, "disk-a-instance")) == 1
    assert len(env.arm.snapshot_ids()) == 1


async def test_a_start_past_the_window_without_a_put_is_a_missed_slot(env: Env) -> None:
    await env.protect("disk-a")
    env.advance(timedelta(hours=3))

    assert await env.runner.handle_message(scheduled(), 1) is Outcome.FAILED

    job = await env.store.get_job(VAULT, job_of())
    assert job is not None
    assert (job.status, job.error_code) == (JobStatus.FAILED, "BackupSlotMissed")
    assert env.arm.calls.get(CREATE, 0) == 0


async def test_settling_a_failed_poll_leaves_a_snapshot_still_being_created(env: Env) -> None:
    """Only a create that ended Failed is deleted: one still Creating may yet succeed, and
    reconciliation adopts it then."""
    await env.protect("disk-a")
    env.arm.fail(POLLS, "error500")
    await env.runner.handle_message(scheduled(), MAX_DEQUEUE_COUNT)  # the PUT goes; its poll is queued
    [snapshot_id] = env.arm.snapshot_ids()
    creating = env.arm.snapshots[snapshot_id.lower()]
    creating.info = replace(creating.info, provisioning_state="Creating")
    ended = await env.drain()
    assert ended[-1] is Outcome.FAILED
    assert env.arm.snapshot_ids() == [snapshot_id]
    assert (await env.store.get_job(VAULT, job_of())).status is JobStatus.FAILED
