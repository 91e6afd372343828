"""Every slot accounted for: a slot whose message could not be sent is sent on a later tick,
whatever the interval; a slot that cannot start in its window is a Failed BackupSlotMissed job;
slots skipped by design are recorded. Each scenario ends by checking the invariant with
``backup.domain.slots.account_for_slots`` over every slot since protection began."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime, timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from backup.domain.instance import instance_key
from backup.domain.jobs import scheduled_backup_job_id
from backup.domain.models import JobStatus, ProtectionState
from backup.domain.slots import SLOT_MISSED, SlotAccount, account_for_slots, missed_slot_job
from backup.services.planner import Planner
from backup.services.slot_accounting import record_missed, record_window_closed
from backup.telemetry import JOBS_METRIC, SLOTS_MISSED_METRIC, Telemetry
from tests.service.conftest import START, VAULT, Env, disk_id, policy_document

TICK = timedelta(minutes=5)
HOUR = timedelta(hours=1)


class Killed(BaseException):
    """The process dying mid-tick: not an error anything in the product may catch."""


async def tick_tolerating(env: Env, planner: Planner | None = None) -> None:
    """One timer run that may fail (a queue or storage outage fails the run; the next one follows)."""
    with contextlib.suppress(ConnectionError, Killed):
        await (planner or env.planner).tick()


async def healthy(env: Env, duration: timedelta, planner: Planner | None = None) -> None:
    """Timer runs every five minutes for ``duration``, the workers draining the queue after each."""
    end = env.now + duration
    while env.now < end:
        env.advance(TICK)
        await (planner or env.planner).tick()
        await env.drain()


async def account(env: Env, name: str = "disk-a-instance") -> SlotAccount:
    """The invariant over every slot from the policy start (protection began then) up to now."""
    instance = await env.instance(name)
    schedule = env.policies.parse(instance.policy_document).schedule
    slots = list(schedule.slots_between(START - timedelta(minutes=1), env.now))
    points = await env.store.list_recovery_points(VAULT, name, include_deleted=True)
    jobs = await env.store.list_jobs(VAULT)
    [plan] = [
        p for i, p in await env.store.instances_with_plans(VAULT) if i is not None and i.value.name == name
    ]
    assert plan is not None
    return account_for_slots(instance_key(VAULT.id, name), slots, points, jobs, plan.value.skips)


async def outcomes(env: Env, name: str = "disk-a-instance") -> dict[datetime, str]:
    """Slot -> "point" or the Failed job's error code."""
    found: dict[datetime, str] = {}
    for point in await env.store.list_recovery_points(VAULT, name, include_deleted=True):
        if point.slot is not None:
            found[point.slot] = "point"
    key = instance_key(VAULT.id, name)
    instance = await env.instance(name)
    schedule = env.policies.parse(instance.policy_document).schedule
    for slot in schedule.slots_between(START - timedelta(minutes=1), env.now):
        job = await env.store.get_job(VAULT, scheduled_backup_job_id(key, slot))
        if job is not None and job.status is JobStatus.FAILED:
            assert slot not in found, f"{slot}: a point and a failed job"
            found[slot] = str(job.error_code)
    return found


