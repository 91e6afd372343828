"""The product's state in Table Storage, laid out as ``docs/storage.md`` describes.

The only module that knows entity shapes. Services get domain objects back, each with the
ETag it was read at (:class:`Versioned`), and hand that ETag back on every write that
another writer could reach; a write that lost a race raises :class:`ConcurrencyError`
(412) or :class:`ConflictError` (409, the row already exists) and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from backup.adapters import table_keys as keys
from backup.adapters.storage import StorageClients
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
from backup.domain.records import DatasourceClaim, ExpiryEntry, PlanState, Versioned
from backup.errors import ConcurrencyError, ConflictError, TransientError
from backup.names import VAULT_DATA_TABLE, VAULTS_TABLE

Entity = dict[str, Any]
Operation = tuple[Any, ...]

SYSTEM_PARTITION = "_system"
"""Not a vault: app-wide markers live here (vault partitions always contain ':')."""

MAX_BATCH = 100
"""Azure's limit of operations in one entity-group transaction."""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    return _aware(value)


def _aware(value: Any) -> datetime:
    moment: datetime = value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _etag(entity: Any) -> str:
    """The ETag azure-data-tables keeps on a read entity (``TableEntity.metadata``)."""
    return str(entity.metadata["etag"])


def _clean(entity: Entity) -> Entity:
    """Tables stores no nulls: drop them, and the row simply has no such property."""
    return {name: value for name, value in entity.items() if value is not None}


