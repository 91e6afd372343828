"""Recovery points (``r|{instance}|{id}``) and their expiry index (``x|{expiresAt}|{instance}|{id}``).

A live point has a copy in the expiry index, keyed by when it expires, so retention reads only
what has expired. Points are born and die in the same transaction as the instance counts and
the jobs that record them.

Only live points stay in ``r|``: retention moves a deleted point to the audit range
``d|{instance}|{id}`` (with an audit-index row ``y|{expiresAt}|{instance}|{id}``) in the
transaction that records its deletion, so every live read costs O(live), not O(history).
Audit rows are removed :data:`~backup.domain.limits.DELETED_RECOVERY_POINT_AUDIT` after their
point expired (:meth:`RecoveryPointStore.purge_deleted_history`). Rows an older version marked
``Deleting`` in place are still filtered out of live reads, and the sweep moves them once per
vault (:meth:`RecoveryPointStore.move_legacy_tombstones`).

The API lists points a page at a time (:meth:`RecoveryPointStore.recovery_points_page`): one
range query from just after the last id served that stops once the page is full, so every page
costs the same; :meth:`RecoveryPointStore.list_recovery_points` reads them all, for the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    Operation,
    TableStore,
    delete_op,
    etag_of,
    upsert_op,
)
from backup.adapters.tables.instance_index import instance_write_ops
from backup.adapters.tables.job_rows import job_write_ops
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.models import RecoveryPoint, RecoveryPointState
from backup.domain.policy import policy_version
from backup.domain.records import ExpiryEntry, Versioned
from backup.errors import ConcurrencyError, ConflictError

POINT_TIME_MARGIN = timedelta(hours=48)
"""How far a point's ``created_at`` (the snapshot's creation time, from ARM) may lie from the
time its id is stamped with (the slot, or the on-demand request time). A scheduled snapshot
starts within :data:`~backup.domain.limits.BACKUP_START_WINDOW` of its slot and an on-demand
one when its queued request runs; ARM's clock may be a little off ours. Two days covers both
with room, as the jobs listing's margin does; the cost is the points of two days at each end
of a time-filtered listing, read and dropped by the exact check."""


class RecoveryPointStore(TableStore):
    async def record_backup(
        self,
        current: Versioned[BackupInstance],
        updated: BackupInstance,
        point: RecoveryPoint,
        job: Job,
    ) -> Versioned[BackupInstance]:
        """The worker's one write: recovery point, its expiry index row, the job (with its index
        rows) and the instance (with its index rows), in one transaction. The point records the
        instance's policy (:func:`under_policy`)."""
        operations, stored = instance_write_ops(current, updated)
        point = under_policy(point, updated)
        operations += [
            ("create", codecs.recovery_point_entity(point, job.id)),
            ("create", codecs.expiry_entity(point)),
            *job_write_ops(job),
        ]
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

    async def recover_point(
        self, current: Versioned[BackupInstance], updated: BackupInstance, point: RecoveryPoint
    ) -> Versioned[BackupInstance]:
        """Reconciliation's write: a recovery point rebuilt from snapshot tags, and the instance's counts."""
        operations, stored = instance_write_ops(current, updated)
        point = under_policy(point, updated)
        operations += [
            ("create", codecs.recovery_point_entity(point, None)),
            ("create", codecs.expiry_entity(point)),
        ]
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

    async def get_recovery_point(
        self, vault: VaultRef, instance: str, point_id: str
    ) -> Versioned[RecoveryPoint] | None:
        """A live point, or (a second point read, only when it is not live) a deleted one still
        kept for audit, in state ``Deleting``."""
        partition = self.partition(vault)
        entity = await self._point(partition, keys.recovery_point_key(instance, point_id))
        if entity is None:
            entity = await self._point(partition, keys.deleted_recovery_point_key(instance, point_id))
        return Versioned(codecs.recovery_point_from(entity), etag_of(entity)) if entity else None

    async def list_recovery_points(
        self, vault: VaultRef, instance: str, *, include_deleted: bool = False
    ) -> list[RecoveryPoint]:
        """Newest first, because recovery point ids sort that way. Live points are one range
        query over ``r|{instance}|``; ``include_deleted`` reads the audit range too."""
        name = keys.validated_name(instance, what="backupInstance")
        partition = self.partition(vault)
        points = [
            codecs.recovery_point_from(entity)
            async for entity in self._range(partition, *keys.kind_range(keys.RECOVERY_POINT, name))
        ]
        if not include_deleted:
            # Rows an older version marked deleted in place, until the sweep moves them.
            return [p for p in points if p.state is not RecoveryPointState.DELETING]
        audit = keys.kind_range(keys.DELETED_RECOVERY_POINT, name)
        points.extend([codecs.recovery_point_from(entity) async for entity in self._range(partition, *audit)])
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
        """One page of live points newest first: at most ``limit`` of them strictly after
        ``after_id`` (the last id the previous page served), created within
        ``[created_from, created_to]`` (inclusive), and whether more follow.

        One range query that stops after ``limit + 1`` matching rows, asking the service for
        about that many per round trip, so page k costs what page 1 costs. The time window
        narrows the key range through the time stamped in the ids, widened by
        :data:`POINT_TIME_MARGIN`; ``created_at`` is then checked exactly.
        """
        lower, upper = keys.recovery_points_range(
            instance,
            after_id=after_id,
            stamped_from=created_from - POINT_TIME_MARGIN if created_from is not None else None,
            stamped_to=created_to + POINT_TIME_MARGIN if created_to is not None else None,
        )
        page: list[RecoveryPoint] = []
        if lower >= upper:
            return page, False
        partition = self.partition(vault)
        columns = codecs.RECOVERY_POINT_COLUMNS
        async for entity in self._range(partition, lower, upper, select=columns, page_size=limit + 1):
            point = codecs.recovery_point_from(entity)
            if point.state is RecoveryPointState.DELETING:
                continue  # left in the live range by an older version, until the sweep moves it
            if created_from is not None and point.created_at < created_from:
                continue
            if created_to is not None and point.created_at > created_to:
                continue
            if len(page) == limit:
                return page, True
            page.append(point)
        return page, False

    async def expired(self, vault: VaultRef, now: datetime) -> list[ExpiryEntry]:
        """Only the expiry-index rows at or before ``now``: history is never read."""
        lower, upper = keys.expired_before(now)
        return [
            ExpiryEntry(codecs.recovery_point_from(entity), entity["RowKey"])
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
        """Move points out of the live range into the audit range, drop their expiry rows, record
        the jobs and the instance's counts. A point another writer already moved fails the whole
        transaction (404 on its live row: :class:`ConcurrencyError`; 409 on its audit row)."""
        operations, stored = instance_write_ops(current, updated)
        for point, entry in deleted:
            operations.append(delete_op(keys.recovery_point_key(point.instance, point.id)))
            operations.extend(_into_audit(point, deleted_at))
            if entry is not None:
                operations.append(delete_op(entry.row_key))
        operations.extend(op for job in jobs for op in job_write_ops(job))
        if len(operations) > MAX_BATCH:
            raise ValueError(f"record_deletions takes at most {MAX_BATCH} operations at once")
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

    async def delete_recovery_points(
        self, vault: VaultRef, points: Sequence[RecoveryPoint], jobs: Iterable[Job] = ()
    ) -> None:
        """Remove recovery points for good: a live point's row and expiry row, a deleted point's
        audit rows (or, from an older version, its row left in the live range), recording ``jobs``
        in the same transaction. At most :data:`RECOVERY_POINTS_PER_TABLE_TRANSACTION` points."""
        operations: list[Operation] = []
        legacy: list[Operation] = []
        for point in points:
            if point.state is RecoveryPointState.DELETING:
                audit_index = keys.audit_expiry_key(point.expires_at, point.instance, point.id)
                operations.append(delete_op(keys.deleted_recovery_point_key(point.instance, point.id)))
                operations.append(delete_op(audit_index))
                legacy.append(delete_op(keys.recovery_point_key(point.instance, point.id)))
            else:
                operations.append(delete_op(keys.recovery_point_key(point.instance, point.id)))
                operations.append(delete_op(keys.expiry_key(point.expires_at, point.instance, point.id)))
        operations.extend(op for job in jobs for op in job_write_ops(job))
        if len(operations) > MAX_BATCH:
            raise ValueError(f"delete_recovery_points takes at most {MAX_BATCH} operations at once")
        if not operations:
            return
        partition = self.partition(vault)
        try:
            await self._transact(partition, operations)
        except ConcurrencyError:
            # A row was already gone (a 404 fails the whole transaction), or a deleted point is
            # still where an older version left it: go one by one.
            await self._each_ignoring_gone(partition, [*operations, *legacy])

    async def move_legacy_tombstones(self, vault: VaultRef, *, now: datetime) -> int:
        """Move the points an older version marked deleted in the live range to the audit range.

        Once per vault: a marker row records that the vault's live range holds only live points,
        so later sweeps pay one point read. The scan filters on ``State`` on the server, so only
        the tombstones travel. A chunk another sweeper moved first is left to it, and the marker
        waits for a sweep that finds nothing left to move."""
        partition = self.partition(vault)
        if await self._point(partition, keys.history_layout_key()) is not None:
            return 0
        lower, upper = keys.kind_range(keys.RECOVERY_POINT)
        tombstones = [
            entity
            async for entity in self._query(
                "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper and State eq @state",
                {"pk": partition, "lower": lower, "upper": upper, "state": RecoveryPointState.DELETING.value},
            )
        ]
        moved, complete = 0, True
        per_point = 3
        for start in range(0, len(tombstones), MAX_BATCH // per_point):
            chunk = tombstones[start : start + MAX_BATCH // per_point]
            operations: list[Operation] = []
            for entity in chunk:
                point = codecs.recovery_point_from(entity)
                deleted_at = codecs.optional_time(entity.get("DeletedAt")) or now
                operations.append(delete_op(str(entity["RowKey"]), etag_of(entity)))
                operations.extend(_into_audit(point, deleted_at))
            try:
                await self._transact(partition, operations)
            except ConflictError:
                complete = False
                continue
            moved += len(chunk)
        if complete:
            await self._transact(
                partition, [upsert_op({"RowKey": keys.history_layout_key(), "Kind": "layout", "Version": 2})]
            )
        return moved

    async def purge_deleted_history(self, vault: VaultRef, expired_before: datetime) -> int:
        """Remove the audit rows of deleted points that expired at or before ``expired_before``:
        one range query over the audit index, which returns exactly those."""
        partition = self.partition(vault)
        lower, upper = keys.audit_expired_before(expired_before)
        due = [
            (str(entity["Instance"]), str(entity["Id"]), str(entity["RowKey"]))
            async for entity in self._range(partition, lower, upper, select=["RowKey", "Instance", "Id"])
        ]
        per_point = 2
        for start in range(0, len(due), MAX_BATCH // per_point):
            operations: list[Operation] = []
            for instance, point_id, index_row in due[start : start + MAX_BATCH // per_point]:
                operations.append(delete_op(keys.deleted_recovery_point_key(instance, point_id)))
                operations.append(delete_op(index_row))
            try:
                await self._transact(partition, operations)
            except ConcurrencyError:
                # Another sweeper purged some of them first.
                await self._each_ignoring_gone(partition, operations)
        return len(due)

    async def _each_ignoring_gone(self, partition: str, operations: Sequence[Operation]) -> None:
        for operation in operations:
            try:
                await self._transact(partition, [operation])
            except ConcurrencyError:
                continue


def under_policy(point: RecoveryPoint, instance: BackupInstance) -> RecoveryPoint:
    """The point as stored: with the policy its instance is under as it is recorded, and that
    policy's version (unless it names one), so a page of points answers ``policyName`` and
    ``policyVersion`` without reading the instance."""
    if point.policy_name is not None:
        return point
    return replace(
        point, policy_name=instance.policy_name, policy_version=policy_version(instance.policy_document)
    )


def _into_audit(point: RecoveryPoint, deleted_at: datetime) -> list[Operation]:
    """The inserts that keep a deleted point for audit: its row in ``d|`` and its audit-index row."""
    row = codecs.recovery_point_entity(point.with_state(RecoveryPointState.DELETING), None)
    row["RowKey"] = keys.deleted_recovery_point_key(point.instance, point.id)
    row["Kind"] = "deletedRecoveryPoint"
    row["DeletedAt"] = deleted_at
    index = {
        "RowKey": keys.audit_expiry_key(point.expires_at, point.instance, point.id),
        "Kind": "auditExpiry",
        "Instance": point.instance,
        "Id": point.id,
    }
    return [("create", row), ("create", index)]
