"""The fast service tier: every service built on the in-memory fakes of its ports.

No Azurite, no emulator, no network. :class:`Env` builds the services with their current
constructors (as ``backup/bootstrap.py`` and the API endpoints do) over one fake store, one
fake ARM estate and two in-memory queues, on a ManualClock; the fakes are held to the real
adapters by ``tests/contracts``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.services.backup_runner import BackupRunner, Outcome
from backup.services.maintenance import Maintenance
from backup.services.messages import BackupRequest
from backup.services.on_demand import OnDemandBackups
from backup.services.planner import Planner
from backup.services.policies import PolicyCache
from backup.services.protection import InstancePurger, ProtectionService
from backup.services.reconcile import Reconciler
from backup.services.restore import RestoreOutcome, RestoreRunner, RestoreService
from backup.services.retention import RetentionSweeper
from backup.shapes.policy import parse_backup_policy
from backup.telemetry import Telemetry
from tests.fakes._types import PlanState, Versioned
from tests.fakes.budget import FakeArmBudget
from tests.fakes.compute import APP_PRINCIPAL, FakeArm, FakeComputeGateway
from tests.fakes.queue import FakeQueue
from tests.fakes.vault_store import FakeVaultStore
from tests.policy_documents import disk_policy


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this tier carries the ``service`` marker (``-m service`` selects the tier)."""
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.service)


SUB = "55555555-0000-4000-8000-000000000005"
SRC_RG = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAP_RG = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
RESTORE_RG = f"/subscriptions/{SUB}/resourceGroups/rg-restore"
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
VAULT = VaultRef(SUB, "rg-backup", "svc-vault")
OTHER_VAULT = VaultRef(SUB, "rg-backup", "other-vault")
POLICY_NAME = "policy"


def disk_id(name: str) -> str:
    return f"{SRC_RG}/providers/Microsoft.Compute/disks/{name}"


def restore_target(name: str) -> str:
    return f"{RESTORE_RG}/providers/Microsoft.Compute/disks/{name}"


def policy_document(interval: str = "PT4H", default: str = "P7D", daily: str | None = None) -> dict[str, Any]:
    """An AzureDisk policy in Azure's JSON (schedule from START), optionally with a Daily tag."""
    return disk_policy(START, interval, default, {"Daily": daily} if daily else None)


