"""The scheduler tick: find the instances whose slot is due and enqueue one backup per slot.

Cost per tick is one range query per vault (instances and their planner rows together), no
matter how many instances there are, plus one batched write per 100 instances planned.

Order matters for "nothing is lost": planner rows are written first (so a second planner
running at the same time loses the race and enqueues nothing for those rows), then the
messages are sent. If the process dies between the two, the slot is planned but has no
message; :data:`PLAN_LEASE` later, the planner sees the slot still has no outcome and
enqueues it again. A duplicate message is harmless: the worker is idempotent.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.policy import BackupPolicy
from backup.domain.records import PlanState, Versioned
from backup.domain.schedule import plan_scheduled_run
from backup.ports import InstanceRows, SendMessages, VaultStore
from backup.services.messages import SCHEDULED, BackupRequest
from backup.services.policies import PolicyCache
from backup.telemetry import Telemetry, instance_health

PLAN_LEASE = timedelta(hours=2)
"""How long a planned slot may stay without an outcome before it is enqueued again."""


_log = logging.getLogger(__name__)


@dataclass
class PlanResult:
    vaults: int = 0
    instances: int = 0
    enqueued: list[BackupRequest] = field(default_factory=list)
    catch_up: int = 0
    """Enqueued slots whose on-time window had already passed (the app was down)."""
    lost_races: int = 0
    run_id: str = ""


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
    ) -> None:
        self._store = store
        self._send = send
        self._clock = clock
        self._telemetry = telemetry
        self._policies = policies or PolicyCache()
        self._rows = rows
        """Encodes the instance row into each message, so the worker need not read it again."""

    async def tick(self) -> PlanResult:
        now = self._clock.now()
        result = PlanResult(run_id=uuid.uuid4().hex)
        vaults = await self._store.list_vaults()
        result.vaults = len(vaults)
        for vault in vaults:
            await self._plan_vault(vault, now, result)
        _log.info(
            "planned %d backups (%d catch-up) across %d instances in %d vaults",
            len(result.enqueued),
            result.catch_up,
            result.instances,
            result.vaults,
        )
        return result

    async def _plan_vault(self, vault: VaultRef, now: datetime, result: PlanResult) -> None:
        due: list[tuple[Versioned[PlanState], BackupRequest, bool]] = []
        health: Counter[str] = Counter()
        for instance, plan in await self._store.instances_with_plans(vault):
            if instance is None or plan is None:
                continue  # a half-written instance; the API's transaction writes both or neither
            result.instances += 1
            health[instance_health(instance.value, active=plan.value.active)] += 1
            if not (plan.value.active and instance.value.protection_state.takes_scheduled_backups):
                continue
            policy = self._policies.parse(plan.value.policy_document)
            self._report_staleness(instance.value, policy, now)
            planned = self._due(instance.value, plan.value, policy, now)
            if planned is not None:
                slot, catch_up = planned
                request = BackupRequest(
                    vault=vault,
                    instance=instance.value.name,
                    kind=SCHEDULED,
                    slot=slot,
                    instance_row=self._rows.encode_instance(instance) if self._rows else None,
                )
                due.append((plan, request, catch_up))
        self._telemetry.instances_by_health(vault.id, health)
        if not due:
            return
        advanced = [
            replace(
                plan,
                value=replace(
                    plan.value, last_planned_slot=request.slot, planned_at=now, planned_by=result.run_id
                ),
            )
            for plan, request, _ in due
        ]
        written = await self._store.save_plans(vault, advanced)
        if written < len(due):
            # Rows another planner changed: re-read, and send only what we actually claimed.
            result.lost_races += len(due) - written
            due = await self._still_ours(vault, due, result.run_id)
        await self._send([request.to_json() for _, request, _ in due])
        result.enqueued.extend(request for _, request, _ in due)
        result.catch_up += sum(1 for _, _, catch_up in due if catch_up)

    def _due(
        self, instance: BackupInstance, plan: PlanState, policy: BackupPolicy, now: datetime
    ) -> tuple[datetime, bool] | None:
        attempted = instance.last_attempted_slot
        in_flight = (
            plan.last_planned_slot
            if plan.last_planned_slot is not None
            and plan.planned_at is not None
            and now - plan.planned_at < PLAN_LEASE
            else None
        )
        newest_known = max((slot for slot in (attempted, in_flight) if slot is not None), default=None)
        run = plan_scheduled_run(policy.schedule, now, newest_known)
        if run is None:
            return None
        return run.slot, run.is_catch_up

    async def _still_ours(
        self, vault: VaultRef, due: list[tuple[Versioned[PlanState], BackupRequest, bool]], run_id: str
    ) -> list[tuple[Versioned[PlanState], BackupRequest, bool]]:
        current = {
            plan.value.instance.lower(): plan.value
            for _, plan in await self._store.instances_with_plans(vault)
            if plan is not None
        }
        return [
            entry
            for entry in due
            if (row := current.get(entry[1].instance.lower())) is not None
            and row.last_planned_slot == entry[1].slot
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
