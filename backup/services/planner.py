"""The scheduler tick: find the instances whose slot is due, enqueue one backup per slot, and
account for every slot that will not be backed up.

Cost per tick is one range query per vault (instances and their planner rows together), no
matter how many instances there are, plus one batched write per 100 instances planned and one
per 100 messages sent.

Nothing is lost (an outbox): the plan row is written first with the planned slot (so a second
planner running at the same time loses the race and enqueues nothing for those rows), then
the messages are sent, then the rows are marked sent. Every tick re-sends a planned slot whose
message is not marked sent and whose outcome is not recorded, whatever the schedule's
interval; a newer slot is never planned while an older one waits for its outcome, so no slot
is superseded silently. A duplicate message is harmless: the worker is idempotent.

Every slot is accounted for (``backup/domain/slots.py``): a slot that cannot start within its
start window (the app or the queue was down, or its message could not be sent in time) is
recorded as a Failed ``BackupSlotMissed`` job, and slots skipped by design (suspended, stopped,
datasource missing) are recorded as skip spans on the plan row.

Known limits: a send that raises although the queue took the message looks unsent; if its
window then closes, the slot is recorded as missed while the worker may still back it up (the
worker's start-phase window check makes that a missed slot too). A suspension and resume
between two ticks is not seen, so the slot the resume skips has no recorded skip.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.policy import BackupPolicy
from backup.domain.records import PlanState, Versioned
from backup.domain.schedule import Schedule, missed_slots, plan_scheduled_run
from backup.domain.slots import (
    DEFAULT_START_WINDOW,
    MissedBecause,
    SkipReason,
    SkipSpan,
    closed_skips,
    missed_message,
    opened_skip,
    start_deadline,
    window_closed,
)
from backup.ports import InstanceRows, SendMessages, VaultStore
from backup.services.messages import SCHEDULED, BackupRequest
from backup.services.policies import PolicyCache
from backup.services.slot_accounting import MissedSlot, record_missed_slots
from backup.telemetry import Telemetry, instance_health

UNSENT_GRACE = timedelta(minutes=1)
"""A planned slot younger than this is not re-sent as unsent: the planner that saved it sends
within seconds, and a concurrent planner (two hosts' timers at once) must not send it twice."""

SAFETY_RESEND_MARGIN = timedelta(hours=1)
"""A sent slot with no outcome by ``sent_at + start window + this`` is sent once more.

The queue does not lose messages and the poison handler records what fails, so this only
matters if a message vanished anyway; the worker then records the slot (missed, if its window
closed). The margin keeps a backup that started on time and is still polling from being sent
again while it runs."""

MISSED_RECORDING_CONCURRENCY = 16
"""Instances whose missed slots are recorded at once (Table Storage takes far more)."""

_log = logging.getLogger(__name__)

_SKIPPED_STATES = {
    ProtectionState.BACKUP_SCHEDULES_SUSPENDED: SkipReason.SUSPENDED,
    ProtectionState.PROTECTION_STOPPED: SkipReason.STOPPED,
}


@dataclass
class PlanResult:
    vaults: int = 0
    instances: int = 0
    enqueued: list[BackupRequest] = field(default_factory=list)
    catch_up: int = 0
    """Enqueued slots whose on-time window had already passed (the app was down)."""
    resent: int = 0
    """Enqueued slots that had been planned before (their message was not sent, or long lost)."""
    missed: int = 0
    """Slots recorded as missed (Failed ``BackupSlotMissed`` jobs) by this tick."""
    lost_races: int = 0
    run_id: str = ""


@dataclass(frozen=True)
class _Decision:
    """What one instance needs this tick (pure: computed from the rows the tick read)."""

    missed: tuple[MissedSlot, ...] = ()
    send: datetime | None = None
    resend: bool = False
    """``send`` was planned before: keep its ``planned_at`` (its window counts from there)."""
    catch_up: bool = False


@dataclass
class _Due:
    instance: Versioned[BackupInstance]
    plan: Versioned[PlanState]
    decision: _Decision
    skips: tuple[SkipSpan, ...]
    request: BackupRequest | None = None


class Planner:
    def __init__(
        self,
        store: VaultStore,
        send: SendMessages,
        clock: Clock,
        telemetry: Telemetry,
        policies: PolicyCache | None = None,
        *,
        rows: InstanceRows | None = None,
        start_window: timedelta = DEFAULT_START_WINDOW,
    ) -> None:
        self._store = store
        self._send = send
        self._clock = clock
        self._telemetry = telemetry
        self._policies = policies or PolicyCache()
        self._rows = rows
        """Encodes the instance row into each message, so the worker need not read it again."""
        self._window = start_window

    async def tick(self) -> PlanResult:
        now = self._clock.now()
        result = PlanResult(run_id=uuid.uuid4().hex)
        vaults = await self._store.list_vaults()
        result.vaults = len(vaults)
        for vault in vaults:
            await self._plan_vault(vault, now, result)
        _log.info(
            "planned %d backups (%d catch-up, %d re-sent, %d slots missed) across %d instances in %d vaults",
            len(result.enqueued),
            result.catch_up,
            result.resent,
            result.missed,
            result.instances,
            result.vaults,
        )
        return result

    async def _plan_vault(self, vault: VaultRef, now: datetime, result: PlanResult) -> None:
        work: list[_Due] = []
        health: Counter[str] = Counter()
        for instance, plan in await self._store.instances_with_plans(vault):
            if instance is None or plan is None:
                continue  # a half-written instance; the API's transaction writes both or neither
            result.instances += 1
            health[instance_health(instance.value, active=plan.value.active)] += 1
            skips = _skips_after(instance.value, plan.value, now)
            if not (plan.value.active and instance.value.protection_state.takes_scheduled_backups):
                if skips != plan.value.skips:
                    work.append(_Due(instance, plan, _Decision(), skips))
                continue
            policy = self._policies.parse(plan.value.policy_document)
            self._report_staleness(instance.value, policy, now)
            decision = self._decide(instance.value, plan.value, policy.schedule, now)
            if decision.missed or decision.send is not None or skips != plan.value.skips:
                work.append(_Due(instance, plan, decision, skips))
        self._telemetry.instances_by_health(vault.id, health)
        if not work:
            return
        await self._record_missed([due for due in work if due.decision.missed], result)
        for due in work:
            if due.decision.send is not None:
                due.request = BackupRequest(
                    vault=vault,
                    instance=due.instance.value.name,
                    kind=SCHEDULED,
                    slot=due.decision.send,
                    # When the slot was planned: its start window counts from the later of the
                    # slot and this (slots.window_closed), which the worker checks before starting.
                    requested_at=(due.plan.value.planned_at or now) if due.decision.resend else now,
                    instance_row=self._rows.encode_instance(due.instance) if self._rows else None,
                )
        await self._claim_and_send(vault, now, work, result)

    async def _record_missed(self, work: list[_Due], result: PlanResult) -> None:
        """Record each instance's missed slots (a few table operations per instance), several
        instances at a time: after an outage every instance of a vault has some."""
        limit = asyncio.Semaphore(MISSED_RECORDING_CONCURRENCY)

        async def settle(due: _Due) -> None:
            async with limit:
                written = await record_missed_slots(
                    self._store, self._clock, self._telemetry, due.instance, due.decision.missed
                )
            result.missed += len(due.decision.missed)
            if written is None:
                due.decision = _Decision()  # the instance is gone or keeps changing: next tick
            else:
                due.instance = written

        await asyncio.gather(*(settle(due) for due in work))

    async def _claim_and_send(
        self, vault: VaultRef, now: datetime, work: list[_Due], result: PlanResult
    ) -> None:
        claims = [
            replace(due.plan, value=claimed)
            for due in work
            if (claimed := self._claimed(due, now, result.run_id)) != due.plan.value
        ]
        written = await self._store.save_plans(vault, claims) if claims else 0
        sending = [due for due in work if due.request is not None]
        if written < len(claims):
            # Rows another planner changed: re-read, and send only what we actually claimed.
            result.lost_races += len(claims) - written
            sending = await self._still_ours(vault, sending, result.run_id)
        if not sending:
            return
        requests = [due.request for due in sending if due.request is not None]
        await self._send([request.to_json() for request in requests])
        # Marking is what keeps a slot from being sent again; if it fails, the next tick re-sends
        # (a harmless duplicate), so a failure here is only logged.
        try:
            await self._store.mark_plans_sent(
                vault, [(request.instance, request.slot) for request in requests if request.slot], now
            )
        except Exception:  # the slots were sent; at worst the outbox sends them again
            _log.warning(
                "could not mark %d sent backup requests in %s", len(requests), vault.name, exc_info=True
            )
        result.enqueued.extend(requests)
        result.catch_up += sum(1 for due in sending if due.decision.catch_up)
        result.resent += sum(1 for due in sending if due.decision.resend)

    @staticmethod
    def _claimed(due: _Due, now: datetime, run_id: str) -> PlanState:
        plan = replace(due.plan.value, skips=due.skips)
        slot = due.decision.send
        if slot is None:
            return plan
        if due.decision.resend:
            return replace(plan, planned_by=run_id)
        return replace(plan, last_planned_slot=slot, planned_at=now, planned_by=run_id)

    def _decide(
        self, instance: BackupInstance, plan: PlanState, schedule: Schedule, now: datetime
    ) -> _Decision:
        attempted = instance.last_attempted_slot
        missed: list[MissedSlot] = []
        pending = plan.last_planned_slot
        if pending is not None and (attempted is None or pending > attempted):
            if not plan.unsent:
                sent_at = plan.sent_at or plan.planned_at or pending
                if now >= sent_at + self._window + SAFETY_RESEND_MARGIN:
                    return _Decision(send=pending, resend=True)
                return _Decision()  # in flight: the worker records its outcome
            if plan.planned_at is not None and now - plan.planned_at < UNSENT_GRACE:
                return _Decision()  # another planner is sending it this very moment
            if not window_closed(pending, plan.planned_at, now, self._window):
                return _Decision(send=pending, resend=True)
            deadline = start_deadline(pending, plan.planned_at, self._window)
            missed.append(MissedSlot(pending, missed_message(MissedBecause.NOT_SENT, pending, deadline)))
            attempted = pending
        run = plan_scheduled_run(schedule, now, attempted, self._window)
        if run is None:
            return _Decision(missed=tuple(missed))
        for slot in missed_slots(schedule, attempted, run.slot):
            deadline = start_deadline(slot, None, self._window)
            because = MissedBecause.NOT_PLANNED if now >= deadline else MissedBecause.SUPERSEDED
            missed.append(MissedSlot(slot, missed_message(because, slot, deadline)))
        return _Decision(missed=tuple(missed), send=run.slot, catch_up=run.is_catch_up)

    async def _still_ours(self, vault: VaultRef, due: list[_Due], run_id: str) -> list[_Due]:
        current = {
            plan.value.instance.lower(): plan.value
            for _, plan in await self._store.instances_with_plans(vault)
            if plan is not None
        }
        return [
            entry
            for entry in due
            if entry.request is not None
            and (row := current.get(entry.request.instance.lower())) is not None
            and row.last_planned_slot == entry.request.slot
            and row.planned_by == run_id
        ]

    def _report_staleness(self, instance: BackupInstance, policy: BackupPolicy, now: datetime) -> None:
        since = instance.health.last_successful_backup or policy.schedule.start
        self._telemetry.last_success_age(
            instance.vault.id,
            instance.name,
            max(0.0, (now - since).total_seconds()),
            int(policy.schedule.interval.total_seconds()),
        )


def _skips_after(instance: BackupInstance, plan: PlanState, now: datetime) -> tuple[SkipSpan, ...]:
    """The plan row's skip spans, opened or closed for what the instance shows now.

    A suspended or stopped instance skips every slot after its last outcome until it resumes
    (a resume skips the slot due then, too: ``BackupInstance.with_transition``); an instance
    whose datasource is missing skips slots after the one that found the disk gone, until a
    backup succeeds again. A span's ``until`` is the last slot the instance moved past while it
    was open; a slot that also has a recovery point or a job is accounted by that instead.
    """
    skips = plan.skips
    attempted = instance.last_attempted_slot
    state = instance.protection_state
    for state_skipped, reason in _SKIPPED_STATES.items():
        if state is state_skipped:
            skips = opened_skip(skips, reason, attempted)
        else:
            skips = closed_skips(skips, reason, attempted, now)
    if instance.datasource_missing_since is not None and state.takes_scheduled_backups:
        skips = opened_skip(skips, SkipReason.DATASOURCE_MISSING, attempted)
    elif instance.datasource_missing_since is None:
        skips = closed_skips(skips, SkipReason.DATASOURCE_MISSING, attempted, now)
    return skips
