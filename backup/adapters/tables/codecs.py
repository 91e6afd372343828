"""Table entities to and from domain objects: pure functions, no I/O.

The only code that knows the columns of each row kind (``docs/storage.md`` gives the keys).
An entity built here carries its RowKey but not its PartitionKey: the store that writes it
knows the partition. Tables stores no nulls, so a ``None`` is written as an absent column and
read back as ``None``; times are written as datetimes (Table Storage's own type) or, inside
JSON columns, as ISO 8601 text, and always read back timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from backup.adapters.tables import keys
from backup.domain.arm import DiskInfo
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.models import (
    BackupInstanceHealth,
    JobOperation,
    JobStatus,
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
)
from backup.domain.overview import OverviewFigures, VaultOverview
from backup.domain.records import DatasourceClaim, PlanState, Versioned
from backup.domain.slots import SkipReason, SkipSpan

Entity = dict[str, Any]


# --- values -------------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def aware(value: Any) -> datetime:
    """A time read from a row; Azurite and older rows may hand it back without a zone, meaning UTC."""
    moment: datetime = value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_time(value: Any) -> datetime | None:
    return None if value is None else aware(value)


def clean(entity: Entity) -> Entity:
    """Tables stores no nulls: drop them, and the row simply has no such property."""
    return {name: value for name, value in entity.items() if value is not None}


def _times_json(times: Iterable[datetime]) -> str:
    return json.dumps([iso(at) for at in times])


def _times_from_json(text: str | None) -> tuple[datetime, ...]:
    return tuple(at for item in json.loads(text or "[]") if (at := parse_iso(item)))


def document_from(entity: Mapping[str, Any]) -> Mapping[str, Any]:
    """The Azure JSON a vault, policy or operation row keeps verbatim."""
    document: Mapping[str, Any] = json.loads(entity["DocumentJson"])
    return document


# --- vaults and policies ------------------------------------------------------------------------


def vault_entity(vault: VaultRef, document: Mapping[str, Any]) -> Entity:
    """A row of the ``vaults`` registry, keys included (the registry is its own table)."""
    partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
    return {
        "PartitionKey": partition,
        "RowKey": row,
        "SubscriptionId": vault.subscription_id,
        "ResourceGroup": vault.resource_group,
        "Name": vault.name,
        "DocumentJson": json.dumps(document),
    }


def vault_ref_from(entity: Mapping[str, Any]) -> VaultRef:
    return VaultRef(entity["SubscriptionId"], entity["ResourceGroup"], entity["Name"])


def vault_of(job: Job) -> VaultRef:
    """The vault a job belongs to, from its ARM vault id."""
    parts = job.vault_id.split("/")
    return VaultRef(parts[2], parts[4], parts[8])


def policy_entity(name: str, document: Mapping[str, Any]) -> Entity:
    return {"RowKey": keys.policy_key(name), "Name": name, "DocumentJson": json.dumps(document)}


def policy_name_from(entity: Mapping[str, Any]) -> str:
    """The policy's name as it was first spelled (the RowKey holds it lower-cased)."""
    lower, _ = keys.kind_range(keys.POLICY)
    return str(entity.get("Name") or str(entity["RowKey"])[len(lower) :])


# --- instances and plans ------------------------------------------------------------------------