def metered_telemetry() -> tuple[Telemetry, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return Telemetry(meter_provider=MeterProvider(metric_readers=[reader])), reader


def metered(env: Env) -> tuple[Planner, InMemoryMetricReader]:
    telemetry, reader = metered_telemetry()
    planner = Planner(
        env.store,
        env.backups,
        env.clock,
        telemetry,
        env.policies,
        rows=env.runtime.instance_rows,
        start_window=env.runtime.settings.backup_start_window,
    )
    return planner, reader


def sums(reader: InMemoryMetricReader, name: str) -> Counter[tuple[tuple[str, str], ...]]:
    """The counter's running total per attribute set (what a log alert split by them sees)."""
    data = reader.get_metrics_data()
    totals: Counter[tuple[tuple[str, str], ...]] = Counter()
    if data is None:
        return totals
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        totals[tuple(sorted((point.attributes or {}).items()))] += point.value  # type: ignore[union-attr]
    return totals


# --- the outbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["PT1H", "PT2H", "PT4H"])
async def test_a_send_that_fails_after_planning_loses_no_slot(env: Env, interval: str) -> None:
    await env.protect("disk-a", policy_document(interval))
    env.backups.fail_next(ConnectionError("queue down"))
    await tick_tolerating(env)  # the plan row is saved, the send raises
    assert env.backups.messages == []

    await healthy(env, timedelta(hours=6))

    found = await outcomes(env)
    assert found[START] == "point", "the first slot was sent by the next tick, inside its window"
    assert set(found.values()) == {"point"}
    assert (await account(env)).holds


@pytest.mark.parametrize("interval", ["PT1H", "PT4H"])
async def test_a_queue_outage_past_the_window_leaves_a_missed_job_not_a_gap(env: Env, interval: str) -> None:
    await env.protect("disk-a", policy_document(interval))
    env.backups.fail_next(ConnectionError("queue down"), times=18)  # 90 minutes of failed sends
    await tick_tolerating(env)
    end = env.now + timedelta(hours=6)
    while env.now < end:
        env.advance(TICK)
        await tick_tolerating(env)
        await env.drain()

    found = await outcomes(env)
    assert found[START] == SLOT_MISSED
    job = await env.store.get_job(
        VAULT, scheduled_backup_job_id(instance_key(VAULT.id, "disk-a-instance"), START)
    )
    assert job is not None
    assert "could not be put on the queue" in str(job.error_message)
    assert list(found.values()).count(SLOT_MISSED) == 1, "only the slot whose window closed during the outage"
    assert (await account(env)).holds


async def test_a_planner_killed_after_saving_its_plans_sends_them_on_the_next_tick(env: Env) -> None:
    for disk in ("disk-a", "disk-b"):
        await env.protect(disk, policy_document("PT1H"))
    env.backups.fail_next(Killed())
    await tick_tolerating(env)
    plans = [plan for _, plan in await env.store.instances_with_plans(VAULT)]
    assert all(plan is not None and plan.value.unsent for plan in plans)

    env.advance(TICK)
    result = await env.planner.tick()
    assert sorted(request.instance for request in result.enqueued) == ["disk-a-instance", "disk-b-instance"]
    assert result.resent == 2
    await env.drain()
    await healthy(env, timedelta(hours=3))
    for name in ("disk-a-instance", "disk-b-instance"):
        assert set((await outcomes(env, name)).values()) == {"point"}
        assert (await account(env, name)).holds


async def test_a_planner_killed_after_sending_but_before_marking_sends_a_harmless_duplicate(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT1H"))
    env.store.fail_next("mark_plans_sent", Killed())
    await tick_tolerating(env)
    assert len(env.queued()) == 1

    env.advance(TICK)
    await env.planner.tick()
    assert [request.slot for request in env.queued()] == [START, START], "unmarked: sent again"
    assert sorted(await env.drain()) == ["Duplicate", "Recorded"]
    await healthy(env, timedelta(hours=2))
    assert (
        len([p for p in await env.store.list_recovery_points(VAULT, "disk-a-instance") if p.slot == START])
        == 1
    )
    assert (await account(env)).holds


async def test_a_failed_mark_is_only_logged_and_the_slot_is_sent_again(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT4H"))
    env.store.fail_next("mark_plans_sent", ConnectionError("table down"))
    result = await env.planner.tick()
    assert [request.slot for request in result.enqueued] == [START]
    await env.drain()
    env.advance(TICK)
    assert (await env.planner.tick()).enqueued == [], "its outcome is recorded: nothing to re-send"


# --- missed slots -------------------------------------------------------------------------------


async def test_downtime_over_several_intervals_is_one_catch_up_and_a_missed_job_per_other_slot(
    env: Env,
) -> None:
    for disk in ("disk-a", "disk-b"):
        await env.protect(disk, policy_document("PT1H"))
    planner, reader = metered(env)
    await planner.tick()
    await env.drain()

    env.advance(timedelta(hours=6, minutes=20))  # the app is down from 00:05 to 06:20
    result = await planner.tick()
    assert sorted((r.instance, r.slot) for r in result.enqueued) == [
        ("disk-a-instance", START + 6 * HOUR),
        ("disk-b-instance", START + 6 * HOUR),
    ], "one catch-up backup per instance: the newest due slot"
    assert result.missed == 10
    await env.drain()

    for name in ("disk-a-instance", "disk-b-instance"):
        found = await outcomes(env, name)
        assert found == {
            START: "point",
            **{START + hours * HOUR: SLOT_MISSED for hours in range(1, 6)},
            START + 6 * HOUR: "point",
        }
        missed = await env.store.get_job(
            VAULT, scheduled_backup_job_id(instance_key(VAULT.id, name), START + HOUR)
        )
        assert missed is not None
        assert "the scheduler did not plan it while it was due" in str(missed.error_message)
        assert (missed.start_time, missed.end_time) == (START + HOUR, START + timedelta(hours=6, minutes=20))
        instance = await env.instance(name)
        assert instance.last_attempted_slot == START + 6 * HOUR
        assert instance.protection_state is ProtectionState.PROTECTION_CONFIGURED, "healed by the catch-up"
        assert (await account(env, name)).holds

    # The alert's signal: one series per instance (the rule splits by vault and instance), and the
    # missed jobs are not counted as failed runs, so the per-job failure alert stays quiet.
    missed_counts = sums(reader, SLOTS_MISSED_METRIC)
    assert missed_counts == {
        (("instance", "disk-a-instance"), ("vault", VAULT.id)): 5,
        (("instance", "disk-b-instance"), ("vault", VAULT.id)): 5,
    }
    assert not [key for key in sums(reader, JOBS_METRIC) if ("job.outcome", "Failed") in key]

    # Healthy again: nothing more is missed, so the signal stops rising and the alert resolves.
    await healthy(env, timedelta(hours=3), planner)
    assert sums(reader, SLOTS_MISSED_METRIC) == missed_counts
    for name in ("disk-a-instance", "disk-b-instance"):
        assert (await account(env, name)).holds


async def test_recording_missed_slots_again_after_a_crash_writes_the_same_jobs(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT1H"))
    await env.cycle()
    env.advance(timedelta(hours=4, minutes=10))
    env.store.fail_next("record_failure", Killed())  # dies after the older jobs, before the instance
    await tick_tolerating(env)
    assert (await env.instance()).last_attempted_slot == START

    env.advance(TICK)
    planner, reader = metered(env)
    result = await planner.tick()
    await env.drain()
    assert [request.slot for request in result.enqueued] == [START + 4 * HOUR]
    found = await outcomes(env)
    assert [slot for slot, code in found.items() if code == SLOT_MISSED] == [
        START + h * HOUR for h in (1, 2, 3)
    ]
    jobs = [job for job in await env.store.list_jobs(VAULT) if job.error_code == SLOT_MISSED]
    assert len(jobs) == 3, "the same job ids: no duplicates"
    assert sum(sums(reader, SLOTS_MISSED_METRIC).values()) == 1, "only the slot not recorded before the crash"
    assert (await account(env)).holds


async def test_a_real_failure_already_recorded_under_the_slots_job_id_is_kept(env: Env) -> None:
    # The runner's fallback when the instance row keeps changing: the job is written, the instance
    # not moved. Recording the slot as missed afterwards must keep the real reason.
    await env.protect("disk-a", policy_document("PT4H"))
    current = await env.versioned()
    real = missed_slot_job(current.value, START, "The disk is locked.", START + TICK).failed(
        START + TICK, "UserErrorDiskLocked", "The disk is locked."
    )
    await env.store.put_job(real)
    telemetry, reader = metered_telemetry()
    written = await record_missed(
        env.store, env.clock, telemetry, current, START, "should not replace the real reason"
    )
    assert written is not None
    assert written.value.last_attempted_slot == START
    assert await env.store.get_job(VAULT, real.id) == real
    assert sum(sums(reader, SLOTS_MISSED_METRIC).values()) == 0, "not counted as missed"
    assert (await env.instance()).last_attempted_slot == START


async def test_record_missed_leaves_a_slot_the_instance_is_already_past(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT4H"))
    await env.cycle()
    current = await env.versioned()
    assert (
        await record_missed(env.store, env.clock, env.telemetry, current, START, "late duplicate") == current
    )
    assert (await outcomes(env))[START] == "point"


async def test_the_runners_call_when_the_window_closed_records_the_slot_with_its_deadline(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT4H"))
    await env.planner.tick()
    env.advance(timedelta(hours=1, minutes=10))  # the budget held the backup past its window
    telemetry, reader = metered_telemetry()
    written = await record_window_closed(
        env.store,
        env.clock,
        telemetry,
        await env.versioned(),
        START,
        START,
        env.runtime.settings.backup_start_window,
    )
    assert written is not None
    assert written.value.last_attempted_slot == START
    job = await env.store.get_job(
        VAULT, scheduled_backup_job_id(instance_key(VAULT.id, "disk-a-instance"), START)
    )
    assert job is not None
    assert job.error_code == SLOT_MISSED
    assert "not started by 2026-11-02T01:00:00Z" in str(job.error_message)
    assert "could not start within its start window" in str(job.error_message)
    assert sum(sums(reader, SLOTS_MISSED_METRIC).values()) == 1
    env.backups.take()  # the runner's own message, which made this call instead of a backup
    env.advance(TICK)
    assert (await env.planner.tick()).enqueued == [], "the slot has its outcome: nothing to re-send"
    await healthy(env, timedelta(hours=4))
    assert (await account(env)).holds


# --- skipped by design --------------------------------------------------------------------------


async def test_slots_while_suspended_are_recorded_skips_and_resume_continues(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT1H"))
    await env.cycle()
    await env.protection.suspend_backups(VAULT, "disk-a-instance")
    await healthy(env, timedelta(hours=3, minutes=30))
    await env.protection.resume_backups(VAULT, "disk-a-instance")
    await healthy(env, timedelta(hours=2))

    found = await outcomes(env)
    assert found[START] == "point"
    assert all(slot not in found for slot in (START + HOUR, START + 2 * HOUR, START + 3 * HOUR))
    assert found[START + 5 * HOUR] == "point"
    account_now = await account(env)
    assert account_now.holds, account_now
    [(_, plan)] = await env.store.instances_with_plans(VAULT)
    assert plan is not None
    assert [span.reason.value for span in plan.value.skips] == ["BackupSchedulesSuspended"]


async def test_slots_while_the_disk_is_missing_are_recorded_skips(env: Env) -> None:
    await env.protect("disk-a", policy_document("PT1H"))
    await env.cycle()
    env.arm.remove_disk(disk_id("disk-a"))
    await healthy(env, timedelta(hours=4))
    found = await outcomes(env)
    assert found[START + HOUR] == "UserErrorManagedDiskNotFound"
    assert [slot for slot in found if slot > START + HOUR] == [], "later slots are skips, not failures"
    account_now = await account(env)
    assert account_now.holds, account_now
    [(_, plan)] = await env.store.instances_with_plans(VAULT)
    assert plan is not None
    assert [span.reason.value for span in plan.value.skips] == ["DatasourceMissing"]


async def test_a_second_planner_at_the_same_moment_does_not_send_a_slot_being_sent(env: Env) -> None:
    """Two hosts' timers fire together: the first saved its plans and is sending; the second
    finds them planned but not yet marked sent, and leaves them to it (no twin message)."""
    await env.protect("disk-a")
    env.backups.fail_next(ConnectionError("the first planner is still sending"))
    await tick_tolerating(env)  # as the second planner sees it: saved, not (yet) marked sent

    second = await env.planner.tick()

    assert second.enqueued == []
    assert env.backups.messages == []
    env.advance(TICK)  # a later tick: the slot is no longer being sent by anyone, so it is sent
    assert [request.slot for request in (await env.planner.tick()).enqueued] == [START]
