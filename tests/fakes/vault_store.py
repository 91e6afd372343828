"""An in-memory ``VaultStore``: the same methods, the same answers, the same refusals.

Rows live in sorted partitions under the real adapter's own keys (``backup.adapters.tables.keys``),
so names are validated the same way and every range (recovery points newest first, jobs newest
first, the expiry index, instance rows and their planner rows) comes back in the same order.

Writes go through :meth:`FakeVaultStore._transact`, which mirrors an entity-group transaction:
every operation is checked before any is applied, and the first that fails decides the error,
as Table Storage does:

* insert of an existing row -> :class:`ConflictError` ``EntityAlreadyExists`` (409);
* replace/merge/delete with an ETag that no longer matches -> :class:`ConcurrencyError` (412);
* update or delete of a row that is gone -> :class:`ConcurrencyError` ``EntityGone`` (404).

A merge keeps the properties the new value leaves empty (Table Storage stores no nulls), which
is what makes, for example, an instance update leave its planner row's last planned slot alone.
``tests/contracts/test_vault_store_contract.py`` holds this to the real adapter on Azurite.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backup.adapters.tables import guards as guard_keys
from backup.adapters.tables import keys
from backup.adapters.tables.instance_index import index_keys
from backup.adapters.tables.recovery_points import under_policy
from backup.domain.guards import GuardApproval, GuardRef
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, JobIndexField, JobIndexScan
from backup.domain.models import JobStatus, ProtectionState, RecoveryPoint, RecoveryPointState
from backup.domain.overview import VaultOverview
from backup.domain.vault_limits import VaultLimits
from backup.errors import ConcurrencyError, ConflictError, ValidationError
from tests.fakes._types import DatasourceClaim, ExpiryEntry, PlanState, Versioned
from tests.fakes.role_assignments import FakeRoleAssignments

SYSTEM_PARTITION = "_system"
DATASOURCE_PARTITION = "_datasources"
MAX_BATCH = 100
_REGISTRY = "vaults"
_DATA = "data"


@dataclass
class _Row:
    value: Any
    etag: str


@dataclass(frozen=True)
class _Op:
    """One operation of a transaction. ``kind``: create, replace, merge, upsert or delete.

    ``etag`` set: the row must exist and still carry it. ``must_exist``: an update without an
    ETag (Table Storage's plain Update Entity), which still fails on a missing row.
    """

    kind: str
    row: str
    value: Any = None
    etag: str | None = None
    must_exist: bool = False


def _frozen(value: Any) -> Any:
    """A private copy, so a caller mutating what it passed in or got back changes nothing here."""
    return copy.deepcopy(value)


def _json_copy(document: Mapping[str, Any]) -> Any:
    """Documents are stored as JSON text: only JSON survives, and the caller gets a fresh copy."""
    return json.loads(json.dumps(document))


def _merged(old: Any, new: Any) -> Any:
    """Merge semantics: a property the new value leaves empty keeps the stored one."""
    if old is None:
        return new
    if isinstance(new, PlanState):
        return replace(
            new,
            last_planned_slot=new.last_planned_slot or old.last_planned_slot,
            planned_at=new.planned_at or old.planned_at,
            planned_by=new.planned_by or old.planned_by,
            sent_slot=new.sent_slot or old.sent_slot,
            sent_at=new.sent_at or old.sent_at,
            skips=new.skips or old.skips,
        )
    if isinstance(new, RecoveryPoint):
        return replace(
            new,
            slot=new.slot or old.slot,
            in_use_until=new.in_use_until or old.in_use_until,
            source_disk_tags=new.source_disk_tags or old.source_disk_tags,
        )
    return new


def _into_audit(point: RecoveryPoint, deleted_at: datetime) -> list[_Op]:
    """A deleted point's audit row in ``d|`` and its audit-index row (which names the point)."""
    deleting = point.with_state(RecoveryPointState.DELETING)
    return [
        _Op("create", keys.deleted_recovery_point_key(point.instance, point.id), deleting),
        _Op(
            "create",
            keys.audit_expiry_key(point.expires_at, point.instance, point.id),
            (point.instance, point.id),
        ),
    ]


def _oldest_point_unknown(instance: BackupInstance) -> bool:
    return instance.live_recovery_points > 0 and instance.health.oldest_point_at is None


def _instance_ops(
    current: Versioned[BackupInstance] | None, updated: BackupInstance
) -> tuple[list[_Op], BackupInstance]:
    """As the adapter's ``instance_write_ops``: the instance row, then only the index rows that changed."""
    new = index_keys(updated)
    stored = replace(updated, stored_index=new)
    row = keys.instance_key(updated.name)
    operations = [
        _Op("create", row, stored) if current is None else _Op("replace", row, stored, etag=current.etag)
    ]
    old = set(current.value.stored_index or ()) if current is not None else set()
    operations += [_Op("delete", key, must_exist=True) for key in sorted(old - set(new))]
    operations += [_Op("upsert", key, updated.name) for key in new if key not in old]
    return operations, stored


def _claim_key(disk_id: str) -> str:
    return hashlib.sha256(disk_id.lower().encode()).hexdigest()


def _restore_usage_key(instance: str) -> str:
    return keys.row_key("q", keys.validated_name(instance, what="backupInstance"))


def _vault_of(job: Job) -> VaultRef:
    parts = job.vault_id.split("/")
    return VaultRef(parts[2], parts[4], parts[8])


class FakeVaultStore(FakeRoleAssignments):
    """Everything ``VaultStore`` offers the services, in memory (and, as the table store does,
    the role assignments)."""

    def __init__(self) -> None:
        super().__init__()
        self._tables: dict[str, dict[str, dict[str, _Row]]] = {_REGISTRY: {}, _DATA: {}}
        self._etags = 0
        self._faults: dict[str, list[BaseException]] = {}
        self.writes = 0
        """Transactions that changed something (tests use it to prove a no-op wrote nothing)."""
        self.legacy_deleted_at: dict[str, datetime] = {}
        """When rows marked deleted in place were deleted (the real row's ``DeletedAt`` column)."""

    # --- test controls ------------------------------------------------------------------------

    def fail_next(self, method: str, error: BaseException, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` raise ``error`` (storage trouble)."""
        self._faults.setdefault(method, []).extend([error] * times)

    def clear_faults(self, method: str) -> int:
        """Drop the faults still queued for ``method``; returns how many were never raised."""
        return len(self._faults.pop(method, []))

    def _fault(self, method: str) -> None:
        queued = self._faults.get(method)
        if queued:
            raise queued.pop(0)

    def rows(self, vault: VaultRef) -> list[str]:
        """The row keys of a vault's partition, in order (for tests that check nothing is left)."""
        return sorted(self._tables[_DATA].get(self.partition(vault), {}))

    # --- the engine -----------------------------------------------------------------------------

    def _next_etag(self) -> str:
        self._etags += 1
        return f'W/"fake-{self._etags}"'

    def _partition(self, table: str, partition: str) -> dict[str, _Row]:
        return self._tables[table].setdefault(partition, {})

    def _read(self, partition: str, row: str, table: str = _DATA) -> _Row | None:
        return self._tables[table].get(partition, {}).get(row)

    def _range(self, partition: str, lower: str, upper: str, table: str = _DATA) -> list[tuple[str, _Row]]:
        rows = self._tables[table].get(partition, {})
        return [(key, rows[key]) for key in sorted(rows) if lower <= key < upper]

    def _transact(self, partition: str, operations: Sequence[_Op], table: str = _DATA) -> list[str]:
        """All or nothing; returns the new ETag of each operation ('' for deletes)."""
        rows = self._partition(table, partition)
        for op in operations:
            current = rows.get(op.row)
            if op.kind == "create":
                if current is not None:
                    raise ConflictError("The entity already exists.", code="EntityAlreadyExists")
                continue
            if op.kind == "upsert" or (op.kind == "merge" and op.etag is None and not op.must_exist):
                continue
            if current is None:
                raise ConcurrencyError("The entity was deleted since it was read.", code="EntityGone")
            if op.etag is not None and op.etag != current.etag:
                raise ConcurrencyError("The entity changed since it was read; read it again and retry.")
        etags: list[str] = []
        for op in operations:
            if op.kind == "delete":
                rows.pop(op.row, None)
                etags.append("")
                continue
            old = rows.get(op.row)
            value = _merged(old.value if old else None, op.value) if op.kind == "merge" else op.value
            rows[op.row] = _Row(_frozen(value), self._next_etag())
            etags.append(rows[op.row].etag)
        self.writes += 1
        return etags

    @staticmethod
    def partition(vault: VaultRef) -> str:
        return keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)

    # --- process-wide markers -----------------------------------------------------------------

    async def claim_marker(self, name: str, now: datetime, every: timedelta) -> bool:
        self._fault("claim_marker")
        row = self._read(SYSTEM_PARTITION, name)
        if row is not None and row.value > now - every:
            return False
        op = _Op("create", name, now) if row is None else _Op("replace", name, now, etag=row.etag)
        try:
            self._transact(SYSTEM_PARTITION, [op])
        except ConflictError:
            return False
        return True

    # --- vaults -------------------------------------------------------------------------------

    async def register_vault(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        self._fault("register_vault")
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        value = (vault, _json_copy(document))
        op = _Op("create", row, value) if etag is None else _Op("replace", row, value, etag=etag)
        try:
            written = self._transact(partition, [op], table=_REGISTRY)[0]
        except ConcurrencyError:
            raise
        except ConflictError as error:
            raise ConflictError(
                f"Vault '{vault.name}' already exists.", code="EntityAlreadyExists"
            ) from error
        if etag is None:  # a new vault's instance index is complete from the start
            self._transact(self.partition(vault), [_Op("upsert", keys.instance_index_layout_key(), "layout")])
        return written

    async def get_vault(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None:
        self._fault("get_vault")
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        found = self._read(partition, row, _REGISTRY)
        return Versioned(_frozen(found.value[1]), found.etag) if found else None

    async def list_vaults(self) -> list[VaultRef]:
        self._fault("list_vaults")
        registry = self._tables[_REGISTRY]
        return [
            registry[partition][row].value[0]
            for partition in sorted(registry)
            for row in sorted(registry[partition])
        ]

    async def list_vault_documents(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
        self._fault("list_vault_documents")
        partition = keys.validated_subscription(subscription_id)
        lower, upper = "", "\U0010ffff"
        if resource_group is not None:
            lower = keys.validated_name(resource_group, what="resourceGroup") + ":"
            upper = lower[:-1] + chr(ord(":") + 1)
        return [
            (row, Versioned(_frozen(found.value[1]), found.etag))
            for row, found in self._range(partition, lower, upper, _REGISTRY)
        ]

    async def delete_vault(self, vault: VaultRef, etag: str) -> None:
        self._fault("delete_vault")
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        if self._read(partition, row, _REGISTRY) is None:
            return
        self._transact(partition, [_Op("delete", row, etag=etag)], table=_REGISTRY)
        self._tables[_DATA].pop(self.partition(vault), None)

    # --- multi-user authorization: guards, approvals, a vault's link ----------------------------

    async def put_resource_guard(
        self, guard: GuardRef, record: Mapping[str, Any], etag: str | None = None
    ) -> str:
        self._fault("put_resource_guard")
        row = guard_keys.guard_key(guard)
        value = _json_copy(record)
        op = _Op("create", row, value) if etag is None else _Op("replace", row, value, etag=etag)
        return self._transact(guard_keys.guard_partition(guard.subscription_id), [op])[0]

    async def get_resource_guard(self, guard: GuardRef) -> Versioned[Mapping[str, Any]] | None:
        self._fault("get_resource_guard")
        found = self._read(guard_keys.guard_partition(guard.subscription_id), guard_keys.guard_key(guard))
        return Versioned(_frozen(found.value), found.etag) if found else None

    async def list_resource_guards(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
        self._fault("list_resource_guards")
        if resource_group is None:
            lower, upper = keys.kind_range(guard_keys.GUARD)
        else:
            lower = (
                keys.row_key(guard_keys.GUARD, keys.validated_name(resource_group, what="resourceGroup"))
                + ":"
            )
            upper = lower[:-1] + chr(ord(":") + 1)
        return [
            (row, Versioned(_frozen(found.value), found.etag))
            for row, found in self._range(guard_keys.guard_partition(subscription_id), lower, upper)
        ]

    async def delete_resource_guard(self, guard: GuardRef, etag: str) -> None:
        self._fault("delete_resource_guard")
        partition = guard_keys.guard_partition(guard.subscription_id)
        self._transact(partition, [_Op("delete", guard_keys.guard_key(guard), etag=etag)])
        lower, upper = guard_keys.approval_range(guard)
        for row, _ in self._range(partition, lower, upper):
            self._transact(partition, [_Op("delete", row)])

    async def put_guard_approval(self, guard: GuardRef, approval: GuardApproval) -> None:
        self._fault("put_guard_approval")
        row = guard_keys.approval_key(guard, approval.principal)
        self._transact(guard_keys.guard_partition(guard.subscription_id), [_Op("upsert", row, approval)])

    async def list_guard_approvals(self, guard: GuardRef) -> list[GuardApproval]:
        self._fault("list_guard_approvals")
        lower, upper = guard_keys.approval_range(guard)
        partition = guard_keys.guard_partition(guard.subscription_id)
        return [found.value for _, found in self._range(partition, lower, upper)]

    async def put_guard_proxy(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        self._fault("put_guard_proxy")
        value = _json_copy(document)
        row = guard_keys.PROXY_ROW
        op = _Op("create", row, value) if etag is None else _Op("replace", row, value, etag=etag)
        return self._transact(self.partition(vault), [op])[0]

    async def get_guard_proxy(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None:
        self._fault("get_guard_proxy")
        found = self._read(self.partition(vault), guard_keys.PROXY_ROW)
        return Versioned(_frozen(found.value), found.etag) if found else None

    async def delete_guard_proxy(self, vault: VaultRef, etag: str) -> None:
        self._fault("delete_guard_proxy")
        self._transact(self.partition(vault), [_Op("delete", guard_keys.PROXY_ROW, etag=etag)])

    # --- policies -----------------------------------------------------------------------------

    async def put_policy(
        self, vault: VaultRef, name: str, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        self._fault("put_policy")
        row = keys.policy_key(name)
        value = (name, _json_copy(document))
        op = _Op("create", row, value) if etag is None else _Op("replace", row, value, etag=etag)
        return self._transact(self.partition(vault), [op])[0]

    async def get_policy(self, vault: VaultRef, name: str) -> tuple[str, Versioned[Mapping[str, Any]]] | None:
        self._fault("get_policy")
        found = self._read(self.partition(vault), keys.policy_key(name))
        if found is None:
            return None
        return found.value[0], Versioned(_frozen(found.value[1]), found.etag)

    async def list_policies(self, vault: VaultRef) -> list[tuple[str, str, Versioned[Mapping[str, Any]]]]:
        self._fault("list_policies")
        lower, upper = keys.kind_range(keys.POLICY)
        return [
            (row, found.value[0], Versioned(_frozen(found.value[1]), found.etag))
            for row, found in self._range(self.partition(vault), lower, upper)
        ]

    async def delete_policy(self, vault: VaultRef, name: str, etag: str) -> None:
        self._fault("delete_policy")
        self._transact(self.partition(vault), [_Op("delete", keys.policy_key(name), etag=etag)])

    # --- instances ----------------------------------------------------------------------------

    async def create_instance(self, instance: BackupInstance, plan: PlanState) -> Versioned[BackupInstance]:
        self._fault("create_instance")
        operations, stored = _instance_ops(None, instance)
        operations.append(_Op("create", keys.plan_key(plan.instance), plan))
        etags = self._transact(self.partition(instance.vault), operations)
        return Versioned(stored, etags[0])

    async def get_instance(self, vault: VaultRef, name: str) -> Versioned[BackupInstance] | None:
        self._fault("get_instance")
        found = self._read(self.partition(vault), keys.instance_key(name))
        return Versioned(_frozen(found.value), found.etag) if found else None

    async def update_instance(
        self, current: Versioned[BackupInstance], updated: BackupInstance, plan: PlanState | None = None
    ) -> Versioned[BackupInstance]:
        self._fault("update_instance")
        operations, stored = _instance_ops(current, updated)
        if plan is not None:
            operations.append(_Op("merge", keys.plan_key(plan.instance), plan))
        etags = self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, etags[0])

    async def instances_with_plans(
        self, vault: VaultRef
    ) -> list[tuple[Versioned[BackupInstance] | None, Versioned[PlanState] | None]]:
        self._fault("instances_with_plans")
        lower, upper = keys.kind_range(keys.INSTANCE)
        pairs: dict[str, list[Any]] = {}
        for row, found in self._range(self.partition(vault), lower, upper):
            pair = pairs.setdefault(row.split(keys.SEPARATOR)[1], [None, None])
            slot = 1 if row.endswith(keys.SEPARATOR + keys.PLAN_SUFFIX) else 0
            pair[slot] = Versioned(_frozen(found.value), found.etag)
        return [(pair[0], pair[1]) for pair in pairs.values()]

    async def list_instances(
        self, vault: VaultRef, *, state: ProtectionState | None = None
    ) -> list[Versioned[BackupInstance]]:
        self._fault("list_instances")
        lower, upper = keys.kind_range(keys.INSTANCE)
        return [
            Versioned(_frozen(found.value), found.etag)
            for row, found in self._range(self.partition(vault), lower, upper)
            if isinstance(found.value, BackupInstance)
            and (state is None or found.value.protection_state is state)
        ]

    async def instances_page(
        self, vault: VaultRef, *, after: str | None = None, limit: int, deleted: bool = False
    ) -> tuple[list[BackupInstance], bool]:
        self._fault("instances_page")
        lower, upper = keys.kind_range(keys.INSTANCE)
        if after is not None:
            lower = keys.instance_key(after) + "\x00"
        matches = [
            _frozen(found.value)
            for _, found in self._range(self.partition(vault), lower, upper)
            if isinstance(found.value, BackupInstance) and found.value.is_soft_deleted == deleted
        ]
        return matches[:limit], len(matches) > limit

    async def instance_index_ready(self, vault: VaultRef) -> bool:
        self._fault("instance_index_ready")
        return self._read(self.partition(vault), keys.instance_index_layout_key()) is not None

    async def indexed_instances_page(
        self, vault: VaultRef, *, field: str, value: str, after: str | None = None, limit: int
    ) -> tuple[list[BackupInstance], bool]:
        self._fault("indexed_instances_page")
        prefix, upper = keys.instance_index_range(field, value)
        lower = prefix if after is None else keys.instance_index_key(field, value, after) + "\x00"
        partition = self.partition(vault)
        names = [found.value for _, found in self._range(partition, lower, upper)]
        found = []
        for name in names[:limit]:
            row = self._read(partition, keys.instance_key(name))
            if row is not None and any(key.startswith(prefix) for key in index_keys(row.value)):
                found.append(_frozen(row.value))
        return found, len(names) > limit

    async def backfill_instance_index(self, vault: VaultRef) -> int:
        self._fault("backfill_instance_index")
        partition = self.partition(vault)
        if self._read(partition, keys.instance_index_layout_key()) is not None:
            return 0
        lower, upper = keys.kind_range(keys.INSTANCE)
        pending = [
            Versioned(found.value, found.etag)
            for _, found in self._range(partition, lower, upper)
            if isinstance(found.value, BackupInstance)
            and (found.value.stored_index is None or _oldest_point_unknown(found.value))
        ]
        for current in pending:
            updated = current.value
            if _oldest_point_unknown(updated):
                live = self._range(partition, *keys.kind_range(keys.RECOVERY_POINT, updated.name))
                oldest = min(
                    (
                        found.value.created_at
                        for _, found in live
                        if found.value.state is not RecoveryPointState.DELETING
                    ),
                    default=None,
                )
                updated = replace(updated, health=replace(updated.health, oldest_point_at=oldest))
            self._transact(partition, _instance_ops(current, updated)[0])
        self._transact(partition, [_Op("upsert", keys.instance_index_layout_key(), "layout")])
        return len(pending)

    def forget_instance_index(self, vault: VaultRef) -> None:
        """Remove the vault's index marker, as a vault created before the index has none."""
        self._partition(_DATA, self.partition(vault)).pop(keys.instance_index_layout_key(), None)

    def write_unindexed(self, instance: BackupInstance, plan: PlanState) -> None:
        """An instance row as a version before the instance index left it: no index rows."""
        self._transact(
            self.partition(instance.vault),
            [
                _Op("create", keys.instance_key(instance.name), replace(instance, stored_index=None)),
                _Op("create", keys.plan_key(plan.instance), plan),
            ],
        )

    async def instance_names(self, vault: VaultRef, *, policy: str | None = None) -> list[str]:
        self._fault("instance_names")
        return [
            row.value.name
            for row in await self.list_instances(vault)
            if policy is None or row.value.policy_name.lower() == policy.lower()
        ]

    async def save_plans(self, vault: VaultRef, plans: Sequence[Versioned[PlanState]]) -> int:
        self._fault("save_plans")
        written = 0
        partition = self.partition(vault)
        for start in range(0, len(plans), MAX_BATCH):
            batch = plans[start : start + MAX_BATCH]
            operations = [
                _Op("merge", keys.plan_key(plan.value.instance), plan.value, etag=plan.etag) for plan in batch
            ]
            try:
                self._transact(partition, operations)
                written += len(batch)
            except (ConcurrencyError, ConflictError):
                for operation in operations:
                    try:
                        self._transact(partition, [operation])
                        written += 1
                    except (ConcurrencyError, ConflictError):
                        continue
        return written

    async def mark_plans_sent(
        self, vault: VaultRef, sent: Sequence[tuple[str, datetime]], at: datetime
    ) -> int:
        self._fault("mark_plans_sent")
        marked = 0
        partition = self.partition(vault)
        for start in range(0, len(sent), MAX_BATCH):
            operations = []
            for instance, slot in sent[start : start + MAX_BATCH]:
                found = self._read(partition, keys.plan_key(instance))
                value = replace(found.value, sent_slot=slot, sent_at=at) if found else None
                operations.append(_Op("merge", keys.plan_key(instance), value, must_exist=True))
            try:
                self._transact(partition, operations)
                marked += len(operations)
            except (ConcurrencyError, ConflictError):
                for operation in operations:
                    try:
                        self._transact(partition, [operation])
                        marked += 1
                    except (ConcurrencyError, ConflictError):
                        continue
        return marked

    async def delete_instance(self, current: Versioned[BackupInstance]) -> None:
        self._fault("delete_instance")
        instance = current.value
        partition = self.partition(instance.vault)
        operations = [
            _Op("delete", keys.instance_key(instance.name), etag=current.etag),
            *(_Op("delete", row) for row in instance.stored_index or ()),
        ]
        if self._read(partition, keys.plan_key(instance.name)) is not None:
            operations.append(_Op("delete", keys.plan_key(instance.name)))
        self._transact(partition, operations)

    # --- backups, recovery points and jobs ------------------------------------------------------

    def _point_ops(self, point: RecoveryPoint) -> list[_Op]:
        return [
            _Op("create", keys.recovery_point_key(point.instance, point.id), point),
            _Op("create", keys.expiry_key(point.expires_at, point.instance, point.id), point),
        ]

    async def record_backup(
        self, current: Versioned[BackupInstance], updated: BackupInstance, point: RecoveryPoint, job: Job
    ) -> Versioned[BackupInstance]:
        self._fault("record_backup")
        operations, stored = _instance_ops(current, updated)
        operations += [*self._point_ops(under_policy(point, updated)), *_job_ops(job)]
        etags = self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, etags[0])

    async def recover_point(
        self, current: Versioned[BackupInstance], updated: BackupInstance, point: RecoveryPoint
    ) -> Versioned[BackupInstance]:
        self._fault("recover_point")
        operations, stored = _instance_ops(current, updated)
        operations += self._point_ops(under_policy(point, updated))
        etags = self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, etags[0])

    async def record_failure(
        self, current: Versioned[BackupInstance] | None, updated: BackupInstance | None, job: Job
    ) -> None:
        self._fault("record_failure")
        operations = _job_ops(job)
        if current is not None and updated is not None:
            operations[:0] = _instance_ops(current, updated)[0]
        self._transact(self.partition(updated.vault if updated else _vault_of(job)), operations)

    async def put_job(self, job: Job) -> None:
        self._fault("put_job")
        self._transact(self.partition(_vault_of(job)), _job_ops(job))

    async def get_job(self, vault: VaultRef, job_id: str) -> Job | None:
        self._fault("get_job")
        found = self._read(self.partition(vault), keys.job_key(job_id))
        return _frozen(found.value) if found else None

    async def list_jobs(self, vault: VaultRef) -> list[Job]:
        self._fault("list_jobs")
        lower, upper = keys.kind_range(keys.JOB)
        return [_frozen(found.value) for _, found in self._range(self.partition(vault), lower, upper)]

    async def jobs_page(
        self,
        vault: VaultRef,
        *,
        after_id: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        margin_hours: int = 48,
        index: JobIndexScan | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Job]:
        """Newest first, after ``after_id``, narrowed to a start-time window widened by the margin;
        with ``index``, only the live index copies under its values (once the vault is indexed)."""
        self._fault("jobs_page")
        margin = timedelta(hours=margin_hours)
        if index is not None and await self.job_index_ready(vault):
            candidates = self._indexed_jobs(vault, index)
        else:
            candidates = await self.list_jobs(vault)
        for job in candidates:
            stamped = _job_id_time(job.id)
            if after_id is not None and job.id <= after_id.lower():
                continue
            if started_to is not None and stamped > started_to + margin:
                continue
            if started_from is not None and stamped < started_from - margin:
                continue
            yield job

    def _indexed_jobs(self, vault: VaultRef, index: JobIndexScan) -> list[Job]:
        partition = self.partition(vault)
        found: list[Job] = []
        for value in set(index.values):
            try:
                scope = keys.job_index_scope(_INDEX_FIELD_KEYS[index.field], value)
            except ValidationError:
                continue  # no job can carry a value that is not a valid name
            found.extend(
                _frozen(row.value)
                for _, row in self._range(partition, *keys.kind_range(*scope))
                if row.value != _STALE_INDEX
            )
        return sorted(found, key=lambda job: job.id)

    async def count_failed_since(self, vault: VaultRef, since: datetime) -> int:
        self._fault("count_failed_since")
        return sum(
            1
            for job in await self.list_jobs(vault)
            if job.status is JobStatus.FAILED and job.start_time >= since
        )

    async def job_index_ready(self, vault: VaultRef) -> bool:
        marker = keys.job_index_marker_key(self.partition(vault))
        return self._read(SYSTEM_PARTITION, marker) is not None

    async def index_legacy_jobs(self, vault: VaultRef) -> int:
        self._fault("index_legacy_jobs")
        if await self.job_index_ready(vault):
            return 0
        partition = self.partition(vault)
        jobs = self._range(partition, *keys.kind_range(keys.JOB))
        for row, found in jobs:
            self._transact(
                partition,
                [_Op("merge", row, found.value, etag=found.etag), *_job_index_ops(found.value)],
            )
        self._transact(SYSTEM_PARTITION, [_Op("upsert", keys.job_index_marker_key(partition), 1)])
        return len(jobs)

    async def purge_stale_job_index(self, vault: VaultRef) -> int:
        self._fault("purge_stale_job_index")
        partition = self.partition(vault)
        scope = keys.job_index_scope(keys.JOB_INDEX_STATUS, JobStatus.IN_PROGRESS.value)
        rows = self._range(partition, *keys.kind_range(*scope))
        stale = [row for row, found in rows if found.value == _STALE_INDEX]
        self._each_ignoring_gone(partition, [_Op("delete", row) for row in stale])
        return len(stale)

    async def get_recovery_point(
        self, vault: VaultRef, instance: str, point_id: str
    ) -> Versioned[RecoveryPoint] | None:
        self._fault("get_recovery_point")
        partition = self.partition(vault)
        found = self._read(partition, keys.recovery_point_key(instance, point_id)) or self._read(
            partition, keys.deleted_recovery_point_key(instance, point_id)
        )
        return Versioned(_frozen(found.value), found.etag) if found else None

    async def list_recovery_points(
        self, vault: VaultRef, instance: str, *, include_deleted: bool = False
    ) -> list[RecoveryPoint]:
        self._fault("list_recovery_points")
        name = keys.validated_name(instance, what="backupInstance")
        partition = self.partition(vault)
        points = [
            _frozen(found.value)
            for _, found in self._range(partition, *keys.kind_range(keys.RECOVERY_POINT, name))
        ]
        if not include_deleted:
            return [p for p in points if p.state is not RecoveryPointState.DELETING]
        points.extend(
            _frozen(found.value)
            for _, found in self._range(partition, *keys.kind_range(keys.DELETED_RECOVERY_POINT, name))
        )
        return sorted(points, key=lambda point: point.id)

    async def recovery_points_page(
        self,
        vault: VaultRef,
        instance: str,
        *,
        limit: int,
        after_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> tuple[list[RecoveryPoint], bool]:
        """Live points newest first after ``after_id``, created in ``[created_from, created_to]``:
        at most ``limit`` of them, and whether more follow."""
        self._fault("recovery_points_page")
        rows = self._range(self.partition(vault), *keys.recovery_points_range(instance, after_id=after_id))
        matching = [
            point
            for point in (_frozen(found.value) for _, found in rows)
            if point.state is not RecoveryPointState.DELETING
            and (created_from is None or point.created_at >= created_from)
            and (created_to is None or point.created_at <= created_to)
        ]
        return matching[:limit], len(matching) > limit

    async def expired(self, vault: VaultRef, now: datetime) -> list[ExpiryEntry]:
        self._fault("expired")
        lower, upper = keys.expired_before(now)
        return [
            ExpiryEntry(_frozen(found.value), row)
            for row, found in self._range(self.partition(vault), lower, upper)
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
        self._fault("record_deletions")
        operations, stored = _instance_ops(current, updated)
        for point, entry in deleted:
            operations.append(_Op("delete", keys.recovery_point_key(point.instance, point.id)))
            operations.extend(_into_audit(point, deleted_at))
            if entry is not None:
                operations.append(_Op("delete", entry.row_key))
        operations.extend(op for job in jobs for op in _job_ops(job))
        if len(operations) > MAX_BATCH:
            raise ValueError(f"record_deletions takes at most {MAX_BATCH} operations at once")
        etags = self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, etags[0])

    async def delete_recovery_points(
        self, vault: VaultRef, points: Sequence[RecoveryPoint], jobs: Iterable[Job] = ()
    ) -> None:
        self._fault("delete_recovery_points")
        operations: list[_Op] = []
        legacy: list[_Op] = []
        for point in points:
            if point.state is RecoveryPointState.DELETING:
                operations.append(_Op("delete", keys.deleted_recovery_point_key(point.instance, point.id)))
                operations.append(
                    _Op("delete", keys.audit_expiry_key(point.expires_at, point.instance, point.id))
                )
                legacy.append(_Op("delete", keys.recovery_point_key(point.instance, point.id)))
            else:
                operations.append(_Op("delete", keys.recovery_point_key(point.instance, point.id)))
                operations.append(_Op("delete", keys.expiry_key(point.expires_at, point.instance, point.id)))
        operations.extend(op for job in jobs for op in _job_ops(job))
        if len(operations) > MAX_BATCH:
            raise ValueError(f"delete_recovery_points takes at most {MAX_BATCH} operations at once")
        if not operations:
            return
        partition = self.partition(vault)
        try:
            self._transact(partition, operations)
        except ConcurrencyError:
            self._each_ignoring_gone(partition, [*operations, *legacy])

    async def move_legacy_tombstones(self, vault: VaultRef, *, now: datetime) -> int:
        self._fault("move_legacy_tombstones")
        partition = self.partition(vault)
        if self._read(partition, keys.history_layout_key()) is not None:
            return 0
        tombstones = [
            (row, found)
            for row, found in self._range(partition, *keys.kind_range(keys.RECOVERY_POINT))
            if found.value.state is RecoveryPointState.DELETING
        ]
        moved, complete = 0, True
        for start in range(0, len(tombstones), MAX_BATCH // 3):
            chunk = tombstones[start : start + MAX_BATCH // 3]
            operations: list[_Op] = []
            for row, found in chunk:
                deleted_at = self.legacy_deleted_at.get(row, now)
                operations.append(_Op("delete", row, etag=found.etag))
                operations.extend(_into_audit(found.value, deleted_at))
            try:
                self._transact(partition, operations)
            except ConflictError:
                complete = False
                continue
            moved += len(chunk)
        if complete:
            self._transact(partition, [_Op("upsert", keys.history_layout_key(), 2)])
        return moved

    async def purge_deleted_history(self, vault: VaultRef, expired_before: datetime) -> int:
        self._fault("purge_deleted_history")
        partition = self.partition(vault)
        lower, upper = keys.audit_expired_before(expired_before)
        due = [(row, found.value) for row, found in self._range(partition, lower, upper)]
        for start in range(0, len(due), MAX_BATCH // 2):
            operations: list[_Op] = []
            for row, (instance, point_id) in due[start : start + MAX_BATCH // 2]:
                operations.append(_Op("delete", keys.deleted_recovery_point_key(instance, point_id)))
                operations.append(_Op("delete", row))
            try:
                self._transact(partition, operations)
            except ConcurrencyError:
                self._each_ignoring_gone(partition, operations)
        return len(due)

    def mark_deleted_in_place(self, vault: VaultRef, point: RecoveryPoint, deleted_at: datetime) -> None:
        """What an older version did on deletion: the point stays in the live range, marked
        ``Deleting``, and its expiry row goes (tests of the lazy migration build history so)."""
        partition = self.partition(vault)
        row = keys.recovery_point_key(point.instance, point.id)
        self._transact(
            partition,
            [
                _Op("merge", row, point.with_state(RecoveryPointState.DELETING), must_exist=True),
                _Op("delete", keys.expiry_key(point.expires_at, point.instance, point.id)),
            ],
        )
        self.legacy_deleted_at[row] = deleted_at

    def put_legacy_job(self, job: Job) -> None:
        """What an older version wrote for a job: its row alone, without index copies."""
        self._transact(self.partition(_vault_of(job)), [_Op("upsert", keys.job_key(job.id), job)])

    def _each_ignoring_gone(self, partition: str, operations: Sequence[_Op]) -> None:
        for operation in operations:
            try:
                self._transact(partition, [operation])
            except ConcurrencyError:
                continue

    # --- operations (API long-running operation records) ------------------------------------------

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
        self._fault("put_operation")
        if not operation_id or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in operation_id):
            raise ValueError("operation ids are URL-safe base64 without padding")
        row = keys.row_key("o", operation_id)
        value = (status, _json_copy(document))
        if create:
            op = _Op("create", row, value)
        elif etag is not None:
            op = _Op("replace", row, value, etag=etag)
        else:
            op = _Op("upsert", row, value)
        return self._transact(self.partition(vault), [op])[0]

    async def get_operation(self, vault: VaultRef, operation_id: str) -> Versioned[Mapping[str, Any]] | None:
        self._fault("get_operation")
        found = self._read(self.partition(vault), keys.row_key("o", operation_id))
        return Versioned(_frozen(found.value[1]), found.etag) if found else None

    # --- datasource claims ------------------------------------------------------------------------

    async def put_vault_overview(self, summary: VaultOverview) -> None:
        self._fault("put_vault_overview")
        self._transact(self.partition(summary.vault), [_Op("upsert", keys.overview_key(), _frozen(summary))])

    async def get_vault_overview(self, vault: VaultRef) -> VaultOverview | None:
        self._fault("get_vault_overview")
        row = self._read(self.partition(vault), keys.overview_key())
        return None if row is None else _frozen(row.value)

    async def put_vault_limits(self, vault: VaultRef, limits: VaultLimits) -> None:
        self._fault("put_vault_limits")
        self._transact(self.partition(vault), [_Op("upsert", keys.vault_limits_key(), limits)])

    async def get_vault_limits(self, vault: VaultRef) -> VaultLimits | None:
        self._fault("get_vault_limits")
        row = self._read(self.partition(vault), keys.vault_limits_key())
        return None if row is None else row.value

    async def get_datasource_claim(self, disk_id: str) -> Versioned[DatasourceClaim] | None:
        self._fault("get_datasource_claim")
        found = self._read(DATASOURCE_PARTITION, _claim_key(disk_id))
        return Versioned(found.value, found.etag) if found else None

    async def put_datasource_claim(self, claim: DatasourceClaim, etag: str | None = None) -> str:
        self._fault("put_datasource_claim")
        row = _claim_key(claim.disk_id)
        op = _Op("create", row, claim) if etag is None else _Op("replace", row, claim, etag=etag)
        return self._transact(DATASOURCE_PARTITION, [op])[0]

    async def release_datasource_claim(self, disk_id: str, vault: VaultRef, instance: str) -> None:
        self._fault("release_datasource_claim")
        current = await self.get_datasource_claim(disk_id)
        if current is None or not current.value.names(vault, instance):
            return
        try:
            self._transact(DATASOURCE_PARTITION, [_Op("delete", _claim_key(disk_id), etag=current.etag)])
        except ConcurrencyError:
            return

    # --- on-demand backup and restore ---------------------------------------------------------------

    async def accept_on_demand_backup(
        self, current: Versioned[BackupInstance], updated: BackupInstance, job: Job
    ) -> Versioned[BackupInstance]:
        self._fault("accept_on_demand_backup")
        operations, stored = _instance_ops(current, updated)
        operations += _job_ops(job, create=True)
        etags = self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, etags[0])

    async def get_restore_usage(
        self, vault: VaultRef, instance: str
    ) -> Versioned[tuple[datetime, ...]] | None:
        self._fault("get_restore_usage")
        found = self._read(self.partition(vault), _restore_usage_key(instance))
        return Versioned(found.value, found.etag) if found else None

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
        self._fault("accept_restore")
        times = tuple(at.astimezone(UTC) for at in recent_restores)
        usage_key = _restore_usage_key(instance)
        value = point.value
        leased = replace(value, in_use_until=in_use_until)
        try:
            self._transact(
                self.partition(vault),
                [
                    _Op("create", usage_key, times)
                    if usage is None
                    else _Op("replace", usage_key, times, etag=usage.etag),
                    *_job_ops(job, create=True),
                    _Op("merge", keys.recovery_point_key(instance, value.id), leased, etag=point.etag),
                    _Op(
                        "merge",
                        keys.expiry_key(value.expires_at, value.instance, value.id),
                        leased,
                        must_exist=True,
                    ),
                ],
            )
        except ConflictError as error:
            if usage is None and not isinstance(error, ConcurrencyError):
                raise ConcurrencyError("The restore count was created since it was read.") from error
            raise

    async def release_recovery_point(
        self, vault: VaultRef, point: RecoveryPoint, in_use_until: datetime
    ) -> None:
        self._fault("release_recovery_point")
        partition = self.partition(vault)
        for row in (
            keys.recovery_point_key(point.instance, point.id),
            keys.expiry_key(point.expires_at, point.instance, point.id),
        ):
            found = self._read(partition, row)
            held = found.value.in_use_until if found else None
            if found is None or held is None or abs((held - in_use_until).total_seconds()) >= 1:
                continue
            self._transact(
                partition, [_Op("replace", row, replace(found.value, in_use_until=None), etag=found.etag)]
            )


_STALE_INDEX = "stale"
"""What a job's index row under a status it left holds (the real adapter's stale marker)."""
_INDEX_FIELD_KEYS = {
    JobIndexField.STATUS: keys.JOB_INDEX_STATUS,
    JobIndexField.OPERATION: keys.JOB_INDEX_OPERATION,
    JobIndexField.INSTANCE: keys.JOB_INDEX_INSTANCE,
}


def _job_ops(job: Job, *, create: bool = False) -> list[_Op]:
    """The job and its index copies under its status, operation and instance; a finished job the
    API recorded InProgress leaves a stale marker under InProgress."""
    return [
        _Op("create" if create else "upsert", keys.job_key(job.id), job),
        *_job_index_ops(job),
        *(
            _Op("upsert", keys.job_index_key(keys.JOB_INDEX_STATUS, status.value, job.id), _STALE_INDEX)
            for status in job.superseded_statuses
        ),
    ]


def _job_index_ops(job: Job) -> list[_Op]:
    return [
        _Op("upsert", keys.job_index_key(keys.JOB_INDEX_STATUS, job.status.value, job.id), job),
        _Op("upsert", keys.job_index_key(keys.JOB_INDEX_OPERATION, job.operation.value, job.id), job),
        _Op("upsert", keys.job_index_key(keys.JOB_INDEX_INSTANCE, job.instance, job.id), job),
    ]


def _job_id_time(job_id: str) -> datetime:
    """The start time a job id encodes (its first 12 hex digits are inverted milliseconds)."""
    digits = job_id.replace("-", "")[:12]
    millis = (1 << 48) - 1 - int(digits, 16)
    return datetime.fromtimestamp(millis / 1000, UTC)