def instance_entity(instance: BackupInstance) -> Entity:
    health = instance.health
    return clean(
        {
            "RowKey": keys.instance_key(instance.name),
            "Kind": "instance",
            "Name": instance.name,
            "DiskId": instance.disk_id,
            "DiskLocation": instance.disk_location,
            "PolicyName": instance.policy_name,
            "PolicyJson": json.dumps(instance.policy_document),
            "SnapshotResourceGroupId": instance.snapshot_resource_group_id,
            "ProtectionState": instance.protection_state.value,
            "LastSuccessfulBackup": health.last_successful_backup,
            "ConsecutiveFailures": health.consecutive_failures,
            "LastErrorCode": health.last_error_code,
            "LastErrorMessage": health.last_error_message,
            "OldestPointAt": health.oldest_point_at,
            "LastTaggedJson": json.dumps({tag.value: iso(at) for tag, at in instance.last_tagged_at.items()}),
            "RecentSnapshotsJson": _times_json(instance.recent_snapshot_times),
            "LiveRecoveryPoints": instance.live_recovery_points,
            "LiveOnDemandPoints": instance.live_on_demand_points,
            "RecentOnDemandJson": _times_json(instance.recent_on_demand_requests),
            "DatasourceMissingSince": instance.datasource_missing_since,
            "LastAttemptedSlot": instance.last_attempted_slot,
            "DocumentJson": json.dumps(instance.document),
            "DeletedAt": instance.deleted_at,
            "PurgeAt": instance.purge_at,
            "Identity": instance.identity,
            "DiskFactsJson": _disk_facts_json(instance.disk_facts),
            "DiskFactsRefreshedAt": instance.disk_facts_refreshed_at,
            "IndexKeysJson": json.dumps(list(instance.stored_index))
            if instance.stored_index is not None
            else None,
            "SnapshotReservationsJson": (
                json.dumps({point: iso(at) for point, at in instance.snapshot_reservations.items()})
                if instance.snapshot_reservations
                else None
            ),
        }
    )


def _disk_facts_json(disk: DiskInfo | None) -> str | None:
    if disk is None:
        return None
    return json.dumps(
        {
            "id": disk.id,
            "name": disk.name,
            "location": disk.location,
            "sku": disk.sku,
            "sizeGB": disk.size_gb,
            "uniqueId": disk.unique_id,
            "provisioningState": disk.provisioning_state,
            "zone": disk.zone,
            "tier": disk.tier,
            "diskEncryptionSetId": disk.disk_encryption_set_id,
            "tags": dict(disk.tags),
        }
    )


def _disk_facts_from(text: str | None) -> DiskInfo | None:
    if not text:
        return None
    body = json.loads(text)
    return DiskInfo(
        id=body["id"],
        name=body["name"],
        location=body["location"],
        sku=body["sku"],
        size_gb=int(body.get("sizeGB") or 0),
        unique_id=body.get("uniqueId"),
        provisioning_state=body.get("provisioningState"),
        zone=body.get("zone"),
        tier=body.get("tier"),
        disk_encryption_set_id=body.get("diskEncryptionSetId"),
        tags=dict(body.get("tags") or {}),
    )


def instance_from(vault: VaultRef, entity: Mapping[str, Any]) -> BackupInstance:
    tagged = json.loads(entity.get("LastTaggedJson") or "{}")
    return BackupInstance(
        vault=vault,
        name=entity["Name"],
        disk_id=entity["DiskId"],
        disk_location=entity["DiskLocation"],
        policy_name=entity["PolicyName"],
        policy_document=json.loads(entity["PolicyJson"]),
        snapshot_resource_group_id=entity["SnapshotResourceGroupId"],
        protection_state=ProtectionState(entity["ProtectionState"]),
        health=BackupInstanceHealth(
            last_successful_backup=optional_time(entity.get("LastSuccessfulBackup")),
            consecutive_failures=int(entity.get("ConsecutiveFailures") or 0),
            last_error_code=entity.get("LastErrorCode"),
            last_error_message=entity.get("LastErrorMessage"),
            oldest_point_at=optional_time(entity.get("OldestPointAt")),
        ),
        last_tagged_at={RetentionTag(tag): at for tag, text in tagged.items() if (at := parse_iso(text))},
        recent_snapshot_times=_times_from_json(entity.get("RecentSnapshotsJson")),
        live_recovery_points=int(entity.get("LiveRecoveryPoints") or 0),
        live_on_demand_points=int(entity.get("LiveOnDemandPoints") or 0),
        recent_on_demand_requests=_times_from_json(entity.get("RecentOnDemandJson")),
        datasource_missing_since=optional_time(entity.get("DatasourceMissingSince")),
        last_attempted_slot=optional_time(entity.get("LastAttemptedSlot")),
        document=json.loads(entity.get("DocumentJson") or "{}"),
        deleted_at=optional_time(entity.get("DeletedAt")),
        purge_at=optional_time(entity.get("PurgeAt")),
        identity=entity.get("Identity"),
        disk_facts=_disk_facts_from(entity.get("DiskFactsJson")),
        disk_facts_refreshed_at=optional_time(entity.get("DiskFactsRefreshedAt")),
        snapshot_reservations={
            point: at
            for point, text in json.loads(entity.get("SnapshotReservationsJson") or "{}").items()
            if (at := parse_iso(text))
        },
        stored_index=tuple(json.loads(entity["IndexKeysJson"])) if entity.get("IndexKeysJson") else None,
    )


