"""Backup instances and their planner rows (``i|{instance}`` and ``i|{instance}|plan``).

The two rows of an instance are written by different writers (the API and the worker write
the instance, the planner its plan row), so their ETags do not collide; one range over ``i|``
reads both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.data.tables import UpdateMode

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    Operation,
    TableStore,
    delete_op,
    etag_of,
    merge_op,
)
from backup.adapters.tables.instance_index import instance_delete_ops, instance_write_ops
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState, Versioned
from backup.errors import ConcurrencyError, ConflictError


class InstanceStore(TableStore):
    async def create_instance(self, instance: BackupInstance, plan: PlanState) -> Versioned[BackupInstance]:
        operations, stored = instance_write_ops(None, instance)
        operations.append(("create", codecs.plan_entity(plan)))
        results = await self._transact(self.partition(instance.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

    async def get_instance(self, vault: VaultRef, name: str) -> Versioned[BackupInstance] | None:
        entity = await self._point(self.partition(vault), keys.instance_key(name))
        if entity is None:
            return None
        return Versioned(codecs.instance_from(vault, entity), etag_of(entity))

    async def update_instance(
        self, current: Versioned[BackupInstance], updated: BackupInstance, plan: PlanState | None = None
    ) -> Versioned[BackupInstance]:
        """Replace the instance row (and, when the schedule changed, its plan row) atomically."""
        operations, stored = instance_write_ops(current, updated)
        if plan is not None:
            operations.append(merge_op(codecs.plan_entity(plan), None))
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

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
            Versioned(codecs.instance_from(vault, entity), etag_of(entity))
            async for entity in self._query(filter_text, parameters)
        ]

    async def instances_page(
        self, vault: VaultRef, *, after: str | None = None, limit: int, deleted: bool = False
    ) -> tuple[list[BackupInstance], bool]:
        """Up to ``limit`` visible (or, with ``deleted``, soft-deleted) instances whose name sorts
        after ``after`` (lower case), by name, and whether more follow: one range query that
        stops after ``limit + 1`` rows, so a page costs the same wherever it starts."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        filter_text = "PartitionKey eq @pk and RowKey gt @lower and RowKey lt @upper and Kind eq 'instance'"
        filter_text += " and ProtectionState eq @deleted" if deleted else " and ProtectionState ne @deleted"
        parameters: dict[str, Any] = {
            "pk": self.partition(vault),
            "lower": keys.instance_key(after) if after is not None else lower,
            "upper": upper,
            "deleted": ProtectionState.SOFT_DELETED.value,
        }
        found: list[BackupInstance] = []
        async for entity in self._query(filter_text, parameters, page_size=limit + 1):
            if len(found) == limit:
                return found, True
            found.append(codecs.instance_from(vault, entity))
        return found, False

    async def instance_names(self, vault: VaultRef, *, policy: str | None = None) -> list[str]:
        """Names of the vault's backup instances, optionally only those bound to ``policy`` (any case)."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        names = []
        async for entity in self._range(
            self.partition(vault), lower, upper, select=["RowKey", "Name", "PolicyName"]
        ):
            if keys.is_plan_key(str(entity["RowKey"])):
                continue
            if policy is None or str(entity.get("PolicyName") or "").lower() == policy.lower():
                names.append(str(entity.get("Name") or entity["RowKey"].split(keys.SEPARATOR)[1]))
        return names

    async def delete_instance(self, current: Versioned[BackupInstance]) -> None:
        """Remove the instance row (only if unchanged since read) and its planner row, together."""
        instance = current.value
        partition = self.partition(instance.vault)
        operations = instance_delete_ops(current)
        if await self._point(partition, keys.plan_key(instance.name)) is not None:
            operations.append(delete_op(keys.plan_key(instance.name)))
        await self._transact(partition, operations)

    # --- the planner's view ---------------------------------------------------------------------

    async def instances_with_plans(
        self, vault: VaultRef
    ) -> list[tuple[Versioned[BackupInstance] | None, Versioned[PlanState] | None]]:
        """Every instance of the vault with its planner row: one range query, paged by 1000."""
        lower, upper = keys.kind_range(keys.INSTANCE)
        rows: dict[str, list[Any]] = {}
        async for entity in self._range(self.partition(vault), lower, upper):
            name_key = entity["RowKey"].split(keys.SEPARATOR)[1]
            pair = rows.setdefault(name_key, [None, None])
            if keys.is_plan_key(entity["RowKey"]):
                pair[1] = Versioned(codecs.plan_from(entity), etag_of(entity))
            else:
                pair[0] = Versioned(codecs.instance_from(vault, entity), etag_of(entity))
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
                    partition, [merge_op(codecs.plan_entity(plan.value), plan.etag) for plan in batch]
                )
                written += len(batch)
            except (ConcurrencyError, ConflictError):
                for plan in batch:
                    try:
                        await self._transact(partition, [merge_op(codecs.plan_entity(plan.value), plan.etag)])
                        written += 1
                    except (ConcurrencyError, ConflictError):
                        continue
        return written

    async def mark_plans_sent(
        self, vault: VaultRef, sent: Sequence[tuple[str, datetime]], at: datetime
    ) -> int:
        """Merge the sent columns into planner rows in batches of 100, without an ETag (the
        planner may not hold the row's newest one); a batch with a vanished row goes row by row."""
        marked = 0
        partition = self.partition(vault)

        def mark(instance: str, slot: datetime) -> Operation:
            # "update" (not upsert): a row deleted meanwhile stays deleted.
            return ("update", codecs.plan_sent_entity(instance, slot, at), {"mode": UpdateMode.MERGE})

        for start in range(0, len(sent), MAX_BATCH):
            batch = sent[start : start + MAX_BATCH]
            try:
                await self._transact(partition, [mark(instance, slot) for instance, slot in batch])
                marked += len(batch)
            except (ConcurrencyError, ConflictError):
                for instance, slot in batch:
                    try:
                        await self._transact(partition, [mark(instance, slot)])
                        marked += 1
                    except (ConcurrencyError, ConflictError):
                        continue
        return marked
