"""The engine against Azurite and the Compute emulator, on a simulated clock.

Each test gets empty tables and queues, an emulator reset to ``SEED``, and a product
``Runtime`` whose clock is a ManualClock; :class:`Simulation` moves that clock and the
emulator's clock together, so rules such as "7 snapshots per 5 minutes" and ``timeCreated``
follow simulated time on both sides.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueServiceClient

from backup import names
from backup.adapters.storage import RequestCounter
from backup.bootstrap import Runtime
from backup.cli import drain_backup_queue
from backup.config import Settings
from backup.domain.clock import ManualClock, ShiftedClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from backup.services.backup_runner import Outcome
from backup.shapes.policy import parse_backup_policy
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import AdminClient, EmulatorServer
from tests.policy_documents import disk_policy

SUB = "22222222-0000-4000-8000-000000000002"
APP = "a2222222-0000-4000-8000-0000000000a1"
TOKEN = "engine-app-token"
SRC_RG = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAP_RG = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
DISKS = ("disk-a", "disk-b", "disk-c")
SEED: dict[str, Any] = {
    "subscriptions": [
        {
            "id": SUB,
            "resourceGroups": [
                {
                    "name": "rg-src",
                    "location": "eastus",
                    "disks": [
                        {"name": name, "sku": "StandardSSD_LRS", "sizeGB": 32, "content": f"{name}-v0"}
                        for name in DISKS
                    ]
                    + [{"name": "disk-fast", "sku": "PremiumV2_LRS", "sizeGB": 64, "content": "fast-v0"}],
                },
                {"name": "rg-snaps", "location": "eastus"},
            ],
        }
    ],
    "principals": [{"id": APP, "token": TOKEN}],
    "roleAssignments": [
        {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC_RG},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAP_RG},
    ],
}
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
VAULT = VaultRef(SUB, "rg-backup", "engine-vault")


def policy_document(
    interval: str = "PT4H", default: str = "P7D", extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """An AzureDisk policy in Azure's JSON (schedule from START), optionally with Daily/Weekly tags."""
    return disk_policy(START, interval, default, extra)


@dataclass
class Simulation:
    runtime: Runtime
    clock: ManualClock
    admin: AdminClient
    azurite: AzuriteEndpoints
    table_requests: RequestCounter
    arm_clock: ShiftedClock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def sync_emulator_clock(self) -> None:
        offset = self.clock.now() - datetime.now(UTC)
        self.admin.set_clock_offset(offset.total_seconds())
        self.arm_clock.offset = offset

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.sync_emulator_clock()

    async def protect(
        self, disk: str, policy: dict[str, Any] | None = None, *, name: str | None = None
    ) -> BackupInstance:
        store = self.runtime.store
        document = policy or policy_document()
        parse_backup_policy(document)
        if await store.get_vault(VAULT) is None:
            await store.register_vault(VAULT, {"location": "eastus"})
        instance = BackupInstance(
            vault=VAULT,
            name=name or f"{disk}-instance",
            disk_id=f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}",
            disk_location="eastus",
            policy_name="policy",
            policy_document=document,
            snapshot_resource_group_id=SNAP_RG,
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
        )
        await store.create_instance(instance, PlanState(instance.name, document, active=True))
        return instance

    async def queue_messages(self) -> list[Any]:
        queue = await self.runtime.storage.queue(names.BACKUP_QUEUE)
        return list(await queue.peek_messages(max_messages=32))

    async def drain(self, *, deliveries: int = 1, visibility_timeout: int = 60) -> list[Outcome]:
        """Play the Functions host: retry failures, poison a message after its last attempt."""
        return await drain_backup_queue(
            self.runtime, deliveries=deliveries, visibility_timeout=visibility_timeout
        )

    async def tick(self, *, deliveries: int = 1) -> list[Outcome]:
        await self.runtime.planner.tick()
        outcomes = await self.drain(deliveries=deliveries)
        await self.runtime.sweeper.sweep()
        return outcomes


async def reset_storage(azurite: AzuriteEndpoints) -> None:
    async with TableServiceClient.from_connection_string(azurite.connection_string) as tables:
        for table in names.TABLES:
            with contextlib.suppress(ResourceNotFoundError):
                await tables.delete_table(table)
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as queues:
        for queue in names.QUEUES:
            with contextlib.suppress(ResourceNotFoundError):
                await queues.delete_queue(queue)


@pytest.fixture
async def sim(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Simulation]:
    await reset_storage(azurite)
    admin = compute_emulator.admin
    admin.reset(SEED)
    clock = ManualClock(START)
    arm_clock = ShiftedClock()
    counter = RequestCounter()
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        arm_endpoint=compute_emulator.url,
        arm_ca_bundle=compute_emulator.ca_bundle,
        arm_static_token=TOKEN,
    )
    runtime = Runtime.from_settings(
        settings,
        clock=clock,
        storage_request_hook=counter,
        arm_retry_total=1,
        arm_polling_interval=0,
        arm_clock=arm_clock,
    )
    simulation = Simulation(runtime, clock, admin, azurite, counter, arm_clock)
    simulation.sync_emulator_clock()
    yield simulation
    await runtime.close()