def instance_index_marker() -> Entity:
    """The row saying every instance row of its vault has its instance-index rows."""
    return {"RowKey": keys.instance_index_layout_key(), "Kind": "layout", "Version": 1}


def plan_entity(plan: PlanState) -> Entity:
    return clean(
        {
            "RowKey": keys.plan_key(plan.instance),
            "Kind": "plan",
            "Instance": plan.instance,
            "PolicyJson": json.dumps(plan.policy_document),
            "Active": plan.active,
            "LastPlannedSlot": plan.last_planned_slot,
            "PlannedAt": plan.planned_at,
            "PlannedBy": plan.planned_by,
            "SentSlot": plan.sent_slot,
            "SentAt": plan.sent_at,
            # Absent when empty, so a merge that does not know the skips (an API update of the
            # schedule) keeps the recorded ones.
            "SkipsJson": _skips_json(plan.skips) if plan.skips else None,
        }
    )


def plan_sent_entity(instance: str, slot: datetime, at: datetime) -> Entity:
    """Just the sent columns of a planner row, for a merge that leaves the rest alone."""
    return {"RowKey": keys.plan_key(instance), "SentSlot": slot, "SentAt": at}


def plan_from(entity: Mapping[str, Any]) -> PlanState:
    return PlanState(
        instance=entity["Instance"],
        policy_document=json.loads(entity["PolicyJson"]),
        active=bool(entity.get("Active")),
        last_planned_slot=optional_time(entity.get("LastPlannedSlot")),
        planned_at=optional_time(entity.get("PlannedAt")),
        planned_by=entity.get("PlannedBy"),
        sent_slot=optional_time(entity.get("SentSlot")),
        sent_at=optional_time(entity.get("SentAt")),
        skips=_skips_from(entity.get("SkipsJson")),
    )


def _skips_json(spans: Iterable[SkipSpan]) -> str:
    return json.dumps([[span.reason.value, iso(span.after), iso(span.until)] for span in spans])


def _skips_from(text: str | None) -> tuple[SkipSpan, ...]:
    return tuple(
        SkipSpan(SkipReason(reason), parse_iso(after), parse_iso(until))
        for reason, after, until in json.loads(text or "[]")
    )


# --- instance rows in queue messages --------------------------------------------------------------


def encode_instance(current: Versioned[BackupInstance]) -> dict[str, Any]:
    """The instance row and its ETag as JSON, so the planner can hand a worker the row it read."""
    row = {
        name: {"$dt": value.astimezone(UTC).isoformat()} if isinstance(value, datetime) else value
        for name, value in instance_entity(current.value).items()
    }
    return {"etag": current.etag, "row": row}


def decode_instance(vault: VaultRef, encoded: Mapping[str, Any]) -> Versioned[BackupInstance]:
    row = {
        name: datetime.fromisoformat(value["$dt"]) if isinstance(value, dict) and "$dt" in value else value
        for name, value in encoded["row"].items()
    }
    return Versioned(instance_from(vault, row), str(encoded["etag"]))


# --- recovery points and their expiry index ------------------------------------------------------


def recovery_point_entity(point: RecoveryPoint, job_id: str | None) -> Entity:
    return clean(
        {
            "RowKey": keys.recovery_point_key(point.instance, point.id),
            "Kind": "recoveryPoint",
            "Id": point.id,
            "Instance": point.instance,
            "Slot": point.slot,
            "CreatedAt": point.created_at,
            "RetentionTag": point.retention_tag.value,
            "EarnedTags": ",".join(sorted(tag.value for tag in point.earned_tags)),
            "ExpiresAt": point.expires_at,
            "SnapshotId": point.snapshot_id,
            "State": point.state.value,
            "InUseUntil": point.in_use_until,
            "SourceTagsJson": json.dumps(dict(point.source_disk_tags)) if point.source_disk_tags else None,
            "JobId": job_id,
            "PolicyName": point.policy_name,
            "PolicyVersion": point.policy_version,
        }
    )


