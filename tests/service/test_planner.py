"""Planner decisions: which slot is due, catch-up after downtime, what is never planned, and
planning that is idempotent, survives a lost message and loses races cleanly."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from backup.domain.instance import VaultRef
from backup.domain.models import ProtectionState
from backup.domain.slots import DEFAULT_START_WINDOW
from backup.services.messages import SCHEDULED
from backup.services.planner import SAFETY_RESEND_MARGIN, Planner
from tests.fakes._types import PlanState, Versioned
from tests.fakes.vault_store import FakeVaultStore
from tests.service.conftest import OTHER_VAULT, START, VAULT, Env


async def test_the_due_slot_is_enqueued_once_with_the_row_the_planner_read(env: Env) -> None:
    await env.protect("disk-a")
    result = await env.planner.tick()
    [request] = env.queued()
    assert (request.vault, request.instance, request.kind, request.slot) == (
        VAULT,
        "disk-a-instance",
        SCHEDULED,
        START,
    )
    assert request.instance_row is not None
    assert request.instance_row["etag"] == (await env.versioned()).etag
    assert request.requested_at == START, "when it was planned (the start window's origin)"
    assert (result.vaults, result.instances, len(result.enqueued), result.catch_up) == (1, 1, 1, 0)

    again = await env.planner.tick()
    assert again.enqueued == []
    assert len(env.queued()) == 1


async def test_a_slot_inside_its_start_window_is_on_time_not_a_catch_up(env: Env) -> None:
    await env.protect("disk-a")
    await env.cycle()
    env.advance(timedelta(hours=12, minutes=59))  # the 12:00 slot, inside its one-hour start window
    result = await env.planner.tick()
    assert ([request.slot for request in result.enqueued], result.catch_up) == (
        [START + timedelta(hours=12)],
        0,
    )


async def test_nothing_is_due_between_slots_and_the_next_slot_follows_the_last_attempt(env: Env) -> None:
    await env.protect("disk-a")
    assert await env.cycle() == ["Recorded"]
    env.advance(timedelta(hours=3, minutes=59))
    assert (await env.planner.tick()).enqueued == []
    env.advance(timedelta(minutes=1))
    await env.planner.tick()
    assert [request.slot for request in env.queued()] == [START + timedelta(hours=4)]


async def test_after_downtime_only_the_newest_missed_slot_is_caught_up(env: Env) -> None:
    await env.protect("disk-a")
    await env.cycle()
    env.advance(timedelta(hours=14, minutes=30))  # past the 12:00 slot's start window
    result = await env.planner.tick()
    assert [request.slot for request in env.queued()] == [START + timedelta(hours=12)]
    assert result.catch_up == 1
    await env.drain()
    assert (await env.instance()).last_attempted_slot == START + timedelta(hours=12)
    assert (await env.planner.tick()).enqueued == []


async def test_suspended_stopped_deleted_and_inactive_instances_are_never_planned(env: Env) -> None:
    await env.protect("disk-a", protection_state=ProtectionState.BACKUP_SCHEDULES_SUSPENDED)
    await env.protect("disk-b", protection_state=ProtectionState.PROTECTION_STOPPED)
    await env.protect("disk-c", protection_state=ProtectionState.SOFT_DELETED)
    await env.protect("disk-fast", policy=None)
    [(_, plan)] = [
        pair
        for pair in await env.store.instances_with_plans(VAULT)
        if pair[0].value.name.startswith("disk-fast")
    ]
    assert plan is not None
    await env.store.save_plans(
        VAULT,
        [Versioned(PlanState(plan.value.instance, plan.value.policy_document, active=False), plan.etag)],
    )
    result = await env.planner.tick()
    assert result.instances == 4
    assert result.enqueued == []
    assert env.backups.messages == []


async def test_an_instance_in_protection_error_is_still_planned(env: Env) -> None:
    await env.protect("disk-a", protection_state=ProtectionState.PROTECTION_ERROR)
    await env.planner.tick()
    assert [request.instance for request in env.queued()] == ["disk-a-instance"]


async def test_a_sent_slot_whose_message_vanished_is_sent_once_more_after_its_window_and_a_margin(
    env: Env,
) -> None:
    await env.protect("disk-a")
    await env.planner.tick()
    env.backups.take()  # the message was sent, then lost without an outcome
    env.advance(DEFAULT_START_WINDOW + SAFETY_RESEND_MARGIN - timedelta(minutes=1))
    assert (await env.planner.tick()).enqueued == []
    env.advance(timedelta(minutes=1))
    result = await env.planner.tick()
    assert [request.slot for request in env.queued()] == [START]
    assert result.resent == 1
    assert (await env.planner.tick()).enqueued == [], "sent again once, not at every tick"


async def test_every_vault_is_planned(env: Env) -> None:
    await env.protect("disk-a")
    await env.protect("disk-b", vault=OTHER_VAULT)
    result = await env.planner.tick()
    assert result.vaults == 2
    assert sorted((r.vault.name, r.instance) for r in env.queued()) == [
        ("other-vault", "disk-b-instance"),
        ("svc-vault", "disk-a-instance"),
    ]


class _Interleaving(FakeVaultStore):
    """Lets two planners both read before either writes, as two app instances can."""

    async def instances_with_plans(self, vault: VaultRef) -> Any:
        rows = await super().instances_with_plans(vault)
        await asyncio.sleep(0)
        return rows


async def test_two_planners_at_once_enqueue_each_slot_once(env: Env) -> None:
    env.store = _Interleaving()
    for disk in ("disk-a", "disk-b"):
        await env.protect(disk)
    first = Planner(env.store, env.backups, env.clock, env.telemetry)
    second = Planner(env.store, env.backups, env.clock, env.telemetry)
    results = await asyncio.gather(first.tick(), second.tick())
    assert sorted(request.instance for request in env.queued()) == ["disk-a-instance", "disk-b-instance"]
    assert sum(result.lost_races for result in results) == 2
    assert sum(len(result.enqueued) for result in results) == 2


async def test_a_queue_outage_fails_the_tick_and_the_next_tick_sends_the_planned_slot(env: Env) -> None:
    await env.protect("disk-a")
    env.backups.fail_next(ConnectionError("queue down"))
    try:
        await env.planner.tick()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the send failure must surface")
    assert env.backups.messages == []
    [(_, plan)] = await env.store.instances_with_plans(VAULT)
    assert plan is not None
    assert plan.value.unsent
    env.advance(timedelta(minutes=5))
    result = await env.planner.tick()
    assert [request.slot for request in env.queued()] == [START]
    assert result.resent == 1
    [(_, plan)] = await env.store.instances_with_plans(VAULT)
    assert plan is not None
    assert not plan.value.unsent
    assert plan.value.planned_at == START, "a re-send keeps the time the slot was planned"
    [request] = env.queued()
    assert request.requested_at == START, "the worker's start window counts from the planning"
