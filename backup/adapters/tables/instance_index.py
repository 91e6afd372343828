"""The instance index: rows ``n|h|{health}|{instance}`` and ``n|s|{protectionStatus}|{instance}``
in the vault's partition, so a list filtered on health or protection status reads the rows that
match, not the vault.

Every write of an instance row goes through :func:`instance_write_ops`, which puts the index rows
in the same entity-group transaction: the index can never disagree with the rows it indexes. The
instance row records which index rows it has (``IndexKeysJson``, carried on the domain object as
``stored_index``), so a write removes exactly those that no longer apply; a row written before the
index existed records none and has none, until the vault's one-time backfill
(:meth:`InstanceIndexStore.backfill_instance_index`) indexes it and writes the marker
``v|instance-index``. Until then the lists read that vault the old way. The backfill also gives
such a row the ``OldestPointAt`` it never had, so the overview's oldest restorable point is
known without waiting for retention to delete that instance's points.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    Operation,
    TableStore,
    delete_op,
    etag_of,
    replace_op,
    upsert_op,
)
from backup.adapters.tables.codecs import Entity
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.instance_status import instance_health, status_bucket
from backup.domain.models import RecoveryPointState
from backup.domain.records import Versioned
from backup.errors import ConcurrencyError, ConflictError

INDEX_ROWS_PER_INSTANCE = 2
"""A visible instance has a health row and a status row; a soft-deleted one only its status row."""
INDEX_OPERATIONS_PER_WRITE = 2 * INDEX_ROWS_PER_INSTANCE
"""At most what :func:`instance_write_ops` adds to a transaction: a delete and an insert per row."""


def index_keys(instance: BackupInstance) -> tuple[str, ...]:
    """The index rows an instance in this state has."""
    found = [
        keys.instance_index_key(keys.STATUS_INDEX, status_bucket(instance.protection_state), instance.name)
    ]
    if not instance.is_soft_deleted:
        health = instance_health(instance, active=instance.protection_state.takes_scheduled_backups)
        found.append(keys.instance_index_key(keys.HEALTH_INDEX, health, instance.name))
    return tuple(sorted(found))


def index_entity(row: str, instance: BackupInstance) -> Entity:
    return {"RowKey": row, "Kind": "instanceindex", "Instance": instance.name}


def instance_write_ops(
    current: Versioned[BackupInstance] | None, updated: BackupInstance
) -> tuple[list[Operation], BackupInstance]:
    """The operations that write ``updated`` over ``current`` (``None``: create it), and the
    instance as stored. The first operation is the instance row's (its result carries the ETag);
    the index rows follow, only those that changed."""
    new = index_keys(updated)
    stored = replace(updated, stored_index=new)
    entity = codecs.instance_entity(stored)
    operations: list[Operation] = [
        ("create", entity) if current is None else replace_op(entity, current.etag)
    ]
    old = set(current.value.stored_index or ()) if current is not None else set()
    operations.extend(delete_op(row) for row in sorted(old - set(new)))
    operations.extend(upsert_op(index_entity(row, updated)) for row in new if row not in old)
    return operations, stored


def instance_delete_ops(current: Versioned[BackupInstance]) -> list[Operation]:
    """Remove the instance row (only if unchanged since read) and its index rows."""
    return [
        delete_op(keys.instance_key(current.value.name), current.etag),
        *(delete_op(row) for row in current.value.stored_index or ()),
    ]


class InstanceIndexStore(TableStore):
    async def instance_index_ready(self, vault: VaultRef) -> bool:
        """Whether every instance row of the vault has its index rows (the backfill's marker)."""
        return await self._point(self.partition(vault), keys.instance_index_layout_key()) is not None

    async def indexed_instances_page(
        self, vault: VaultRef, *, field: str, value: str, after: str | None = None, limit: int
    ) -> tuple[list[BackupInstance], bool]:
        """Up to ``limit`` instances under ``value`` of an index ``field`` (``h`` or ``s``) named
        after ``after`` (lower case), by name, and whether more follow: one range over the index
        (about ``limit`` rows), then a point read of each instance. An instance that changed
        between the two reads is skipped when it no longer has that index row."""
        lower, upper = keys.instance_index_range(field, value)
        if after is not None:
            lower = keys.instance_index_key(field, value, after) + "\x00"
        partition = self.partition(vault)
        names: list[str] = []
        more = False
        async for entity in self._range(partition, lower, upper, select=["Instance"], page_size=limit + 1):
            if len(names) == limit:
                more = True
                break
            names.append(str(entity["Instance"]))
        rows = await asyncio.gather(*(self._point(partition, keys.instance_key(name)) for name in names))
        prefix = keys.instance_index_range(field, value)[0]
        found = []
        for row in rows:
            if row is None:
                continue
            instance = codecs.instance_from(vault, row)
            if any(key.startswith(prefix) for key in index_keys(instance)):
                found.append(instance)
        return found, more

    async def backfill_instance_index(self, vault: VaultRef) -> int:
        """Index the vault's instance rows written before the index, then write the marker.

        Each instance row is replaced (with its ETag) in the transaction that inserts its index
        rows, 33 instances a transaction. A row that holds points but no ``OldestPointAt`` (every
        row from before the column, and one a backup of this version has since rewritten, which
        could not know it) gets it from its live points in the same write. A chunk that lost a
        race (a writer changed a row meanwhile) is left for the next sweep, and so is the marker.
        Returns how many instance rows it rewrote."""
        partition = self.partition(vault)
        if await self._point(partition, keys.instance_index_layout_key()) is not None:
            return 0
        lower, upper = keys.kind_range(keys.INSTANCE)
        pending = [
            Versioned(codecs.instance_from(vault, entity), etag_of(entity))
            async for entity in self._query(
                "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper and Kind eq 'instance'",
                {"pk": partition, "lower": lower, "upper": upper},
            )
            if not entity.get("IndexKeysJson") or _oldest_point_unknown(entity)
        ]
        per_instance = 1 + INDEX_ROWS_PER_INSTANCE
        indexed, complete = 0, True
        for start in range(0, len(pending), MAX_BATCH // per_instance):
            chunk = pending[start : start + MAX_BATCH // per_instance]
            # Read after the instance rows, so a point added or deleted since changed the row's
            # ETag and the chunk's write fails rather than storing a stale time.
            updated = await asyncio.gather(*(self._with_oldest_point(partition, row.value) for row in chunk))
            operations = [
                op
                for current, new in zip(chunk, updated, strict=True)
                for op in instance_write_ops(current, new)[0]
            ]
            try:
                await self._transact(partition, operations)
            except (ConcurrencyError, ConflictError):
                complete = False
                continue
            indexed += len(chunk)
        if complete:
            await self._transact(partition, [upsert_op(codecs.instance_index_marker())])
        return indexed

    async def _with_oldest_point(self, partition: str, instance: BackupInstance) -> BackupInstance:
        """``instance`` with ``OldestPointAt`` set from its live points when it holds some and has none."""
        if instance.live_recovery_points == 0 or instance.health.oldest_point_at is not None:
            return instance
        oldest = await self._oldest_live_point_at(partition, instance.name)
        return replace(instance, health=replace(instance.health, oldest_point_at=oldest))

    async def _oldest_live_point_at(self, partition: str, instance: str) -> datetime | None:
        """When the instance's oldest live point was taken. Ids sort newest first, so the oldest
        is at the end of ``r|{instance}|``, which Tables cannot read backwards: the range is read
        with just the two columns needed, once per instance and only by the backfill (O(live);
        deleted history lives in ``d|`` and is not read)."""
        oldest: datetime | None = None
        live_range = keys.kind_range(keys.RECOVERY_POINT, instance)
        async for entity in self._range(partition, *live_range, select=["CreatedAt", "State"]):
            if entity.get("State") == RecoveryPointState.DELETING.value:
                continue  # left in the live range by an older version, until the sweep moves it
            created = codecs.aware(entity["CreatedAt"])
            if oldest is None or created < oldest:
                oldest = created
        return oldest


def _oldest_point_unknown(entity: Entity) -> bool:
    return int(entity.get("LiveRecoveryPoints") or 0) > 0 and entity.get("OldestPointAt") is None