def _merge(entity: Entity, etag: str | None) -> Operation:
    if etag is None:
        return ("upsert", entity, {"mode": UpdateMode.MERGE})
    return (
        "update",
        entity,
        {"mode": UpdateMode.MERGE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
    )


def _replace(entity: Entity, etag: str) -> Operation:
    return (
        "update",
        entity,
        {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
    )


def _race_error(error: HttpResponseError) -> Exception:
    status = error.status_code
    if status == 412:
        return ConcurrencyError("The entity changed since it was read; read it again and retry.")
    if status == 409:
        return ConflictError("The entity already exists.", code="EntityAlreadyExists")
    if status == 404:
        return ConcurrencyError("The entity was deleted since it was read.", code="EntityGone")
    if status in (429, 500, 502, 503, 504) or status is None:
        return TransientError(f"Table Storage is unavailable: {error.message}", code="StorageUnavailable")
    return error


class VaultStore:
    def __init__(self, clients: StorageClients) -> None:
        self._clients = clients

    async def _data(self) -> Any:
        return await self._clients.table(VAULT_DATA_TABLE)

    async def _registry(self) -> Any:
        return await self._clients.table(VAULTS_TABLE)

    async def _transact(self, partition: str, operations: Sequence[Operation]) -> list[Mapping[str, Any]]:
        """One entity-group transaction; a lost race raises, and nothing of it is written."""
        for _, entity, *_ in operations:
            entity["PartitionKey"] = partition
        table = await self._data()
        try:
            return list(await table.submit_transaction(list(operations)))
        except TableTransactionError as error:
            raise _race_error(error) from error
        except HttpResponseError as error:
            raise _race_error(error) from error

    async def _query(self, filter_text: str, parameters: Mapping[str, Any]) -> AsyncIterator[Entity]:
        table = await self._data()
        async for entity in table.query_entities(filter_text, parameters=dict(parameters)):
            yield entity

    async def _range(self, partition: str, lower: str, upper: str) -> AsyncIterator[Entity]:
        async for entity in self._query(
            "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper",
            {"pk": partition, "lower": lower, "upper": upper},
        ):
            yield entity

    async def _point(self, partition: str, row: str) -> Entity | None:
        table = await self._data()
        try:
            entity: Entity = await table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        return entity

    # --- process-wide markers -----------------------------------------------------------------

    async def claim_marker(self, name: str, now: datetime, every: timedelta) -> bool:
        """Claim a periodic job (at most once per ``every`` across all instances of the app)."""
        table = await self._data()
        row = await self._point(SYSTEM_PARTITION, name)
        if row is not None and _aware(row["LastRun"]) > now - every:
            return False
        entity = {"PartitionKey": SYSTEM_PARTITION, "RowKey": name, "LastRun": now}
        try:
            if row is None:
                await table.create_entity(entity)
            else:
                await table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=_etag(row),
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, HttpResponseError):
            return False  # another instance claimed it first
        return True

    # --- vaults -------------------------------------------------------------------------

    async def register_vault(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "SubscriptionId": vault.subscription_id,
            "ResourceGroup": vault.resource_group,
            "Name": vault.name,
            "DocumentJson": json.dumps(document),
        }
        registry = await self._registry()
        try:
            if etag is None:
                result = await registry.create_entity(entity)
            else:
                result = await registry.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except ResourceExistsError as error:
            raise ConflictError(
                f"Vault '{vault.name}' already exists.", code="EntityAlreadyExists"
            ) from error
        except HttpResponseError as error:
            raise _race_error(error) from error
        return str(result["etag"])

    async def get_vault(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None:
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        registry = await self._registry()
        try:
            entity = await registry.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        return Versioned(json.loads(entity["DocumentJson"]), _etag(entity))

    async def list_vaults(self) -> list[VaultRef]:
        registry = await self._registry()
        return [
            VaultRef(entity["SubscriptionId"], entity["ResourceGroup"], entity["Name"])
            async for entity in registry.list_entities(select=["SubscriptionId", "ResourceGroup", "Name"])
        ]

    # --- policies -----------------------------------------------------------------------

    async def put_policy(
        self, vault: VaultRef, name: str, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        entity = {"RowKey": keys.policy_key(name), "Name": name, "DocumentJson": json.dumps(document)}
        operation = ("create", entity) if etag is None else _replace(entity, etag)
        results = await self._transact(self.partition(vault), [operation])
        return str(results[0]["etag"])

    async def get_policy(self, vault: VaultRef, name: str) -> Versioned[Mapping[str, Any]] | None:
        entity = await self._point(self.partition(vault), keys.policy_key(name))
        if entity is None:
            return None
        return Versioned(json.loads(entity["DocumentJson"]), _etag(entity))

    # --- instances ----------------------------------------------------------------------

    @staticmethod
    def partition(vault: VaultRef) -> str:
        return keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)

    async def create_instance(self, instance: BackupInstance, plan: PlanState) -> Versioned[BackupInstance]:
        results = await self._transact(
            self.partition(instance.vault),
            [("create", _instance_entity(instance)), ("create", _plan_entity(plan))],
        )
        return Versioned(instance, str(results[0]["etag"]))

    async def get_instance(self, vault: VaultRef, name: str) -> Versioned[BackupInstance] | None:
        entity = await self._point(self.partition(vault), keys.instance_key(name))
        if entity is None:
            return None
        return Versioned(_instance_from(vault, entity), _etag(entity))

    async def update_instance(
        self, current: Versioned[BackupInstance], updated: BackupInstance, plan: PlanState | None = None
    ) -> Versioned[BackupInstance]:
        """Replace the instance row (and, when the schedule changed, its plan row) atomically."""
        operations: list[Operation] = [_replace(_instance_entity(updated), current.etag)]
        if plan is not None:
            operations.append(_merge(_plan_entity(plan), None))
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(updated, str(results[0]["etag"]))

    async def instances_with_plans(
        self, vault: VaultRef
    ) -> list[tuple[Versioned[BackupInstance] | None, Versioned[PlanState] | None]]:
        """Every instance of the vault with its planner row: one range query, paged by 1000."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        rows: dict[str, list[Any]] = {}
        async for entity in self._range(self.partition(vault), lower, upper):
            name_key = entity["RowKey"].split(keys.SEPARATOR)[1]
            pair = rows.setdefault(name_key, [None, None])
            if entity["RowKey"].endswith(keys.SEPARATOR + keys.PLAN_SUFFIX):
                pair[1] = Versioned(_plan_from(entity), _etag(entity))
            else:
                pair[0] = Versioned(_instance_from(vault, entity), _etag(entity))
        return [(pair[0], pair[1]) for pair in rows.values()]

    async def save_plans(self, vault: VaultRef, plans: Sequence[Versioned[PlanState]]) -> int:
        """Write planner rows in batches of 100; a batch that lost a race is retried row by row.

        Returns how many rows were written; rows another planner changed meanwhile are left
        to it (their slot has been planned by that planner).
        """
        written = 0
        partition = self.partition(vault)
        for start in range(0, len(plans), MAX_BATCH):
            batch = plans[start : start + MAX_BATCH]
            try:
                await self._transact(
                    partition, [_merge(_plan_entity(plan.value), plan.etag) for plan in batch]
                )
                written += len(batch)
            except (ConcurrencyError, ConflictError):
                for plan in batch:
                    try:
                        await self._transact(partition, [_merge(_plan_entity(plan.value), plan.etag)])
                        written += 1
                    except (ConcurrencyError, ConflictError):
                        continue
        return written

    # --- backups, recovery points and jobs ----------------------------------------------------

    async def record_backup(
        self,
        current: Versioned[BackupInstance],
        updated: BackupInstance,
        point: RecoveryPoint,
        job: Job,
    ) -> Versioned[BackupInstance]:
        """The worker's one write: recovery point, its expiry index row, the job and the instance."""
        results = await self._transact(
            self.partition(updated.vault),
            [
                _replace(_instance_entity(updated), current.etag),
                ("create", _recovery_point_entity(point, job.id)),
                ("create", _expiry_entity(point)),
                ("upsert", _job_entity(job), {"mode": UpdateMode.REPLACE}),
            ],
        )
        return Versioned(updated, str(results[0]["etag"]))

    async def recover_point(
        self, current: Versioned[BackupInstance], updated: BackupInstance, point: RecoveryPoint
    ) -> Versioned[BackupInstance]:
        """Reconciliation's write: a recovery point rebuilt from snapshot tags, and the instance's counts."""
        results = await self._transact(
            self.partition(updated.vault),
            [
                _replace(_instance_entity(updated), current.etag),
                ("create", _recovery_point_entity(point, None)),
                ("create", _expiry_entity(point)),
            ],
        )
        return Versioned(updated, str(results[0]["etag"]))

    async def record_failure(
        self, current: Versioned[BackupInstance] | None, updated: BackupInstance | None, job: Job
    ) -> None:
        """A failed job, and the instance's health when it is known, in one transaction."""
        partition = self.partition(updated.vault if updated else _vault_of(job))
        operations: list[Operation] = [("upsert", _job_entity(job), {"mode": UpdateMode.REPLACE})]
        if current is not None and updated is not None:
            operations.insert(0, _replace(_instance_entity(updated), current.etag))
        await self._transact(partition, operations)

    async def put_job(self, job: Job) -> None:
        await self._transact(
            self.partition(_vault_of(job)), [("upsert", _job_entity(job), {"mode": UpdateMode.REPLACE})]
        )

    async def get_job(self, vault: VaultRef, job_id: str) -> Job | None:
        entity = await self._point(self.partition(vault), keys.job_key(job_id))
        return _job_from(entity) if entity else None

    async def list_jobs(self, vault: VaultRef) -> list[Job]:
        lower, upper = keys.kind_range(keys.JOB)
        return [_job_from(entity) async for entity in self._range(self.partition(vault), lower, upper)]

    async def get_recovery_point(self, vault: VaultRef, instance: str, point_id: str) -> RecoveryPoint | None:
        entity = await self._point(self.partition(vault), keys.recovery_point_key(instance, point_id))
        return _recovery_point_from(entity) if entity else None

    async def list_recovery_points(
        self, vault: VaultRef, instance: str, *, include_deleted: bool = False
    ) -> list[RecoveryPoint]:
        """Newest first, because recovery point ids sort that way."""
        lower, upper = keys.kind_range(
            keys.RECOVERY_POINT, keys.validated_name(instance, what="backupInstance")
        )
        points = [_recovery_point_from(e) async for e in self._range(self.partition(vault), lower, upper)]
        return [p for p in points if include_deleted or p.state is not RecoveryPointState.DELETING]

    async def expired(self, vault: VaultRef, now: datetime) -> list[ExpiryEntry]:
        """Only the expiry-index rows at or before ``now``: history is never read."""
        lower, upper = keys.expired_before(now)
        return [
            ExpiryEntry(_recovery_point_from(entity), entity["RowKey"])
            async for entity in self._range(self.partition(vault), lower, upper)
        ]

    async def record_deletions(
        self,
        current: Versioned[BackupInstance],
        updated: BackupInstance,
        deleted: Iterable[tuple[RecoveryPoint, ExpiryEntry | None]],
        jobs: Iterable[Job],
        *,
        deleted_at: datetime,
    ) -> Versioned[BackupInstance]:
        """Mark points deleted, drop their expiry rows, record the jobs and the instance's counts."""
        operations: list[Operation] = [_replace(_instance_entity(updated), current.etag)]
        for point, entry in deleted:
            marked = _recovery_point_entity(point.with_state(RecoveryPointState.DELETING), None)
            marked["DeletedAt"] = deleted_at
            operations.append(_merge(marked, None))
            if entry is not None:
                operations.append(("delete", {"RowKey": entry.row_key}))
        operations.extend(("upsert", _job_entity(job), {"mode": UpdateMode.REPLACE}) for job in jobs)
        if len(operations) > MAX_BATCH:
            raise ValueError(f"record_deletions takes at most {MAX_BATCH} operations at once")
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(updated, str(results[0]["etag"]))

    # --- API: vaults, policies, listings -------------------------------------------------------

    async def list_vault_documents(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
        """Vault documents of one subscription (optionally one resource group), by RowKey.

        One partition query; with a resource group, a RowKey prefix range inside it.
        Returns ``(row_key, document)`` pairs; the row key is the paging key.
        """
        registry = await self._registry()
        partition = keys.validated_subscription(subscription_id)
        if resource_group is None:
            filter_text, parameters = "PartitionKey eq @pk", {"pk": partition}
        else:
            prefix = keys.validated_name(resource_group, what="resourceGroup") + ":"
            filter_text = "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper"
            parameters = {"pk": partition, "lower": prefix, "upper": prefix[:-1] + chr(ord(":") + 1)}
        rows = [
            (str(entity["RowKey"]), Versioned(json.loads(entity["DocumentJson"]), _etag(entity)))
            async for entity in registry.query_entities(filter_text, parameters=parameters)
        ]
        return sorted(rows, key=lambda row: row[0])

    async def delete_vault(self, vault: VaultRef, etag: str) -> None:
        """Remove the vault from the registry (if unchanged since read), then everything in its partition."""
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        registry = await self._registry()
        try:
            await registry.delete_entity(
                partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceNotFoundError:
            return
        except HttpResponseError as error:
            raise _race_error(error) from error
        data = await self._data()
        row_keys = [
            str(entity["RowKey"])
            async for entity in data.query_entities(
                "PartitionKey eq @pk", parameters={"pk": self.partition(vault)}, select=["RowKey"]
            )
        ]
        for start in range(0, len(row_keys), MAX_BATCH):
            batch = row_keys[start : start + MAX_BATCH]
            await self._transact(self.partition(vault), [("delete", {"RowKey": key}) for key in batch])

    async def instance_names(self, vault: VaultRef, *, policy: str | None = None) -> list[str]:
        """Names of the vault's backup instances, optionally only those bound to ``policy`` (any case)."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        data = await self._data()
        names = []
        async for entity in data.query_entities(
            "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper",
            parameters={"pk": self.partition(vault), "lower": lower, "upper": upper},
            select=["RowKey", "Name", "PolicyName"],
        ):
            if str(entity["RowKey"]).endswith(keys.SEPARATOR + keys.PLAN_SUFFIX):
                continue
            if policy is None or str(entity.get("PolicyName") or "").lower() == policy.lower():
                names.append(str(entity.get("Name") or entity["RowKey"].split(keys.SEPARATOR)[1]))
        return names

    async def get_policy_named(
        self, vault: VaultRef, name: str
    ) -> tuple[str, Versioned[Mapping[str, Any]]] | None:
        """The policy with the name as it was first spelled (``Name`` column)."""
        entity = await self._point(self.partition(vault), keys.policy_key(name))
        if entity is None:
            return None
        return str(entity.get("Name") or name), Versioned(json.loads(entity["DocumentJson"]), _etag(entity))

    async def list_policies(self, vault: VaultRef) -> list[tuple[str, str, Versioned[Mapping[str, Any]]]]:
        """``(row_key, name, document)`` of every policy of the vault, by RowKey."""
        lower, upper = keys.kind_range(keys.POLICY)
        return [
            (
                str(entity["RowKey"]),
                str(entity.get("Name") or entity["RowKey"][len(lower) :]),
                Versioned(json.loads(entity["DocumentJson"]), _etag(entity)),
            )
            async for entity in self._range(self.partition(vault), lower, upper)
        ]

    async def delete_policy(self, vault: VaultRef, name: str, etag: str) -> None:
        await self._transact(
            self.partition(vault),
            [
                (
                    "delete",
                    {"RowKey": keys.policy_key(name)},
                    {"etag": etag, "match_condition": MatchConditions.IfNotModified},
                )
            ],
        )

    async def jobs_page(
        self,
        vault: VaultRef,
        *,
        after_id: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        margin_hours: int = 48,
    ) -> AsyncIterator[Job]:
        """Jobs newest first (by id), after ``after_id``, narrowed by start time as a RowKey range.

        Job ids carry the inverted time of the slot they were created for, which can be a little
        before the job's actual start, so the range is widened by ``margin_hours``; callers
        filter exactly on ``start_time``.
        """
        lower, upper = keys.kind_range(keys.JOB)
        max_inverted = (1 << 48) - 1

        def _inverted_prefix(value: int) -> str:
            digits = format(min(max(0, value), max_inverted), "012x")
            return f"{digits[:8]}-{digits[8:]}"

        if started_to is not None:
            moment = int((started_to.timestamp() + margin_hours * 3600) * 1000)
            lower = max(lower, keys.row_key(keys.JOB, _inverted_prefix(max_inverted - moment)))
        if started_from is not None:
            moment = int((started_from.timestamp() - margin_hours * 3600) * 1000)
            upper = min(upper, keys.row_key(keys.JOB, _inverted_prefix(max_inverted - moment + 1)))
        if after_id is not None:
            lower = max(lower, keys.job_key(after_id) + "\x00")
        if lower >= upper:
            return
        async for entity in self._range(self.partition(vault), lower, upper):
            yield _job_from(entity)

    async def put_operation(
        self,
        vault: VaultRef,
        operation_id: str,
        document: Mapping[str, Any],
        *,
        status: str,
        create: bool = False,
        etag: str | None = None,
    ) -> str:
        """Write an operation record (RowKey ``o|{operationId}``): insert, replace-if-unchanged, or upsert."""
        if not operation_id or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in operation_id):
            raise ValueError("operation ids are URL-safe base64 without padding")
        entity = {
            "RowKey": keys.row_key("o", operation_id),
            "Kind": "operation",
            "Status": status,
            "DocumentJson": json.dumps(document),
        }
        operation: Operation
        if create:
            operation = ("create", entity)
        elif etag is not None:
            operation = _replace(entity, etag)
        else:
            operation = ("upsert", entity, {"mode": UpdateMode.REPLACE})
        results = await self._transact(self.partition(vault), [operation])
        return str(results[0]["etag"])

    async def get_operation(self, vault: VaultRef, operation_id: str) -> Versioned[Mapping[str, Any]] | None:
        entity = await self._point(self.partition(vault), keys.row_key("o", operation_id))
        if entity is None:
            return None
        return Versioned(json.loads(entity["DocumentJson"]), _etag(entity))

    # --- Protection lifecycle ---
    # Listing instances, the cross-vault datasource claims that keep one disk in one vault, and
    # the deletes that purge a soft-deleted instance. Claims live in their own partition
    # (DATASOURCE_PARTITION, RowKey = sha256 of the lower-cased disk id); they cannot share a
    # transaction with the instance row, so they are claimed before the instance is created
    # and verified against the instance they name whenever they are read.

    async def list_instances(
        self, vault: VaultRef, *, state: ProtectionState | None = None
    ) -> list[Versioned[BackupInstance]]:
        """The vault's instance rows (planner rows skipped) by RowKey, optionally of one state only."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        filter_text = "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper and Kind eq 'instance'"
        parameters: dict[str, Any] = {"pk": self.partition(vault), "lower": lower, "upper": upper}
        if state is not None:
            filter_text += " and ProtectionState eq @state"
            parameters["state"] = state.value
        return [
            Versioned(_instance_from(vault, entity), _etag(entity))
            async for entity in self._query(filter_text, parameters)
        ]

    async def get_datasource_claim(self, disk_id: str) -> Versioned[DatasourceClaim] | None:
        entity = await self._point(DATASOURCE_PARTITION, _claim_key(disk_id))
        if entity is None:
            return None
        claim = DatasourceClaim(
            disk_id=entity["DiskId"],
            vault=VaultRef(entity["SubscriptionId"], entity["ResourceGroup"], entity["VaultName"]),
            instance=entity["Instance"],
            claimed_at=_aware(entity["ClaimedAt"]),
        )
        return Versioned(claim, _etag(entity))

    async def put_datasource_claim(self, claim: DatasourceClaim, etag: str | None = None) -> str:
        """Insert a claim (ConflictError when one exists) or, with ``etag``, take over a stale one
        (ConcurrencyError when it changed since it was read)."""
        entity = {
            "RowKey": _claim_key(claim.disk_id),
            "Kind": "datasourceClaim",
            "DiskId": claim.disk_id,
            "SubscriptionId": claim.vault.subscription_id,
            "ResourceGroup": claim.vault.resource_group,
            "VaultName": claim.vault.name,
            "Instance": claim.instance,
            "ClaimedAt": claim.claimed_at,
        }
        operation = ("create", entity) if etag is None else _replace(entity, etag)
        results = await self._transact(DATASOURCE_PARTITION, [operation])
        return str(results[0]["etag"])

    async def release_datasource_claim(self, disk_id: str, vault: VaultRef, instance: str) -> None:
        """Delete the disk's claim if it still names this vault's instance; anything else is left."""
        current = await self.get_datasource_claim(disk_id)
        if current is None or not current.value.names(vault, instance):
            return
        try:
            await self._transact(
                DATASOURCE_PARTITION,
                [
                    (
                        "delete",
                        {"RowKey": _claim_key(disk_id)},
                        {"etag": current.etag, "match_condition": MatchConditions.IfNotModified},
                    )
                ],
            )
        except ConcurrencyError:
            return  # taken over or released meanwhile: no longer ours to release

    async def delete_recovery_points(
        self, vault: VaultRef, points: Sequence[RecoveryPoint], jobs: Iterable[Job] = ()
    ) -> None:
        """Remove recovery point rows and their expiry rows (a point not yet ``Deleting`` has one),
        recording ``jobs`` in the same transaction. At most 33 points per call."""
        operations: list[Operation] = []
        for point in points:
            operations.append(("delete", {"RowKey": keys.recovery_point_key(point.instance, point.id)}))
            if point.state is not RecoveryPointState.DELETING:
                operations.append(
                    ("delete", {"RowKey": keys.expiry_key(point.expires_at, point.instance, point.id)})
                )
        operations.extend(("upsert", _job_entity(job), {"mode": UpdateMode.REPLACE}) for job in jobs)
        if len(operations) > MAX_BATCH:
            raise ValueError(f"delete_recovery_points takes at most {MAX_BATCH} operations at once")
        if not operations:
            return
        partition = self.partition(vault)
        try:
            await self._transact(partition, operations)
        except ConcurrencyError:
            # A row was already gone (a 404 fails the whole transaction): go one by one.
            for operation in operations:
                try:
                    await self._transact(partition, [operation])
                except ConcurrencyError:
                    continue

    async def delete_instance(self, current: Versioned[BackupInstance]) -> None:
        """Remove the instance row (only if unchanged since read) and its planner row, together."""
        instance = current.value
        partition = self.partition(instance.vault)
        condition = {"etag": current.etag, "match_condition": MatchConditions.IfNotModified}
        operations: list[Operation] = [("delete", {"RowKey": keys.instance_key(instance.name)}, condition)]
        if await self._point(partition, keys.plan_key(instance.name)) is not None:
            operations.append(("delete", {"RowKey": keys.plan_key(instance.name)}))
        await self._transact(partition, operations)

    # --- On-demand backup and restore ---------------------------------------------------------

    async def accept_on_demand_backup(
        self, current: Versioned[BackupInstance], updated: BackupInstance, job: Job
    ) -> Versioned[BackupInstance]:
        """The API's one write for an on-demand backup: the instance (with the request time it
        counts against the daily limit, if unchanged since read) and the InProgress job, atomically."""
        results = await self._transact(
            self.partition(updated.vault),
            [_replace(_instance_entity(updated), current.etag), ("create", _job_entity(job))],
        )
        return Versioned(updated, str(results[0]["etag"]))

    async def get_recovery_point_versioned(
        self, vault: VaultRef, instance: str, point_id: str
    ) -> Versioned[RecoveryPoint] | None:
        entity = await self._point(self.partition(vault), keys.recovery_point_key(instance, point_id))
        return Versioned(_recovery_point_from(entity), _etag(entity)) if entity else None

    async def get_restore_usage(
        self, vault: VaultRef, instance: str
    ) -> Versioned[tuple[datetime, ...]] | None:
        """When the instance's recent restores were requested (RowKey ``q|{instance}``), with its ETag."""
        entity = await self._point(self.partition(vault), _restore_usage_key(instance))
        if entity is None:
            return None
        times = tuple(
            at for text in json.loads(entity.get("RecentRestoresJson") or "[]") if (at := _parse_iso(text))
        )
        return Versioned(times, _etag(entity))

    async def accept_restore(
        self,
        vault: VaultRef,
        instance: str,
        *,
        usage: Versioned[tuple[datetime, ...]] | None,
        recent_restores: Sequence[datetime],
        job: Job,
        point: Versioned[RecoveryPoint],
        in_use_until: datetime,
    ) -> None:
        """The API's one write for a restore, atomically: the instance's restore count (if unchanged
        since read), the InProgress job, and ``InUseUntil`` on the recovery point (if unchanged since
        read) and on its expiry-index copy (which retention reads), so retention skips the point."""
        usage_entity = {
            "RowKey": _restore_usage_key(instance),
            "Kind": "restoreUsage",
            "Instance": instance,
            "RecentRestoresJson": json.dumps([_iso(at) for at in recent_restores]),
        }
        value = point.value
        await self._transact(
            self.partition(vault),
            [
                ("create", usage_entity) if usage is None else _replace(usage_entity, usage.etag),
                ("create", _job_entity(job)),
                _merge(
                    {"RowKey": keys.recovery_point_key(instance, value.id), "InUseUntil": in_use_until},
                    point.etag,
                ),
                (
                    "update",
                    {
                        "RowKey": keys.expiry_key(value.expires_at, value.instance, value.id),
                        "InUseUntil": in_use_until,
                    },
                    {"mode": UpdateMode.MERGE},
                ),
            ],
        )

    async def release_recovery_point(
        self, vault: VaultRef, point: RecoveryPoint, in_use_until: datetime
    ) -> None:
        """Drop ``InUseUntil`` from a point and its expiry-index copy, but only where it still holds
        this restore's lease (a later restore of the same point may have extended it)."""
        for row in (
            keys.recovery_point_key(point.instance, point.id),
            keys.expiry_key(point.expires_at, point.instance, point.id),
        ):
            await self._release_row(self.partition(vault), row, in_use_until)

    async def _release_row(self, partition: str, row: str, in_use_until: datetime) -> None:
        for _ in range(3):
            entity = await self._point(partition, row)
            held = _utc(entity.get("InUseUntil")) if entity else None
            if entity is None or held is None or abs((held - in_use_until).total_seconds()) >= 1:
                return
            released = {
                name: value
                for name, value in entity.items()
                if name not in ("InUseUntil", "PartitionKey", "Timestamp")
            }
            try:
                await self._transact(partition, [_replace(released, _etag(entity))])
            except ConcurrencyError:
                continue
            return


# --- instance rows in queue messages ------------------------------------------------------------


def encode_instance(current: Versioned[BackupInstance]) -> dict[str, Any]:
    """The instance row and its ETag as JSON, so the planner can hand a worker the row it read."""
    row = {
        name: {"$dt": value.astimezone(UTC).isoformat()} if isinstance(value, datetime) else value
        for name, value in _instance_entity(current.value).items()
    }
    return {"etag": current.etag, "row": row}


def decode_instance(vault: VaultRef, encoded: Mapping[str, Any]) -> Versioned[BackupInstance]:
    row = {
        name: datetime.fromisoformat(value["$dt"]) if isinstance(value, dict) and "$dt" in value else value
        for name, value in encoded["row"].items()
    }
    return Versioned(_instance_from(vault, row), str(encoded["etag"]))


# --- entity mapping ---------------------------------------------------------------------------


def _vault_of(job: Job) -> VaultRef:
    parts = job.vault_id.split("/")
    return VaultRef(parts[2], parts[4], parts[8])


def _instance_entity(instance: BackupInstance) -> Entity:
    health = instance.health
    return _clean(
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
            "LastTaggedJson": json.dumps(
                {tag.value: _iso(at) for tag, at in instance.last_tagged_at.items()}
            ),
            "RecentSnapshotsJson": json.dumps([_iso(at) for at in instance.recent_snapshot_times]),
            "LiveRecoveryPoints": instance.live_recovery_points,
            "LiveOnDemandPoints": instance.live_on_demand_points,
            "RecentOnDemandJson": json.dumps([_iso(at) for at in instance.recent_on_demand_requests]),
            "DatasourceMissingSince": instance.datasource_missing_since,
            "LastAttemptedSlot": instance.last_attempted_slot,
            "DocumentJson": json.dumps(instance.document),
            "DeletedAt": instance.deleted_at,
            "PurgeAt": instance.purge_at,
            "Identity": instance.identity,
        }
    )


def _instance_from(vault: VaultRef, entity: Mapping[str, Any]) -> BackupInstance:
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
            last_successful_backup=_utc(entity.get("LastSuccessfulBackup")),
            consecutive_failures=int(entity.get("ConsecutiveFailures") or 0),
            last_error_code=entity.get("LastErrorCode"),
            last_error_message=entity.get("LastErrorMessage"),
        ),
        last_tagged_at={RetentionTag(tag): at for tag, text in tagged.items() if (at := _parse_iso(text))},
        recent_snapshot_times=tuple(
            at for text in json.loads(entity.get("RecentSnapshotsJson") or "[]") if (at := _parse_iso(text))
        ),
        live_recovery_points=int(entity.get("LiveRecoveryPoints") or 0),
        live_on_demand_points=int(entity.get("LiveOnDemandPoints") or 0),
        recent_on_demand_requests=tuple(
            at for text in json.loads(entity.get("RecentOnDemandJson") or "[]") if (at := _parse_iso(text))
        ),
        datasource_missing_since=_utc(entity.get("DatasourceMissingSince")),
        last_attempted_slot=_utc(entity.get("LastAttemptedSlot")),
        document=json.loads(entity.get("DocumentJson") or "{}"),
        deleted_at=_utc(entity.get("DeletedAt")),
        purge_at=_utc(entity.get("PurgeAt")),
        identity=entity.get("Identity"),
    )


def _plan_entity(plan: PlanState) -> Entity:
    return _clean(
        {
            "RowKey": keys.plan_key(plan.instance),
            "Kind": "plan",
            "Instance": plan.instance,
            "PolicyJson": json.dumps(plan.policy_document),
            "Active": plan.active,
            "LastPlannedSlot": plan.last_planned_slot,
            "PlannedAt": plan.planned_at,
            "PlannedBy": plan.planned_by,
        }
    )


def _plan_from(entity: Mapping[str, Any]) -> PlanState:
    return PlanState(
        instance=entity["Instance"],
        policy_document=json.loads(entity["PolicyJson"]),
        active=bool(entity.get("Active")),
        last_planned_slot=_utc(entity.get("LastPlannedSlot")),
        planned_at=_utc(entity.get("PlannedAt")),
        planned_by=entity.get("PlannedBy"),
    )


def _recovery_point_entity(point: RecoveryPoint, job_id: str | None) -> Entity:
    return _clean(
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
        }
    )


