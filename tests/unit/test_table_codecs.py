"""Table rows to domain objects and back, without Table Storage: every codec round-trips, writes no
nulls, and reads back timezone-aware times even when the row hands them back without a zone."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import MAX_BATCH, TableStore
from backup.adapters.tables.instance_index import INDEX_OPERATIONS_PER_WRITE, instance_write_ops
from backup.adapters.tables.job_rows import INDEX_ROWS_PER_JOB
from backup.adapters.tables.store import FAMILIES, VaultStore
from backup.domain.arm import DiskInfo
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.limits import RECOVERY_POINTS_PER_TABLE_TRANSACTION
from backup.domain.models import (
    BackupInstanceHealth,
    JobOperation,
    JobStatus,
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
)
from backup.domain.records import DatasourceClaim, PlanState, Versioned
from backup.domain.slots import SkipReason, SkipSpan

SUB = "00000000-0000-0000-0000-0000000000aa"
VAULT = VaultRef(SUB, "RG-Backup", "Vault-1")
T0 = datetime(2026, 11, 26, 4, 0, 0, 123456, tzinfo=UTC)
POLICY = {"objectType": "BackupPolicy", "datasourceTypes": ["Microsoft.Compute/disks"], "policyRules": []}
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
POINT_ID = "7" * 32
JOB_ID = "8fffffff-ffff-4000-8000-000000000001"


def as_stored(entity: Mapping[str, Any]) -> dict[str, Any]:
    """What a read hands back: times without a zone (meaning UTC), as older rows and Azurite give them."""
    return {
        name: value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value
        for name, value in entity.items()
    }


def full_instance() -> BackupInstance:
    return BackupInstance(
        vault=VAULT,
        name="Disk-A-Instance",
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/disk-a",
        disk_location="eastus",
        policy_name="Every-4h",
        policy_document=POLICY,
        snapshot_resource_group_id=SNAPS,
        protection_state=ProtectionState.PROTECTION_ERROR,
        health=BackupInstanceHealth(
            last_successful_backup=T0,
            consecutive_failures=2,
            last_error_code="SnapshotsLimitReached",
            last_error_message="too many snapshots",
            oldest_point_at=T0 - timedelta(days=6),
        ),
        last_tagged_at={RetentionTag.DAILY: T0, RetentionTag.WEEKLY: T0 - timedelta(days=3)},
        recent_snapshot_times=(T0 - timedelta(minutes=2), T0),
        live_recovery_points=12,
        live_on_demand_points=3,
        recent_on_demand_requests=(T0 - timedelta(hours=1),),
        datasource_missing_since=T0 + timedelta(hours=1),
        last_attempted_slot=T0,
        document={"friendlyName": "disk-a", "policyInfo": {"policyId": "p"}},
        deleted_at=T0 + timedelta(days=1),
        purge_at=T0 + timedelta(days=15),
        identity=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
        disk_facts=DiskInfo(
            id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/disk-a",
            name="disk-a",
            location="eastus",
            sku="Premium_LRS",
            size_gb=128,
            unique_id="7b4c1c2e-0000-4000-8000-00000000000a",
            provisioning_state="Succeeded",
            zone="2",
            tier="P15",
            disk_encryption_set_id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des",
            tags={"app": "payroll"},
        ),
        disk_facts_refreshed_at=T0 - timedelta(hours=3),
        snapshot_reservations={POINT_ID: T0 - timedelta(minutes=1)},
    )


def bare_instance() -> BackupInstance:
    return BackupInstance(
        vault=VAULT,
        name="disk-b-instance",
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/disk-b",
        disk_location="westeurope",
        policy_name="daily",
        policy_document=POLICY,
        snapshot_resource_group_id=SNAPS,
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )


def point(**changes: Any) -> RecoveryPoint:
    fields: dict[str, Any] = {
        "id": POINT_ID,
        "instance": "disk-a-instance",
        "slot": T0,
        "created_at": T0 + timedelta(seconds=40),
        "retention_tag": RetentionTag.WEEKLY,
        "earned_tags": frozenset({RetentionTag.DAILY, RetentionTag.WEEKLY}),
        "expires_at": T0 + timedelta(days=28),
        "snapshot_id": f"{SNAPS}/providers/Microsoft.Compute/snapshots/s1",
        "state": RecoveryPointState.COMMITTED,
        "in_use_until": T0 + timedelta(hours=6),
        "source_disk_tags": (("app", "payroll"), ("team", "finance")),
    }
    fields.update(changes)
    return RecoveryPoint(**fields)


def job(**changes: Any) -> Job:
    fields: dict[str, Any] = {
        "id": JOB_ID,
        "vault_id": VAULT.id,
        "instance": "disk-a-instance",
        "operation": JobOperation.RESTORE,
        "status": JobStatus.COMPLETED_WITH_WARNINGS,
        "start_time": T0,
        "end_time": T0 + timedelta(minutes=3),
        "datasource_id": "/subscriptions/x/disks/disk-a",
        "datasource_name": "disk-a",
        "datasource_location": "eastus",
        "policy_name": "every-4h",
        "recovery_point_id": POINT_ID,
        "restore_target_id": "/subscriptions/x/disks/restored",
        "error_code": "Partial",
        "error_message": "tags were not copied",
        "progress_percent": 100,
        "initiated_by": "function-key",
        "warnings": ("tags were not copied",),
        "recovery_point_time": T0 - timedelta(hours=2),
        "instance_state": "ProtectionConfigured",
    }
    fields.update(changes)
    return Job(**fields)


def assert_no_nulls(entity: Mapping[str, Any]) -> None:
    assert None not in entity.values(), "Tables stores no nulls: an absent value is an absent column"


@pytest.mark.parametrize("instance", [full_instance(), bare_instance()], ids=["full", "bare"])
def test_an_instance_row_round_trips(instance: BackupInstance) -> None:
    entity = codecs.instance_entity(instance)

    assert entity["RowKey"] == keys.instance_key(instance.name)
    assert_no_nulls(entity)
    assert codecs.instance_from(VAULT, entity) == instance
    assert codecs.instance_from(VAULT, as_stored(entity)) == instance


def test_an_instance_row_survives_a_queue_message_as_json() -> None:
    current = Versioned(full_instance(), "W/\"datetime'2026-11-26T04%3A00%3A00Z'\"")

    message = json.loads(json.dumps(codecs.encode_instance(current)))

    assert codecs.decode_instance(VAULT, message) == current


@pytest.mark.parametrize(
    "plan",
    [
        PlanState("disk-a-instance", POLICY, True, T0, T0 + timedelta(seconds=5), "planner-1"),
        PlanState("disk-a-instance", POLICY, False),
        PlanState(
            "disk-a-instance",
            POLICY,
            True,
            T0,
            T0,
            "planner-2",
            sent_slot=T0,
            sent_at=T0 + timedelta(seconds=2),
            skips=(
                SkipSpan(SkipReason.SUSPENDED, None, T0 - timedelta(days=2)),
                SkipSpan(SkipReason.DATASOURCE_MISSING, T0 - timedelta(hours=4)),
            ),
        ),
    ],
    ids=["planned", "never-planned", "sent-with-skips"],
)
def test_a_plan_row_round_trips(plan: PlanState) -> None:
    entity = codecs.plan_entity(plan)

    assert entity["RowKey"] == keys.plan_key(plan.instance)
    assert keys.is_plan_key(entity["RowKey"])
    assert_no_nulls(entity)
    assert codecs.plan_from(as_stored(entity)) == plan


def test_a_plan_row_without_skips_leaves_the_stored_ones_to_a_merge() -> None:
    # An API update merges a plan that knows nothing of skips: the column must be absent, not "[]".
    assert "SkipsJson" not in codecs.plan_entity(PlanState("disk-a-instance", POLICY, True))
    sent = codecs.plan_sent_entity("disk-a-instance", T0, T0 + timedelta(seconds=1))
    assert set(sent) == {"RowKey", "SentSlot", "SentAt"}
    assert sent["RowKey"] == keys.plan_key("disk-a-instance")


@pytest.mark.parametrize(
    "recovery_point",
    [
        point(),
        point(
            slot=None,
            in_use_until=None,
            source_disk_tags=(),
            retention_tag=RetentionTag.DEFAULT,
            earned_tags=frozenset({RetentionTag.DEFAULT}),
        ),
    ],
    ids=["scheduled-leased-tagged", "on-demand-bare"],
)
def test_a_recovery_point_row_and_its_expiry_copy_round_trip(recovery_point: RecoveryPoint) -> None:
    row = codecs.recovery_point_entity(recovery_point, JOB_ID)
    expiry = codecs.expiry_entity(recovery_point)

    assert row["RowKey"] == keys.recovery_point_key(recovery_point.instance, recovery_point.id)
    assert row["JobId"] == JOB_ID
    assert expiry["RowKey"] == keys.expiry_key(recovery_point.expires_at, recovery_point.instance, POINT_ID)
    assert (expiry["Kind"], "JobId" in expiry) == ("expiry", False)
    assert_no_nulls(row)
    assert_no_nulls(expiry)
    assert codecs.recovery_point_from(as_stored(row)) == recovery_point
    assert codecs.recovery_point_from(as_stored(expiry)) == recovery_point


@pytest.mark.parametrize(
    "recorded",
    [
        job(),
        job(
            operation=JobOperation.SCHEDULED_BACKUP,
            status=JobStatus.IN_PROGRESS,
            end_time=None,
            datasource_id=None,
            datasource_name=None,
            datasource_location=None,
            policy_name=None,
            recovery_point_id=None,
            restore_target_id=None,
            error_code=None,
            error_message=None,
            progress_percent=None,
            initiated_by="system",
            warnings=(),
            recovery_point_time=None,
            instance_state=None,
        ),
        job(
            operation=JobOperation.ON_DEMAND_BACKUP,
            restore_target_id=None,
            recovery_point_time=None,
            instance_state=None,
            policy_rule_name="BackupHourly",
            retention_tag="Weekly",
        ),
    ],
    ids=["finished-restore", "running-backup", "finished-backup"],
)
def test_a_job_row_round_trips(recorded: Job) -> None:
    entity = codecs.job_entity(recorded)

    assert entity["RowKey"] == keys.job_key(recorded.id)
    assert_no_nulls(entity)
    assert codecs.job_from(as_stored(entity)) == recorded
    assert codecs.vault_of(recorded) == VAULT


def test_a_datasource_claim_row_round_trips_under_a_case_blind_key() -> None:
    claim = DatasourceClaim(
        "/subscriptions/X/resourceGroups/RG/providers/Microsoft.Compute/disks/D", VAULT, "disk-a-instance", T0
    )

    entity = codecs.claim_entity(claim)

    assert entity["RowKey"] == keys.datasource_claim_key(claim.disk_id.lower())
    assert codecs.claim_from(as_stored(entity)) == claim


def test_restore_usage_rows_round_trip() -> None:
    times = (T0 - timedelta(hours=3), T0)

    entity = codecs.restore_usage_entity("Disk-A-Instance", times)

    assert entity["RowKey"] == "q|disk-a-instance"
    assert codecs.restore_usage_from(entity) == times
    assert codecs.restore_usage_from({}) == ()


def test_vault_and_policy_rows_keep_the_name_as_first_spelled() -> None:
    vault_row = codecs.vault_entity(VAULT, {"location": "eastus"})
    policy_row = codecs.policy_entity("Every-4h", POLICY)

    assert (vault_row["PartitionKey"], vault_row["RowKey"]) == (SUB, "rg-backup:vault-1")
    assert codecs.vault_ref_from(vault_row) == VAULT
    assert codecs.document_from(vault_row) == {"location": "eastus"}
    assert policy_row["RowKey"] == "p|every-4h"
    assert codecs.policy_name_from(policy_row) == "Every-4h"
    assert codecs.policy_name_from({"RowKey": "p|every-4h"}) == "every-4h"
    assert codecs.document_from(policy_row) == POLICY


def test_operation_rows_carry_status_and_document() -> None:
    entity = codecs.operation_entity("b3BlcmF0aW9u-_x", {"status": "Running"}, "Running")

    assert (entity["RowKey"], entity["Status"]) == ("o|b3BlcmF0aW9u-_x", "Running")
    assert codecs.document_from(entity) == {"status": "Running"}


def _public_methods(store: type[TableStore]) -> set[str]:
    return {
        name
        for name, member in vars(store).items()
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
    }


def test_each_family_declares_its_own_methods_and_the_vault_store_has_them_all() -> None:
    seen: dict[str, str] = {}
    for family in FAMILIES:
        for name in _public_methods(family):
            assert name not in seen, f"{family.__name__}.{name} shadows {seen[name]}.{name}"
            seen[name] = family.__name__

    assert all(issubclass(VaultStore, family) for family in FAMILIES)
    assert _public_methods(VaultStore) == set(), "the vault store only unites the families"
    assert all(_public_methods(family) for family in FAMILIES)


def test_retention_chunks_leave_room_for_the_instance_index() -> None:
    # live row out, audit row in, expiry row out, audit-index row in, the job and its index copies
    operations_per_point = 5 + INDEX_ROWS_PER_JOB
    instance_row = 1
    largest = (
        instance_row
        + INDEX_OPERATIONS_PER_WRITE
        + RECOVERY_POINTS_PER_TABLE_TRANSACTION * operations_per_point
    )
    assert largest <= MAX_BATCH


def test_an_instance_write_replaces_only_the_index_rows_that_changed() -> None:
    created, stored = instance_write_ops(None, bare_instance())
    current = Versioned(stored, "etag-1")
    failed = stored.after_failure("Boom", "it broke")
    again, _ = instance_write_ops(current, stored)
    changed, after = instance_write_ops(current, failed)

    assert [(op[0], op[1]["RowKey"]) for op in created] == [
        ("create", "i|disk-b-instance"),
        ("upsert", "n|h|healthy|disk-b-instance"),
        ("upsert", "n|s|protectionconfigured|disk-b-instance"),
    ]
    assert [(op[0], op[1]["RowKey"]) for op in again] == [("update", "i|disk-b-instance")]
    assert [(op[0], op[1]["RowKey"]) for op in changed] == [
        ("update", "i|disk-b-instance"),
        ("delete", "n|h|healthy|disk-b-instance"),
        ("delete", "n|s|protectionconfigured|disk-b-instance"),
        ("upsert", "n|h|unhealthy|disk-b-instance"),
        ("upsert", "n|s|protectionerror|disk-b-instance"),
    ]
    assert json.loads(changed[0][1]["IndexKeysJson"]) == list(after.stored_index or ())
    assert codecs.instance_from(VAULT, as_stored(changed[0][1])).stored_index == after.stored_index
