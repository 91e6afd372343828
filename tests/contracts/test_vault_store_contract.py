"""The vault store's contract, held by the in-memory fake and by the real adapter on Azurite.

What the services rely on: round-trips that give back what was written, ETags that refuse a
stale write and change nothing, inserts that refuse an existing row, ``None`` for what is not
there, ranges in key order (recovery points and jobs newest first), merges that keep what
they do not name, and deletes that take exactly what they should.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from backup.adapters.tables import codecs, keys
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id, scheduled_backup_job_id
from backup.domain.models import (
    BackupInstanceHealth,
    JobOperation,
    JobStatus,
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
)
from backup.domain.policy import policy_version
from backup.domain.slots import SkipReason, SkipSpan
from backup.domain.snapshots import recovery_point_id
from backup.errors import ConcurrencyError, ConflictError, ValidationError
from backup.names import VAULT_DATA_TABLE
from tests.fakes._types import DatasourceClaim, PlanState, Versioned
from tests.fakes.vault_store import FakeVaultStore

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
POLICY = {"objectType": "BackupPolicy", "datasourceTypes": ["Microsoft.Compute/disks"], "policyRules": []}


def make_instance(vault: VaultRef, name: str = "disk-a-instance", **changes: Any) -> BackupInstance:
    instance = BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{name}",
        disk_location="eastus",
        policy_name="every-4h",
        policy_document=POLICY,
        snapshot_resource_group_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    return replace(instance, **changes)


def make_point(instance: BackupInstance, slot: datetime, *, days: int = 7, **changes: Any) -> RecoveryPoint:
    point_id = recovery_point_id(instance.id.lower(), slot)
    point = RecoveryPoint(
        id=point_id,
        instance=instance.name,
        slot=slot,
        created_at=slot + timedelta(minutes=1),
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + timedelta(days=days),
        snapshot_id=f"{instance.snapshot_resource_group_id}/providers/Microsoft.Compute/snapshots/adb-{point_id}",
        source_disk_tags=(("app", "web"),),
        policy_name=instance.policy_name,  # the store records it with the point
    )
    return replace(point, **changes)


def backup_job(instance: BackupInstance, slot: datetime) -> Job:
    return Job.for_instance(
        instance,
        id=scheduled_backup_job_id(instance.id.lower(), slot),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=slot,
    ).completed(slot + timedelta(minutes=2))


async def created(store: Any, instance: BackupInstance) -> Versioned[BackupInstance]:
    return await store.create_instance(
        instance, PlanState(instance.name, instance.policy_document, active=True)
    )


async def backed_up(
    store: Any, current: Versioned[BackupInstance], slot: datetime, **changes: Any
) -> tuple[Versioned[BackupInstance], RecoveryPoint]:
    point = make_point(current.value, slot, **changes)
    updated = current.value.after_snapshot(
        point.created_at, earned=point.earned_tags, on_demand=False, slot=slot
    )
    saved = await store.record_backup(current, updated, point, backup_job(current.value, slot))
    return saved, point


# --- vaults ---------------------------------------------------------------------------------------


async def test_vaults_round_trip_and_refuse_a_second_insert_and_a_stale_etag(
    store: Any, vault: VaultRef
) -> None:
    etag = await store.register_vault(vault, {"location": "eastus", "tags": {"a": "1"}})
    found = await store.get_vault(vault)
    assert found == Versioned({"location": "eastus", "tags": {"a": "1"}}, etag)
    with pytest.raises(ConflictError) as twice:
        await store.register_vault(vault, {"location": "westus"})
    assert twice.value.code == "EntityAlreadyExists"
    assert not isinstance(twice.value, ConcurrencyError)

    newer = await store.register_vault(vault, {"location": "eastus", "tags": {}}, etag)
    assert newer != etag
    with pytest.raises(ConcurrencyError):
        await store.register_vault(vault, {"location": "lost"}, etag)
    assert (await store.get_vault(vault)).value == {"location": "eastus", "tags": {}}
    assert await store.get_vault(replace(vault, name="never-made")) is None


async def test_vault_listings_are_by_row_key_and_narrow_to_a_resource_group(
    store: Any, subscription: str
) -> None:
    names = [("rg-b", "v2"), ("rg-a", "v9"), ("rg-a", "v1"), ("rg-ab", "v0")]
    for group, name in names:
        await store.register_vault(VaultRef(subscription, group, name), {"id": f"{group}/{name}"})
    every = await store.list_vault_documents(subscription)
    assert [row for row, _ in every] == ["rg-a:v1", "rg-a:v9", "rg-ab:v0", "rg-b:v2"]
    in_a = await store.list_vault_documents(subscription, "RG-A")
    assert [document.value["id"] for _, document in in_a] == ["rg-a/v1", "rg-a/v9"]
    listed = [ref for ref in await store.list_vaults() if ref.subscription_id == subscription]
    assert [(ref.resource_group, ref.name) for ref in listed] == [
        ("rg-a", "v1"),
        ("rg-a", "v9"),
        ("rg-ab", "v0"),
        ("rg-b", "v2"),
    ]


async def test_deleting_a_vault_needs_its_etag_and_takes_its_whole_partition(
    store: Any, vault: VaultRef
) -> None:
    etag = await store.register_vault(vault, {"location": "eastus"})
    await store.put_policy(vault, "p1", POLICY)
    await created(store, make_instance(vault))
    with pytest.raises(ConcurrencyError):
        await store.delete_vault(vault, "W/\"datetime'2020-01-01T00%3A00%3A00Z'\"")
    assert await store.get_policy(vault, "p1") is not None

    await store.delete_vault(vault, etag)
    assert await store.get_vault(vault) is None
    assert await store.get_policy(vault, "p1") is None
    assert await store.get_instance(vault, "disk-a-instance") is None
    await store.delete_vault(vault, etag)  # already gone: nothing to do


# --- policies ---------------------------------------------------------------------------------------


async def test_policies_keep_their_first_spelling_and_refuse_races(store: Any, vault: VaultRef) -> None:
    etag = await store.put_policy(vault, "Every-4h", POLICY)
    with pytest.raises(ConflictError) as twice:
        await store.put_policy(vault, "every-4H", POLICY)
    assert twice.value.code == "EntityAlreadyExists"
    name, document = await store.get_policy(vault, "EVERY-4H")
    assert (name, document) == ("Every-4h", Versioned(POLICY, etag))
    assert await store.get_policy(vault, "every-4h") == ("Every-4h", Versioned(POLICY, etag))

    changed = {**POLICY, "policyRules": [{"name": "x"}]}
    newer = await store.put_policy(vault, "Every-4h", changed, etag)
    with pytest.raises(ConcurrencyError):
        await store.put_policy(vault, "Every-4h", POLICY, etag)
    with pytest.raises(ConcurrencyError):
        await store.delete_policy(vault, "Every-4h", etag)
    assert (await store.get_policy(vault, "every-4h"))[1].value == changed

    await store.put_policy(vault, "Daily", POLICY)
    assert [(row, name) for row, name, _ in await store.list_policies(vault)] == [
        ("p|daily", "Daily"),
        ("p|every-4h", "Every-4h"),
    ]
    await store.delete_policy(vault, "every-4h", newer)
    assert await store.get_policy(vault, "Every-4h") is None
    with pytest.raises(ConcurrencyError) as gone:
        await store.delete_policy(vault, "every-4h", newer)
    assert gone.value.code == "EntityGone"


# --- instances and planner rows -------------------------------------------------------------------


async def test_an_instance_round_trips_whole_and_a_second_create_is_a_conflict(
    store: Any, vault: VaultRef
) -> None:
    instance = make_instance(
        vault,
        health=BackupInstanceHealth(T0, 2, "Code", "message"),
        last_tagged_at={RetentionTag.DAILY: T0},
        recent_snapshot_times=(T0, T0 + timedelta(minutes=1)),
        live_recovery_points=3,
        live_on_demand_points=1,
        recent_on_demand_requests=(T0,),
        last_attempted_slot=T0,
        document={"friendlyName": "disk-a", "nested": {"k": [1, 2]}},
        identity="/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z",
    )
    saved = await created(store, instance)
    found = await store.get_instance(vault, "DISK-A-INSTANCE")
    assert found == Versioned(instance, saved.etag)
    with pytest.raises(ConflictError) as twice:
        await created(store, make_instance(vault))
    assert twice.value.code == "EntityAlreadyExists"
    assert await store.get_instance(vault, "other") is None
    with pytest.raises(ValidationError):
        await store.get_instance(vault, "no/slashes")


async def test_a_stale_instance_write_is_refused_and_changes_nothing(store: Any, vault: VaultRef) -> None:
    first = await created(store, make_instance(vault))
    second = await store.update_instance(
        first, first.value.with_protection_state(ProtectionState.PROTECTION_STOPPED)
    )
    assert second.etag != first.etag
    with pytest.raises(ConcurrencyError):
        await store.update_instance(first, first.value.after_skip(T0))
    with pytest.raises(ConcurrencyError):
        await backed_up(store, first, T0)
    with pytest.raises(ConcurrencyError):
        await store.delete_instance(first)
    current = await store.get_instance(vault, first.value.name)
    assert current == second
    assert await store.list_recovery_points(vault, first.value.name) == []


async def test_an_instance_update_merges_its_plan_row_and_keeps_the_planned_slot(
    store: Any, vault: VaultRef
) -> None:
    current = await created(store, make_instance(vault))
    [(_, plan)] = await store.instances_with_plans(vault)
    planned = replace(plan.value, last_planned_slot=T0, planned_at=T0, planned_by="run-1")
    assert await store.save_plans(vault, [replace(plan, value=planned)]) == 1
    stopped = current.value.with_protection_state(ProtectionState.PROTECTION_STOPPED)
    await store.update_instance(
        current, stopped, plan=PlanState(stopped.name, stopped.policy_document, active=False)
    )
    [(instance, plan)] = await store.instances_with_plans(vault)
    assert instance is not None
    assert instance.value == stopped
    assert plan is not None
    assert (plan.value.active, plan.value.last_planned_slot, plan.value.planned_by) == (False, T0, "run-1")


async def test_instances_with_plans_and_listings_come_in_key_order(store: Any, vault: VaultRef) -> None:
    for name in ("c-disk", "A-disk", "b-disk"):
        await created(store, make_instance(vault, name, policy_name="Gold" if name != "b-disk" else "silver"))
    b = await store.get_instance(vault, "b-disk")
    await store.update_instance(b, b.value.with_protection_state(ProtectionState.SOFT_DELETED))
    pairs = await store.instances_with_plans(vault)
    assert [(i.value.name, p.value.instance) for i, p in pairs] == [
        ("A-disk", "A-disk"),
        ("b-disk", "b-disk"),
        ("c-disk", "c-disk"),
    ]
    assert [row.value.name for row in await store.list_instances(vault)] == ["A-disk", "b-disk", "c-disk"]
    deleted = await store.list_instances(vault, state=ProtectionState.SOFT_DELETED)
    assert [row.value.name for row in deleted] == ["b-disk"]
    assert await store.instance_names(vault, policy="gold") == ["A-disk", "c-disk"]


async def test_instance_pages_are_keyset_by_name_and_skip_plan_rows(store: Any, vault: VaultRef) -> None:
    for name in ("e-disk", "A-disk", "c-disk", "b-disk", "d-disk", "f-disk"):
        await created(store, make_instance(vault, name))
    for name in ("b-disk", "e-disk"):
        current = await store.get_instance(vault, name)
        await store.update_instance(
            current, current.value.with_protection_state(ProtectionState.SOFT_DELETED)
        )

    first, more = await store.instances_page(vault, after=None, limit=2)
    second, more_second = await store.instances_page(vault, after="c-disk", limit=2)
    last, more_last = await store.instances_page(vault, after="d-disk", limit=2)
    deleted, more_deleted = await store.instances_page(vault, after="b-disk", limit=1, deleted=True)

    assert ([i.name for i in first], more) == (["A-disk", "c-disk"], True)
    assert ([i.name for i in second], more_second) == (["d-disk", "f-disk"], False)
    assert ([i.name for i in last], more_last) == (["f-disk"], False)
    assert ([i.name for i in deleted], more_deleted) == (["e-disk"], False)


async def test_saving_plans_writes_only_the_rows_still_at_their_etag(store: Any, vault: VaultRef) -> None:
    for index in range(3):
        await created(store, make_instance(vault, f"disk-{index}"))
    plans = [plan for _, plan in await store.instances_with_plans(vault)]
    racing = replace(plans[1], value=replace(plans[1].value, last_planned_slot=T0, planned_by="other"))
    assert await store.save_plans(vault, [racing]) == 1
    ours = [
        replace(plan, value=replace(plan.value, last_planned_slot=T0, planned_by="ours")) for plan in plans
    ]
    assert await store.save_plans(vault, ours) == 2
    by_name = {p.value.instance: p.value.planned_by for _, p in await store.instances_with_plans(vault)}
    assert by_name == {"disk-0": "ours", "disk-1": "other", "disk-2": "ours"}


async def test_marking_plans_sent_changes_only_the_sent_columns_and_skips_gone_rows(
    store: Any, vault: VaultRef
) -> None:
    for name in ("disk-0", "disk-1"):
        await created(store, make_instance(vault, name))
    plans = {p.value.instance: p for _, p in await store.instances_with_plans(vault)}
    spans = (SkipSpan(SkipReason.SUSPENDED, T0 - timedelta(hours=4), T0 - timedelta(hours=1)),)
    planned = replace(
        plans["disk-0"].value, last_planned_slot=T0, planned_at=T0, planned_by="run", skips=spans
    )
    assert await store.save_plans(vault, [replace(plans["disk-0"], value=planned)]) == 1
    assert planned.unsent
    sent_at = T0 + timedelta(minutes=1)
    # disk-1's row is not planned; "gone" has no row at all: marked rows are only the existing ones.
    assert await store.mark_plans_sent(vault, [("disk-0", T0), ("gone", T0)], sent_at) == 1
    rows = {p.value.instance: p.value for _, p in await store.instances_with_plans(vault)}
    assert rows["disk-0"] == replace(planned, sent_slot=T0, sent_at=sent_at)
    assert not rows["disk-0"].unsent
    assert rows["disk-1"].sent_slot is None

    # The API's schedule change merges a plan that knows nothing of the outbox or the skips.
    current = await store.get_instance(vault, "disk-0")
    await store.update_instance(
        current, current.value, plan=PlanState("disk-0", {"changed": True}, active=True)
    )
    [after] = [p.value for _, p in await store.instances_with_plans(vault) if p.value.instance == "disk-0"]
    assert after == replace(planned, policy_document={"changed": True}, sent_slot=T0, sent_at=sent_at)


async def test_deleting_an_instance_takes_its_plan_row_too(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    await created(store, make_instance(vault, "keeper"))
    await store.delete_instance(current)
    assert await store.get_instance(vault, current.value.name) is None
    assert [(i.value.name, p.value.instance) for i, p in await store.instances_with_plans(vault)] == [
        ("keeper", "keeper")
    ]


# --- backups, recovery points, expiry -------------------------------------------------------------


async def test_a_backup_records_point_job_and_instance_and_a_duplicate_is_refused(
    store: Any, vault: VaultRef
) -> None:
    current = await created(store, make_instance(vault))
    saved, point = await backed_up(store, current, T0)
    versioned = await store.get_recovery_point(vault, current.value.name, point.id)
    assert versioned is not None
    assert versioned.value == point
    job = await store.get_job(vault, backup_job(current.value, T0).id)
    assert job == backup_job(current.value, T0)

    with pytest.raises(ConflictError) as twice:
        await backed_up(store, saved, T0)
    assert not isinstance(twice.value, ConcurrencyError)
    assert await store.get_instance(vault, current.value.name) == saved
    assert await store.list_recovery_points(vault, current.value.name) == [point]


async def test_a_point_is_stored_with_the_policy_its_instance_is_under(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault, policy_name="daily"))
    taken = make_point(current.value, T0, policy_name=None)
    updated = current.value.after_snapshot(
        taken.created_at, earned=taken.earned_tags, on_demand=False, slot=T0
    )
    current = await store.record_backup(current, updated, taken, backup_job(current.value, T0))
    recovered = make_point(current.value, T0 + timedelta(hours=4), policy_name=None)
    await store.recover_point(current, replace(current.value, policy_name="weekly"), recovered)

    page, more = await store.recovery_points_page(vault, current.value.name, limit=5)
    assert [(point.id, point.policy_name) for point in page] == [
        (recovered.id, "weekly"),
        (taken.id, "daily"),
    ]
    assert not more
    stored = await store.get_recovery_point(vault, current.value.name, taken.id)
    assert stored is not None
    assert stored.value == replace(
        taken, policy_name="daily", policy_version=policy_version(current.value.policy_document)
    )
    assert [point.policy_version for point in page] == [policy_version(current.value.policy_document)] * 2


async def test_recovery_points_come_newest_first(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    slots = [T0 + timedelta(hours=4 * index) for index in range(4)]
    for slot in slots:
        current, _ = await backed_up(store, current, slot)
    points = await store.list_recovery_points(vault, current.value.name)
    assert [point.slot for point in points] == list(reversed(slots))
    assert (await store.get_instance(vault, current.value.name)).value.live_recovery_points == 4


async def test_expired_reads_only_index_rows_due_by_now(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    for index, days in enumerate((1, 2, 3)):
        current, _ = await backed_up(store, current, T0 + timedelta(hours=index), days=days)
    due = await store.expired(vault, T0 + timedelta(days=2, hours=1))
    assert [entry.expires_at for entry in due] == [T0 + timedelta(days=1), T0 + timedelta(days=2, hours=1)]
    assert all(entry.instance == current.value.name for entry in due)
    assert await store.expired(vault, T0) == []


async def test_recorded_deletions_hide_points_and_drop_their_index_rows(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    current, old = await backed_up(store, current, T0, days=1)
    current, new = await backed_up(store, current, T0 + timedelta(days=1), days=7)
    [entry] = await store.expired(vault, T0 + timedelta(days=1, hours=1))
    job = backup_job(current.value, T0)
    updated = current.value.after_deletions(1, 0)
    saved = await store.record_deletions(current, updated, [(entry.point, entry)], [job], deleted_at=T0)
    assert saved.value.live_recovery_points == 1
    assert await store.list_recovery_points(vault, updated.name) == [new]
    everything = await store.list_recovery_points(vault, updated.name, include_deleted=True)
    assert [(p.id, p.state) for p in everything] == [
        (new.id, RecoveryPointState.COMMITTED),
        (old.id, RecoveryPointState.DELETING),
    ]
    assert everything[1].source_disk_tags == old.source_disk_tags
    assert await store.expired(vault, T0 + timedelta(days=30)) != []
    assert [e.recovery_point_id for e in await store.expired(vault, T0 + timedelta(days=30))] == [new.id]
    with pytest.raises(ConcurrencyError):
        await store.record_deletions(current, updated, [], [], deleted_at=T0)


async def test_deleting_recovery_points_tolerates_rows_already_gone(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    current, first = await backed_up(store, current, T0)
    current, second = await backed_up(store, current, T0 + timedelta(hours=4))
    await store.delete_recovery_points(vault, [first])
    await store.delete_recovery_points(vault, [first, second], [backup_job(current.value, T0)])
    assert await store.list_recovery_points(vault, current.value.name, include_deleted=True) == []
    assert await store.expired(vault, T0 + timedelta(days=365)) == []
    assert await store.get_job(vault, backup_job(current.value, T0).id) is not None


async def test_a_recovered_point_is_inserted_once(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    point = make_point(current.value, T0)
    saved = await store.recover_point(current, current.value.after_recovered_point(point), point)
    with pytest.raises(ConflictError):
        await store.recover_point(saved, saved.value.after_recovered_point(point), point)
    assert await store.list_recovery_points(vault, current.value.name) == [point]


async def test_a_failure_records_job_and_health_together(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    job = backup_job(current.value, T0).failed(T0, "Boom", "it broke")
    failed = current.value.after_failure("Boom", "it broke", T0)
    await store.record_failure(current, failed, job)
    assert (await store.get_instance(vault, failed.name)).value == failed
    assert await store.get_job(vault, job.id) == job
    with pytest.raises(ConcurrencyError):
        await store.record_failure(current, failed, replace(job, error_code="Other"))
    assert (await store.get_job(vault, job.id)).error_code == "Boom"


# --- jobs -------------------------------------------------------------------------------------------


async def test_jobs_upsert_list_newest_first_and_page_by_id_and_time(store: Any, vault: VaultRef) -> None:
    instance = make_instance(vault)
    jobs = [
        Job.for_instance(
            instance,
            id=job_id(T0 + timedelta(days=day), instance.id, str(day)),
            operation=JobOperation.ON_DEMAND_BACKUP,
            start_time=T0 + timedelta(days=day),
        )
        for day in range(6)
    ]
    for job in jobs:
        await store.put_job(job)
    await store.put_job(jobs[0].completed(T0 + timedelta(hours=1)))
    assert (await store.get_job(vault, jobs[0].id)).status is JobStatus.COMPLETED
    listed = await store.list_jobs(vault)
    assert [job.id for job in listed] == [job.id for job in reversed(jobs)]

    after = [job.id async for job in store.jobs_page(vault, after_id=jobs[3].id)]
    assert after == [jobs[2].id, jobs[1].id, jobs[0].id]
    window = [
        job.start_time
        async for job in store.jobs_page(
            vault, started_from=T0 + timedelta(days=3), started_to=T0 + timedelta(days=3), margin_hours=24
        )
    ]
    assert window == [T0 + timedelta(days=day) for day in (4, 3, 2)]
    assert await store.get_job(vault, job_id(T0, "never")) is None


# --- datasource claims, markers, operations -------------------------------------------------------


async def test_datasource_claims_insert_once_take_over_by_etag_and_release_only_their_own(
    store: Any, vault: VaultRef
) -> None:
    group = f"/subscriptions/{vault.subscription_id}/resourceGroups/rg"
    disk = f"{group}/providers/Microsoft.Compute/disks/d-{uuid.uuid4().hex[:6]}"
    claim = DatasourceClaim(disk, vault, "first", T0)
    etag = await store.put_datasource_claim(claim)
    with pytest.raises(ConflictError) as twice:
        await store.put_datasource_claim(replace(claim, instance="second"))
    assert not isinstance(twice.value, ConcurrencyError)
    assert await store.get_datasource_claim(disk.upper()) == Versioned(claim, etag)

    taken = replace(claim, instance="second", claimed_at=T0 + timedelta(hours=1))
    await store.put_datasource_claim(taken, etag)
    with pytest.raises(ConcurrencyError):
        await store.put_datasource_claim(claim, etag)
    await store.release_datasource_claim(disk, vault, "first")
    assert (await store.get_datasource_claim(disk)).value == taken
    await store.release_datasource_claim(disk, vault, "SECOND")
    assert await store.get_datasource_claim(disk) is None


async def test_a_marker_is_claimed_once_per_period(store: Any) -> None:
    name = "contract-" + uuid.uuid4().hex[:8]
    assert await store.claim_marker(name, T0, timedelta(days=1))
    assert not await store.claim_marker(name, T0 + timedelta(hours=23), timedelta(days=1))
    assert await store.claim_marker(name, T0 + timedelta(days=1, seconds=1), timedelta(days=1))


async def test_operation_records_insert_replace_or_upsert(store: Any, vault: VaultRef) -> None:
    etag = await store.put_operation(
        vault, "op-1_A", {"status": "InProgress"}, status="InProgress", create=True
    )
    with pytest.raises(ConflictError):
        await store.put_operation(vault, "op-1_A", {}, status="InProgress", create=True)
    await store.put_operation(vault, "op-1_A", {"status": "Succeeded"}, status="Succeeded", etag=etag)
    with pytest.raises(ConcurrencyError):
        await store.put_operation(vault, "op-1_A", {"status": "Failed"}, status="Failed", etag=etag)
    await store.put_operation(vault, "op-1_A", {"status": "Canceled"}, status="Canceled")
    assert (await store.get_operation(vault, "op-1_A")).value == {"status": "Canceled"}
    assert await store.get_operation(vault, "op-2") is None
    with pytest.raises(ValueError, match="URL-safe"):
        await store.put_operation(vault, "bad/id", {}, status="x")


# --- on-demand backup and restore -----------------------------------------------------------------


async def test_an_on_demand_acceptance_writes_instance_and_job_once(store: Any, vault: VaultRef) -> None:
    current = await created(store, make_instance(vault))
    job = Job.for_instance(
        current.value, id=job_id(T0, "od"), operation=JobOperation.ON_DEMAND_BACKUP, start_time=T0
    )
    counted = replace(current.value, recent_on_demand_requests=(T0,))
    saved = await store.accept_on_demand_backup(current, counted, job)
    assert (await store.get_instance(vault, counted.name)) == saved
    with pytest.raises(ConcurrencyError):
        await store.accept_on_demand_backup(current, counted, replace(job, id=job_id(T0, "other")))
    with pytest.raises(ConflictError):
        await store.accept_on_demand_backup(saved, counted, job)
    assert [j.id for j in await store.list_jobs(vault)] == [job.id]


async def test_a_restore_lease_is_counted_set_on_both_copies_and_released_only_by_its_holder(
    store: Any, vault: VaultRef
) -> None:
    current = await created(store, make_instance(vault))
    _, point = await backed_up(store, current, T0, days=1)
    name = current.value.name
    assert await store.get_restore_usage(vault, name) is None
    versioned = await store.get_recovery_point(vault, name, point.id)
    lease = T0 + timedelta(hours=12)
    job = Job.for_instance(
        current.value, id=job_id(T0, "restore"), operation=JobOperation.RESTORE, start_time=T0
    )
    await store.accept_restore(
        vault, name, usage=None, recent_restores=[T0], job=job, point=versioned, in_use_until=lease
    )
    usage = await store.get_restore_usage(vault, name)
    assert usage is not None
    assert usage.value == (T0,)
    leased = await store.get_recovery_point(vault, name, point.id)
    assert leased.value.in_use_until == lease
    assert leased.etag != versioned.etag
    [entry] = await store.expired(vault, T0 + timedelta(days=2))
    assert entry.point.in_use_until == lease

    again = replace(job, id=job_id(T0, "restore-2"))
    with pytest.raises(ConcurrencyError):  # the point changed since `versioned` was read
        await store.accept_restore(
            vault, name, usage=usage, recent_restores=[T0, T0], job=again, point=versioned, in_use_until=lease
        )
    # A count row exists: it must be replaced by its ETag. Created since its absence was read, it
    # is a lost race (read again and retry), not a conflict to report.
    with pytest.raises(ConcurrencyError):
        await store.accept_restore(
            vault, name, usage=None, recent_restores=[T0], job=again, point=leased, in_use_until=lease
        )
    assert await store.get_job(vault, again.id) is None

    await store.release_recovery_point(vault, point, lease + timedelta(hours=1))  # not this lease
    assert (await store.get_recovery_point(vault, name, point.id)).value.in_use_until == lease
    await store.release_recovery_point(vault, point, lease)
    assert (await store.get_recovery_point(vault, name, point.id)).value.in_use_until is None
    [entry] = await store.expired(vault, T0 + timedelta(days=2))
    assert entry.point.in_use_until is None


# --- deleted history: out of the live range, kept for audit, then purged ---------------------------


async def stored_rows(store: Any, vault: VaultRef, request: pytest.FixtureRequest) -> list[str]:
    """Every RowKey of the vault's partition, read past the store (raw rows, not its answers)."""
    if isinstance(store, FakeVaultStore):
        return store.rows(vault)
    azurite = request.getfixturevalue("azurite")
    partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
    async with TableClient.from_connection_string(azurite.connection_string, VAULT_DATA_TABLE) as table:
        return sorted(
            [
                str(entity["RowKey"])
                async for entity in table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"]
                )
            ]
        )