def _recovery_point_from(entity: Mapping[str, Any]) -> RecoveryPoint:
    return RecoveryPoint(
        id=entity["Id"],
        instance=entity["Instance"],
        slot=_utc(entity.get("Slot")),
        created_at=_aware(entity["CreatedAt"]),
        retention_tag=RetentionTag(entity["RetentionTag"]),
        earned_tags=frozenset(RetentionTag(tag) for tag in entity["EarnedTags"].split(",") if tag),
        expires_at=_aware(entity["ExpiresAt"]),
        snapshot_id=entity["SnapshotId"],
        state=RecoveryPointState(entity["State"]),
        in_use_until=_utc(entity.get("InUseUntil")),
        source_disk_tags=tuple(sorted(json.loads(entity.get("SourceTagsJson") or "{}").items())),
    )


def _expiry_entity(point: RecoveryPoint) -> Entity:
    return {
        **_recovery_point_entity(point, None),
        "RowKey": keys.expiry_key(point.expires_at, point.instance, point.id),
        "Kind": "expiry",
    }


def _job_entity(job: Job) -> Entity:
    return _clean(
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
        }
    )


def _job_from(entity: Mapping[str, Any]) -> Job:
    return Job(
        id=entity["Id"],
        vault_id=entity["VaultId"],
        instance=entity["Instance"],
        operation=JobOperation(entity["Operation"]),
        status=JobStatus(entity["Status"]),
        start_time=_aware(entity["StartTime"]),
        end_time=_utc(entity.get("EndTime")),
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
    )


def _restore_usage_key(instance: str) -> str:
    return keys.row_key("q", keys.validated_name(instance, what="backupInstance"))


# --- Protection lifecycle: datasource claims ---------------------------------------------------

DATASOURCE_PARTITION = "_datasources"
"""Not a vault: one row per protected disk, naming the instance that protects it."""


def _claim_key(disk_id: str) -> str:
    return hashlib.sha256(disk_id.lower().encode()).hexdigest()
