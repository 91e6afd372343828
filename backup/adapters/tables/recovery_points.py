"""Recovery points (``r|{instance}|{id}``) and their expiry index (``x|{expiresAt}|{instance}|{id}``).

A live point has a copy in the expiry index, keyed by when it expires, so retention reads only
what has expired. Points are born and die in the same transaction as the instance counts and
the jobs that record them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    Operation,
    TableStore,
    delete_op,
    etag_of,
    merge_op,
    replace_op,
    upsert_op,
)
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.models import RecoveryPoint, RecoveryPointState
from backup.domain.records import ExpiryEntry, Versioned
from backup.errors import ConcurrencyError


class RecoveryPointStore(TableStore):
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
                replace_op(codecs.instance_entity(updated), current.etag),
                ("create", codecs.recovery_point_entity(point, job.id)),
                ("create", codecs.expiry_entity(point)),
                upsert_op(codecs.job_entity(job)),
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
                replace_op(codecs.instance_entity(updated), current.etag),
                ("create", codecs.recovery_point_entity(point, None)),
                ("create", codecs.expiry_entity(point)),
            ],
        )
        return Versioned(updated, str(results[0]["etag"]))

    async def get_recovery_point(
        self, vault: VaultRef, instance: str, point_id: str
    ) -> Versioned[RecoveryPoint] | None:
        entity = await self._point(self.partition(vault), keys.recovery_point_key(instance, point_id))
        return Versioned(codecs.recovery_point_from(entity), etag_of(entity)) if entity else None

    async def list_recovery_points(
        self, vault: VaultRef, instance: str, *, include_deleted: bool = False
    ) -> list[RecoveryPoint]:
        """Newest first, because recovery point ids sort that way."""
        lower, upper = keys.kind_range(
            keys.RECOVERY_POINT, keys.validated_name(instance, what="backupInstance")
        )
        points = [
            codecs.recovery_point_from(entity)
            async for entity in self._range(self.partition(vault), lower, upper)
        ]
        return [p for p in points if include_deleted or p.state is not RecoveryPointState.DELETING]

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
        """Mark points deleted, drop their expiry rows, record the jobs and the instance's counts."""
        operations: list[Operation] = [replace_op(codecs.instance_entity(updated), current.etag)]
        for point, entry in deleted:
            marked = codecs.recovery_point_entity(point.with_state(RecoveryPointState.DELETING), None)
            marked["DeletedAt"] = deleted_at
            operations.append(merge_op(marked, None))
            if entry is not None:
                operations.append(delete_op(entry.row_key))
        operations.extend(upsert_op(codecs.job_entity(job)) for job in jobs)
        if len(operations) > MAX_BATCH:
            raise ValueError(f"record_deletions takes at most {MAX_BATCH} operations at once")
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(updated, str(results[0]["etag"]))

    async def delete_recovery_points(
        self, vault: VaultRef, points: Sequence[RecoveryPoint], jobs: Iterable[Job] = ()
    ) -> None:
        """Remove recovery point rows and their expiry rows (a point not yet ``Deleting`` has one),
        recording ``jobs`` in the same transaction. At most 33 points per call."""
        operations: list[Operation] = []
        for point in points:
            operations.append(delete_op(keys.recovery_point_key(point.instance, point.id)))
            if point.state is not RecoveryPointState.DELETING:
                operations.append(delete_op(keys.expiry_key(point.expires_at, point.instance, point.id)))
        operations.extend(upsert_op(codecs.job_entity(job)) for job in jobs)
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