RECOVERY_POINT_COLUMNS = (
    "Id",
    "Instance",
    "Slot",
    "CreatedAt",
    "RetentionTag",
    "EarnedTags",
    "ExpiresAt",
    "SnapshotId",
    "State",
    "InUseUntil",
    "SourceTagsJson",
    "PolicyName",
    "PolicyVersion",
)
"""What :func:`recovery_point_from` reads: a listing selects just these (not the row's
``Timestamp``, ``JobId`` or keys), so each row costs less to send and to parse."""


def recovery_point_from(entity: Mapping[str, Any]) -> RecoveryPoint:
    """A recovery point from its own row or from its expiry-index copy (the same columns)."""
    return RecoveryPoint(
        id=entity["Id"],
        instance=entity["Instance"],
        slot=optional_time(entity.get("Slot")),
        created_at=aware(entity["CreatedAt"]),
        retention_tag=RetentionTag(entity["RetentionTag"]),
        earned_tags=frozenset(RetentionTag(tag) for tag in entity["EarnedTags"].split(",") if tag),
        expires_at=aware(entity["ExpiresAt"]),
        snapshot_id=entity["SnapshotId"],
        state=RecoveryPointState(entity["State"]),
        in_use_until=optional_time(entity.get("InUseUntil")),
        source_disk_tags=tuple(sorted(json.loads(entity.get("SourceTagsJson") or "{}").items())),
        policy_name=entity.get("PolicyName"),
        policy_version=entity.get("PolicyVersion"),
    )


def expiry_entity(point: RecoveryPoint) -> Entity:
    """The expiry-index copy of a live recovery point, keyed by its expiry time."""
    return {
        **recovery_point_entity(point, None),
        "RowKey": keys.expiry_key(point.expires_at, point.instance, point.id),
        "Kind": "expiry",
    }


# --- jobs and operations ------------------------------------------------------------------------


def job_entity(job: Job) -> Entity:
    return clean(
        {
            "RowKey": keys.job_key(job.id),
            "Kind": "job",
            "Id": job.id,
            "VaultId": job.vault_id,
            "Instance": job.instance,
            "Operation": job.operation.value,
            "Status": job.status.value,
            "StartTime": job.start_time,
            "EndTime": job.end_time,
            "DatasourceId": job.datasource_id,
            "DatasourceName": job.datasource_name,
            "DatasourceLocation": job.datasource_location,
            "PolicyName": job.policy_name,
            "RecoveryPointId": job.recovery_point_id,
            "RestoreTargetId": job.restore_target_id,
            "ErrorCode": job.error_code,
            "ErrorMessage": job.error_message,
            "ProgressPercent": job.progress_percent,
            "InitiatedBy": job.initiated_by,
            "WarningsJson": json.dumps(list(job.warnings)) if job.warnings else None,
            "PolicyRuleName": job.policy_rule_name,
            "RetentionTag": job.retention_tag,
            "RecoveryPointTime": job.recovery_point_time,
            "InstanceState": job.instance_state,
        }
    )


def job_from(entity: Mapping[str, Any]) -> Job:
    return Job(
        id=entity["Id"],
        vault_id=entity["VaultId"],
        instance=entity["Instance"],
        operation=JobOperation(entity["Operation"]),
        status=JobStatus(entity["Status"]),
        start_time=aware(entity["StartTime"]),
        end_time=optional_time(entity.get("EndTime")),
        datasource_id=entity.get("DatasourceId"),
        datasource_name=entity.get("DatasourceName"),
        datasource_location=entity.get("DatasourceLocation"),
        policy_name=entity.get("PolicyName"),
        recovery_point_id=entity.get("RecoveryPointId"),
        restore_target_id=entity.get("RestoreTargetId"),
        error_code=entity.get("ErrorCode"),
        error_message=entity.get("ErrorMessage"),
        progress_percent=entity.get("ProgressPercent"),
        initiated_by=entity.get("InitiatedBy") or "system",
        warnings=tuple(json.loads(entity.get("WarningsJson") or "[]")),
        policy_rule_name=entity.get("PolicyRuleName"),
        retention_tag=entity.get("RetentionTag"),
        recovery_point_time=optional_time(entity.get("RecoveryPointTime")),
        instance_state=entity.get("InstanceState"),
    )


