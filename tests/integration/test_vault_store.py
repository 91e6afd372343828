"""The table layout against Azurite: one transaction per backup, ranges that read only what they need,
and every race two writers can reach refused by ETag or insert semantics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backup.adapters.storage import RequestCounter, StorageClients
from backup.adapters.tables.store import VaultStore
from backup.config import Settings
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.models import JobOperation, JobStatus, ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.records import PlanState, Versioned
from backup.domain.snapshots import recovery_point_id
from backup.errors import ConcurrencyError, ConflictError
from localdev.azurite import AzuriteEndpoints

pytestmark = pytest.mark.integration

SUB = "00000000-0000-0000-0000-0000000000aa"
T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
POLICY = {"objectType": "BackupPolicy", "datasourceTypes": ["Microsoft.Compute/disks"], "policyRules": []}


@pytest.fixture
def counter() -> RequestCounter:
    return RequestCounter()


@pytest.fixture
async def store(azurite: AzuriteEndpoints, counter: RequestCounter) -> AsyncIterator[VaultStore]:
    clients = StorageClients(
        Settings(storage_connection_string=azurite.connection_string), request_hook=counter
    )
    yield VaultStore(clients)
    await clients.close()


@pytest.fixture
def vault() -> VaultRef:
    # A fresh vault (so a fresh partition) per test keeps tests independent on one Azurite.
    return VaultRef(SUB, "rg-backup", "vault-" + uuid.uuid4().hex[:8])


def make_instance(vault: VaultRef, name: str = "disk-a-instance") -> BackupInstance:
    return BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{name}",
        disk_location="eastus",
        policy_name="every-4h",
        policy_document=POLICY,
        snapshot_resource_group_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )


def make_point(
    instance: BackupInstance, slot: datetime, expires_in: timedelta = timedelta(days=7)
) -> RecoveryPoint:
    return RecoveryPoint(
        id=recovery_point_id(instance.name, slot),
        instance=instance.name,
        slot=slot,
        created_at=slot + timedelta(minutes=1),
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + expires_in,
        snapshot_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps/providers/Microsoft.Compute/snapshots/s",
    )


def make_job(instance: BackupInstance, slot: datetime) -> Job:
    return Job(
        id=scheduled_backup_job_id(instance.name, slot),
        vault_id=instance.vault.id,
        instance=instance.name,
        operation=JobOperation.SCHEDULED_BACKUP,
        status=JobStatus.COMPLETED,
        start_time=slot,
        end_time=slot + timedelta(minutes=1),
    )


async def configured(
    store: VaultStore, vault: VaultRef, name: str = "disk-a-instance"
) -> Versioned[BackupInstance]:
    instance = make_instance(vault, name)
    return await store.create_instance(instance, PlanState(name, POLICY, active=True))


async def test_a_backup_is_one_read_and_one_transaction(
    store: VaultStore, vault: VaultRef, counter: RequestCounter
) -> None:
    await configured(store, vault)
    counter.reset()

    current = await store.get_instance(vault, "disk-a-instance")
    assert current is not None
    point = make_point(current.value, T0)
    updated = current.value.after_snapshot(point.created_at, earned=point.earned_tags, on_demand=False)
    await store.record_backup(current, updated, point, make_job(current.value, T0))

    assert counter.total == 2
    stored = await store.get_instance(vault, "disk-a-instance")
    assert stored is not None
    assert stored.value.live_recovery_points == 1
    assert stored.value.health.last_successful_backup == point.created_at
    assert stored.value.last_tagged_at == {RetentionTag.DEFAULT: point.created_at}
    assert [p.id for p in await store.list_recovery_points(vault, "disk-a-instance")] == [point.id]
    job = await store.get_job(vault, make_job(current.value, T0).id)
    assert job is not None
    assert job.status is JobStatus.COMPLETED


async def test_the_same_backup_recorded_twice_is_refused_and_writes_nothing(
    store: VaultStore, vault: VaultRef
) -> None:
    first = await configured(store, vault)
    point = make_point(first.value, T0)
    updated = first.value.after_snapshot(point.created_at, earned=point.earned_tags, on_demand=False)
    after_first = await store.record_backup(first, updated, point, make_job(first.value, T0))

    # A duplicate worker that read the instance after the first write still collides on the point.
    with pytest.raises(ConflictError):
        await store.record_backup(
            after_first,
            updated.after_snapshot(point.created_at, earned=point.earned_tags, on_demand=False),
            point,
            make_job(first.value, T0),
        )
    stored = await store.get_instance(vault, "disk-a-instance")
    assert stored is not None
    assert stored.value.live_recovery_points == 1
    assert len(await store.list_recovery_points(vault, "disk-a-instance")) == 1


async def test_a_stale_instance_etag_loses_the_race(store: VaultStore, vault: VaultRef) -> None:
    first = await configured(store, vault)
    # An API call changes the instance between the worker's read and its write.
    await store.update_instance(
        first, replace(first.value, protection_state=ProtectionState.PROTECTION_STOPPED)
    )
    point = make_point(first.value, T0)
    with pytest.raises(ConcurrencyError):
        await store.record_backup(
            first,
            first.value.after_snapshot(point.created_at, earned=point.earned_tags, on_demand=False),
            point,
            make_job(first.value, T0),
        )
    assert await store.list_recovery_points(vault, "disk-a-instance") == []


async def test_configuring_an_existing_instance_is_a_conflict(store: VaultStore, vault: VaultRef) -> None:
    await configured(store, vault)
    with pytest.raises(ConflictError):
        await configured(store, vault)


async def test_expired_reads_only_the_expired_index_rows(
    store: VaultStore, vault: VaultRef, counter: RequestCounter
) -> None:
    current = await configured(store, vault)
    slots = [T0 + timedelta(hours=4 * index) for index in range(6)]
    for slot in slots:
        point = make_point(current.value, slot, expires_in=timedelta(days=1))
        current = await store.record_backup(
            current,
            current.value.after_snapshot(point.created_at, earned=point.earned_tags, on_demand=False),
            point,
            make_job(current.value, slot),
        )
    counter.reset()
    now = slots[2] + timedelta(days=1)
    expired = await store.expired(vault, now)
    assert [entry.expires_at for entry in expired] == [slot + timedelta(days=1) for slot in slots[:3]]
    assert counter.total == 1


async def test_plan_batches_write_once_and_a_racing_planner_keeps_its_rows(
    store: VaultStore, vault: VaultRef, counter: RequestCounter
) -> None:
    for index in range(5):
        await configured(store, vault, f"disk-{index}")
    pairs = await store.instances_with_plans(vault)
    plans = [plan for _, plan in pairs if plan is not None]
    assert len(plans) == 5

    # Another planner advanced disk-0 after we read it.
    rival = next(plan for plan in plans if plan.value.instance == "disk-0")
    await store.save_plans(vault, [replace(rival, value=replace(rival.value, last_planned_slot=T0))])

    counter.reset()
    advanced = [
        replace(plan, value=replace(plan.value, last_planned_slot=T0, planned_at=T0)) for plan in plans
    ]
    written = await store.save_plans(vault, advanced)
    assert written == 4
    # One failed batch, then one request per row.
    assert counter.total == 1 + 5

    counter.reset()
    fresh = [plan for _, plan in await store.instances_with_plans(vault) if plan is not None]
    assert counter.total == 1
    later = [
        replace(plan, value=replace(plan.value, last_planned_slot=T0 + timedelta(hours=4))) for plan in fresh
    ]
    counter.reset()
    assert await store.save_plans(vault, later) == 5
    assert counter.total == 1