@dataclass
class Env:
    clock: ManualClock
    store: FakeVaultStore
    arm: FakeArm
    compute: FakeComputeGateway
    backups: FakeQueue
    restores: FakeQueue
    runtime: Runtime

    def bind_identity(self, identity: str, *scopes: str) -> None:
        """The deployer binds a user-assigned identity to vaults (everywhere by default); the
        services are built afresh over the same fakes."""
        text = json.dumps({identity: list(scopes or ("/",))})
        settings = dataclasses.replace(self.runtime.settings, identity_bindings=IdentityBindings.parse(text))
        self.runtime = self.runtime.replacing(settings=settings)

    @property
    def telemetry(self) -> Telemetry:
        return self.runtime.telemetry

    @property
    def policies(self) -> PolicyCache:
        return self.runtime.policies

    # --- the services, as the composition root builds them over the fakes -------------------------

    @property
    def planner(self) -> Planner:
        return self.runtime.planner

    @property
    def runner(self) -> BackupRunner:
        return self.runtime.runner

    @property
    def sweeper(self) -> RetentionSweeper:
        return self.runtime.sweeper

    @property
    def protection(self) -> ProtectionService:
        return self.runtime.protection

    @property
    def purger(self) -> InstancePurger:
        return self.runtime.purger

    @property
    def reconciler(self) -> Reconciler:
        return self.runtime.reconciler

    @property
    def maintenance(self) -> Maintenance:
        return self.runtime.maintenance

    @property
    def restore_runner(self) -> RestoreRunner:
        return self.runtime.restore_runner

    @property
    def on_demand(self) -> OnDemandBackups:
        return self.runtime.on_demand

    @property
    def restore_service(self) -> RestoreService:
        return self.runtime.restores

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    async def protect(
        self,
        disk: str = "disk-a",
        policy: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        vault: VaultRef = VAULT,
        **changes: Any,
    ) -> BackupInstance:
        """An instance written straight to the store, as a configured protection leaves it."""
        document = policy or policy_document()
        parse_backup_policy(document)
        if await self.store.get_vault(vault) is None:
            await self.store.register_vault(vault, {"location": "eastus", "id": vault.id})
        instance = BackupInstance(
            vault=vault,
            name=name or f"{disk}-instance",
            disk_id=disk_id(disk),
            disk_location="eastus",
            policy_name=POLICY_NAME,
            policy_document=document,
            snapshot_resource_group_id=SNAP_RG,
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
        )
        instance = replace(instance, **changes)
        active = instance.protection_state.takes_scheduled_backups
        await self.store.create_instance(instance, PlanState(instance.name, document, active=active))
        return instance

    async def instance(self, name: str = "disk-a-instance", vault: VaultRef = VAULT) -> BackupInstance:
        found = await self.store.get_instance(vault, name)
        assert found is not None, f"no instance {name}"
        return found.value

    async def versioned(
        self, name: str = "disk-a-instance", vault: VaultRef = VAULT
    ) -> Versioned[BackupInstance]:
        found = await self.store.get_instance(vault, name)
        assert found is not None
        return found

    async def drain(self, *, dequeue_count: int = 1) -> list[Outcome]:
        """Deliver every queued backup request once, as the queue trigger would, and the steps
        they send on (polls, deferrals: delivered at once, whatever their delay); the outcomes
        of the backups that ended (a step that only sends the next one is not an outcome)."""
        outcomes = []
        while self.backups.messages:
            for body in self.backups.take():
                outcome = await self.runner.handle_message(body, dequeue_count)
                if outcome.is_final:
                    outcomes.append(outcome)
        return outcomes

    async def drain_restores(self, *, dequeue_count: int = 1) -> list[RestoreOutcome]:
        return [
            await self.restore_runner.handle_message(body, dequeue_count) for body in self.restores.take()
        ]

    async def cycle(self) -> list[Outcome]:
        """One scheduler tick and the backups it enqueued."""
        await self.planner.tick()
        return await self.drain()

    async def run_slots(self, count: int, every: timedelta = timedelta(hours=4)) -> None:
        """Let ``count`` scheduled slots happen: tick at each, then move the clock on."""
        for _ in range(count):
            await self.cycle()
            self.advance(every)

    def queued(self) -> list[BackupRequest]:
        return [BackupRequest.from_json(body) for body in self.backups.messages]


def build_env() -> Env:
    clock = ManualClock(START)
    arm = FakeArm(clock)
    arm.add_group(SRC_RG)
    arm.add_group(SNAP_RG)
    arm.add_group(RESTORE_RG)
    for name in ("disk-a", "disk-b", "disk-c"):
        arm.add_disk(
            disk_id(name), sku="StandardSSD_LRS", size_gb=32, content=f"{name}-v0", tags={"app": name}
        )
    arm.add_disk(disk_id("disk-fast"), sku="PremiumV2_LRS", size_gb=64, content="fast-v0")
    arm.grant(APP_PRINCIPAL, "Disk Backup Reader", SRC_RG)
    arm.grant(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    arm.grant(APP_PRINCIPAL, "Disk Restore Operator", RESTORE_RG)
    store, compute, backups, restores = FakeVaultStore(), FakeComputeGateway(arm), FakeQueue(), FakeQueue()
    runtime = Runtime.from_settings(
        # Never connected: every port the services use is a fake.
        Settings(storage_connection_string="UseDevelopmentStorage=true"),
        clock=clock,
        store=store,
        compute=compute,
        send_backup_requests=backups,
        send_restore_requests=restores,
        auth_enabled=False,
        budget=FakeArmBudget(clock),
        send_backup_later=backups.later,
    )
    return Env(clock, store, arm, compute, backups, restores, runtime)


@pytest.fixture
def env() -> Env:
    return build_env()