async def mark_deleted_in_place(
    store: Any, vault: VaultRef, point: RecoveryPoint, request: pytest.FixtureRequest
) -> None:
    """What an older version did on deletion: the row stays in ``r|``, marked ``Deleting``."""
    if isinstance(store, FakeVaultStore):
        store.mark_deleted_in_place(vault, point, T0)
        return
    azurite = request.getfixturevalue("azurite")
    partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
    async with TableClient.from_connection_string(azurite.connection_string, VAULT_DATA_TABLE) as table:
        await table.submit_transaction(
            [
                (
                    "upsert",
                    {
                        "PartitionKey": partition,
                        "RowKey": keys.recovery_point_key(point.instance, point.id),
                        "State": RecoveryPointState.DELETING.value,
                        "DeletedAt": T0,
                    },
                    {"mode": UpdateMode.MERGE},
                ),
                (
                    "delete",
                    {
                        "PartitionKey": partition,
                        "RowKey": keys.expiry_key(point.expires_at, point.instance, point.id),
                    },
                ),
            ]
        )


def of_kind(rows: list[str], kind: str) -> list[str]:
    return [row for row in rows if row.startswith(kind + keys.SEPARATOR)]


async def test_a_recorded_deletion_moves_the_point_out_of_the_live_range(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    current = await created(store, make_instance(vault))
    current, old = await backed_up(store, current, T0, days=1)
    current, new = await backed_up(store, current, T0 + timedelta(days=1), days=7)
    [entry] = await store.expired(vault, T0 + timedelta(days=1, hours=1))
    updated = current.value.after_deletions(1, 0)
    saved = await store.record_deletions(
        current, updated, [(entry.point, entry)], [backup_job(current.value, T0)], deleted_at=T0
    )
    rows = await stored_rows(store, vault, request)
    name = current.value.name
    assert of_kind(rows, keys.RECOVERY_POINT) == [keys.recovery_point_key(name, new.id)]
    assert of_kind(rows, keys.DELETED_RECOVERY_POINT) == [keys.deleted_recovery_point_key(name, old.id)]
    assert of_kind(rows, keys.AUDIT_EXPIRY) == [keys.audit_expiry_key(old.expires_at, name, old.id)]
    gone = await store.get_recovery_point(vault, name, old.id)
    assert gone is not None
    assert gone.value == old.with_state(RecoveryPointState.DELETING)

    # The same deletion recorded again (a second sweeper) is refused and changes nothing.
    with pytest.raises(ConflictError):
        await store.record_deletions(
            saved, saved.value.after_deletions(1, 0), [(entry.point, entry)], [], deleted_at=T0
        )
    assert await stored_rows(store, vault, request) == rows
    assert await store.get_instance(vault, name) == saved


async def test_audit_rows_are_purged_by_their_points_expiry(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    current = await created(store, make_instance(vault))
    points = []
    for index, days in enumerate((1, 2)):
        current, point = await backed_up(store, current, T0 + timedelta(hours=index), days=days)
        points.append(point)
    current, _ = await backed_up(store, current, T0 + timedelta(days=3), days=7)
    due = await store.expired(vault, T0 + timedelta(days=3))
    current = await store.record_deletions(
        current, current.value.after_deletions(2, 0), [(e.point, e) for e in due], [], deleted_at=T0
    )
    assert await store.purge_deleted_history(vault, points[0].expires_at - timedelta(seconds=1)) == 0
    assert await store.purge_deleted_history(vault, points[0].expires_at) == 1
    rows = await stored_rows(store, vault, request)
    assert of_kind(rows, keys.DELETED_RECOVERY_POINT) == [
        keys.deleted_recovery_point_key(current.value.name, points[1].id)
    ]
    assert await store.purge_deleted_history(vault, T0 + timedelta(days=365)) == 1
    assert of_kind(await stored_rows(store, vault, request), keys.AUDIT_EXPIRY) == []
    assert len(await store.list_recovery_points(vault, current.value.name, include_deleted=True)) == 1


async def test_points_marked_deleted_in_place_are_hidden_then_moved_once(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    current = await created(store, make_instance(vault))
    current, old = await backed_up(store, current, T0)
    current, new = await backed_up(store, current, T0 + timedelta(hours=4))
    await mark_deleted_in_place(store, vault, old, request)
    assert await store.list_recovery_points(vault, current.value.name) == [new]

    assert await store.move_legacy_tombstones(vault, now=T0) == 1
    assert await store.move_legacy_tombstones(vault, now=T0) == 0
    rows = await stored_rows(store, vault, request)
    assert of_kind(rows, keys.RECOVERY_POINT) == [keys.recovery_point_key(current.value.name, new.id)]
    everything = await store.list_recovery_points(vault, current.value.name, include_deleted=True)
    assert [(p.id, p.state) for p in everything] == [
        (new.id, RecoveryPointState.COMMITTED),
        (old.id, RecoveryPointState.DELETING),
    ]
    # Deleting history for good (the purge of a deleted instance) takes the audit rows too.
    await store.delete_recovery_points(vault, everything)
    remaining = await stored_rows(store, vault, request)
    # The instance row and its index rows stay, and so do its jobs (their index copies carry its name).
    kept = ("i|", "n|", keys.JOB_INDEX + "|")
    assert [row for row in remaining if current.value.name in row and not row.startswith(kept)] == []


async def test_deleting_a_point_still_marked_in_place_removes_its_row(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    current = await created(store, make_instance(vault))
    current, old = await backed_up(store, current, T0)
    await mark_deleted_in_place(store, vault, old, request)
    [marked] = await store.list_recovery_points(vault, current.value.name, include_deleted=True)
    await store.delete_recovery_points(vault, [marked])
    assert of_kind(await stored_rows(store, vault, request), keys.RECOVERY_POINT) == []


# --- the instance index -------------------------------------------------------------------------------


async def index_rows(store: Any, vault: VaultRef, request: pytest.FixtureRequest) -> list[str]:
    return of_kind(await stored_rows(store, vault, request), keys.INSTANCE_INDEX)


def index_of(name: str, health: str | None, status: str) -> list[str]:
    rows = [f"n|s|{status}|{name}"]
    if health is not None:
        rows.insert(0, f"n|h|{health}|{name}")
    return rows


async def test_every_instance_writer_keeps_the_instance_index_in_step(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    name = "disk-a-instance"
    current = await created(store, make_instance(vault, name))
    assert await index_rows(store, vault, request) == index_of(name, "healthy", "protectionconfigured")

    job = backup_job(current.value, T0).failed(T0, "Boom", "it broke")
    await store.record_failure(current, current.value.after_failure("Boom", "it broke", T0), job)
    assert await index_rows(store, vault, request) == index_of(name, "unhealthy", "protectionerror")

    current = await store.get_instance(vault, name)
    current, _ = await backed_up(store, current, T0)  # a success heals it
    assert await index_rows(store, vault, request) == index_of(name, "healthy", "protectionconfigured")

    current = await store.update_instance(
        current, current.value.with_protection_state(ProtectionState.PROTECTION_STOPPED)
    )
    assert await index_rows(store, vault, request) == index_of(name, "inactive", "protectionstopped")

    on_demand = Job.for_instance(
        current.value, id=job_id(T0, "od"), operation=JobOperation.ON_DEMAND_BACKUP, start_time=T0
    )
    current = await store.accept_on_demand_backup(
        current, replace(current.value, recent_on_demand_requests=(T0,)), on_demand
    )
    point = make_point(current.value, T0 + timedelta(hours=4))
    current = await store.recover_point(
        current,
        current.value.after_recovered_point(point).with_protection_state(ProtectionState.PROTECTION_ERROR),
        point,
    )
    assert await index_rows(store, vault, request) == index_of(name, "unhealthy", "protectionerror")

    [entry, *_] = await store.expired(vault, T0 + timedelta(days=365))
    current = await store.record_deletions(
        current,
        current.value.after_deletions(1, 0).with_protection_state(ProtectionState.SOFT_DELETED),
        [(entry.point, entry)],
        [],
        deleted_at=T0,
    )
    assert await index_rows(store, vault, request) == index_of(name, None, "softdeleted")

    await store.delete_instance(current)
    assert await index_rows(store, vault, request) == []


async def test_an_indexed_page_reads_the_instances_under_one_value(store: Any, vault: VaultRef) -> None:
    for number in range(6):
        current = await created(store, make_instance(vault, f"disk-{number}"))
        if number % 2:
            job = backup_job(current.value, T0).failed(T0, "Boom", "it broke")
            await store.record_failure(current, current.value.after_failure("Boom", "it broke", T0), job)

    first, more = await store.indexed_instances_page(vault, field="health", value="Unhealthy", limit=2)
    rest, more_rest = await store.indexed_instances_page(
        vault, field="health", value="unhealthy", after="disk-3", limit=2
    )
    stopped, _ = await store.indexed_instances_page(vault, field="status", value="ProtectionStopped", limit=5)

    assert ([i.name for i in first], more) == (["disk-1", "disk-3"], True)
    assert ([i.name for i in rest], more_rest) == (["disk-5"], False)
    assert stopped == []


async def write_as_older_version(
    store: Any, instance: BackupInstance, request: pytest.FixtureRequest
) -> None:
    """An instance row (and planner row) as a version before the instance index wrote them."""
    plan = PlanState(instance.name, instance.policy_document, active=True)
    if isinstance(store, FakeVaultStore):
        store.write_unindexed(instance, plan)
        return
    azurite = request.getfixturevalue("azurite")
    partition = keys.vault_partition(
        instance.vault.subscription_id, instance.vault.resource_group, instance.vault.name
    )
    async with TableClient.from_connection_string(azurite.connection_string, VAULT_DATA_TABLE) as table:
        for entity in (codecs.instance_entity(instance), codecs.plan_entity(plan)):
            await table.create_entity({**entity, "PartitionKey": partition})


async def test_the_backfill_indexes_older_rows_once_and_writes_keep_them_in_step(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    # A vault from before the index: its rows were written without one, and it has no marker.
    for name in ("disk-a", "disk-b"):
        await write_as_older_version(store, make_instance(vault, name), request)
    assert not await store.instance_index_ready(vault)
    current = await store.get_instance(vault, "disk-a")
    job = backup_job(current.value, T0).failed(T0, "Boom", "it broke")
    await store.record_failure(current, current.value.after_failure("Boom", "it broke", T0), job)

    assert await store.backfill_instance_index(vault) == 1  # disk-a was indexed by its own write
    assert await store.backfill_instance_index(vault) == 0
    assert await store.instance_index_ready(vault)
    assert await index_rows(store, vault, request) == [
        "n|h|healthy|disk-b",
        "n|h|unhealthy|disk-a",
        "n|s|protectionconfigured|disk-b",
        "n|s|protectionerror|disk-a",
    ]
    current = await store.get_instance(vault, "disk-b")
    await store.update_instance(
        current, current.value.with_protection_state(ProtectionState.PROTECTION_STOPPED)
    )
    assert await index_rows(store, vault, request) == [
        "n|h|inactive|disk-b",
        "n|h|unhealthy|disk-a",
        "n|s|protectionerror|disk-a",
        "n|s|protectionstopped|disk-b",
    ]


async def test_the_backfill_gives_rows_that_hold_points_their_oldest_point_time(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    # disk-p: an older version took two points and counted them, wrote no OldestPointAt; a backup
    # of this version then rewrote the row (indexing it) but could not know the oldest point.
    older = make_instance(vault, "disk-p", live_recovery_points=2)
    await write_as_older_version(store, older, request)
    current = await store.get_instance(vault, "disk-p")
    tombstoned, kept = make_point(older, T0), make_point(older, T0 + timedelta(hours=1))
    for point in (tombstoned, kept):  # the older version's points, already in its count
        current = await store.recover_point(current, current.value, point)
    current, _ = await backed_up(store, current, T0 + timedelta(hours=4))
    assert current.value.health.oldest_point_at is None
    # Left marked deleted in the live range by a version before the audit range: not restorable.
    await mark_deleted_in_place(store, vault, tombstoned, request)
    # disk-e: a row from before the index, holding no point.
    await write_as_older_version(store, make_instance(vault, "disk-e"), request)

    assert await store.backfill_instance_index(vault) == 2
    assert await store.backfill_instance_index(vault) == 0

    with_points = await store.get_instance(vault, "disk-p")
    assert with_points.value.health.oldest_point_at == kept.created_at
    assert with_points.value.live_recovery_points == 3
    empty = await store.get_instance(vault, "disk-e")
    assert empty.value.health.oldest_point_at is None
    assert await index_rows(store, vault, request) == sorted(
        index_of("disk-e", "healthy", "protectionconfigured")
        + index_of("disk-p", "healthy", "protectionconfigured")
    )


async def test_a_new_vault_has_a_complete_index_from_the_start(store: Any, vault: VaultRef) -> None:
    await store.register_vault(vault, {"id": vault.id, "location": "eastus"})
    assert await store.instance_index_ready(vault)