def operation_entity(operation_id: str, document: Mapping[str, Any], status: str) -> Entity:
    return {
        "RowKey": keys.operation_key(operation_id),
        "Kind": "operation",
        "Status": status,
        "DocumentJson": json.dumps(document),
    }


# --- the overview's per-vault summary -------------------------------------------------------------


def vault_overview_entity(summary: VaultOverview) -> Entity:
    figures = summary.figures
    return clean(
        {
            "RowKey": keys.overview_key(),
            "Kind": "overview",
            "ComputedAt": summary.computed_at,
            "Instances": figures.instances,
            "Protected": figures.protected,
            "ByHealthJson": json.dumps(dict(figures.by_health)),
            "ByStateJson": json.dumps(dict(figures.by_state)),
            "RecoveryPoints": figures.recovery_points,
            "OldestPointAt": figures.oldest_point_at,
            "PointsOfUnknownAge": figures.points_of_unknown_age,
            "OldestLastBackupAt": figures.oldest_last_backup_at,
            "OldestLastBackupInstance": figures.oldest_last_backup_instance,
            "NeverBackedUp": figures.never_backed_up,
            "FailedJobs24h": figures.failed_jobs_24h,
        }
    )


def vault_overview_from(vault: VaultRef, entity: Mapping[str, Any]) -> VaultOverview:
    figures = OverviewFigures(
        instances=int(entity.get("Instances") or 0),
        protected=int(entity.get("Protected") or 0),
        by_health={str(k): int(v) for k, v in json.loads(entity.get("ByHealthJson") or "{}").items()},
        by_state={str(k): int(v) for k, v in json.loads(entity.get("ByStateJson") or "{}").items()},
        recovery_points=int(entity.get("RecoveryPoints") or 0),
        oldest_point_at=optional_time(entity.get("OldestPointAt")),
        points_of_unknown_age=int(entity.get("PointsOfUnknownAge") or 0),
        oldest_last_backup_at=optional_time(entity.get("OldestLastBackupAt")),
        oldest_last_backup_instance=entity.get("OldestLastBackupInstance"),
        never_backed_up=int(entity.get("NeverBackedUp") or 0),
        failed_jobs_24h=int(entity.get("FailedJobs24h") or 0),
    )
    return VaultOverview(vault, aware(entity["ComputedAt"]), figures)


# --- datasource claims and restore usage ----------------------------------------------------------


def claim_entity(claim: DatasourceClaim) -> Entity:
    return {
        "RowKey": keys.datasource_claim_key(claim.disk_id),
        "Kind": "datasourceClaim",
        "DiskId": claim.disk_id,
        "SubscriptionId": claim.vault.subscription_id,
        "ResourceGroup": claim.vault.resource_group,
        "VaultName": claim.vault.name,
        "Instance": claim.instance,
        "ClaimedAt": claim.claimed_at,
    }


def claim_from(entity: Mapping[str, Any]) -> DatasourceClaim:
    return DatasourceClaim(
        disk_id=entity["DiskId"],
        vault=VaultRef(entity["SubscriptionId"], entity["ResourceGroup"], entity["VaultName"]),
        instance=entity["Instance"],
        claimed_at=aware(entity["ClaimedAt"]),
    )


def restore_usage_entity(instance: str, recent_restores: Sequence[datetime]) -> Entity:
    return {
        "RowKey": keys.restore_usage_key(instance),
        "Kind": "restoreUsage",
        "Instance": instance,
        "RecentRestoresJson": _times_json(recent_restores),
    }


def restore_usage_from(entity: Mapping[str, Any]) -> tuple[datetime, ...]:
    return _times_from_json(entity.get("RecentRestoresJson"))
