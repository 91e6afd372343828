"""What on-demand backups and restores count against their daily limits, and restore leases.

Accepting a request is the API's one write: the count the limit reads (on the instance row for
on-demand backups; in its own ``q|{instance}`` row for restores, so a restore never races a
backup for the instance's ETag) and the InProgress job, atomically. A restore also leases its
recovery point (``InUseUntil``, on the point and its expiry-index copy) so retention skips it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from azure.data.tables import UpdateMode

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import TableStore, etag_of, merge_op, replace_op
from backup.adapters.tables.instance_index import instance_write_ops
from backup.adapters.tables.job_rows import job_write_ops
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.models import RecoveryPoint
from backup.domain.records import Versioned
from backup.errors import ConcurrencyError, ConflictError

_LEASE_MATCH_SECONDS = 1
"""How close a lease's stored time must be to this restore's to be this restore's lease."""


class UsageStore(TableStore):
    async def accept_on_demand_backup(
        self, current: Versioned[BackupInstance], updated: BackupInstance, job: Job
    ) -> Versioned[BackupInstance]:
        """The API's one write for an on-demand backup: the instance (with the request time it
        counts against the daily limit, if unchanged since read) and the InProgress job, atomically."""
        operations, stored = instance_write_ops(current, updated)
        operations += job_write_ops(job, create=True)
        results = await self._transact(self.partition(updated.vault), operations)
        return Versioned(stored, str(results[0]["etag"]))

    async def get_restore_usage(
        self, vault: VaultRef, instance: str
    ) -> Versioned[tuple[datetime, ...]] | None:
        """When the instance's recent restores were requested (RowKey ``q|{instance}``), with its ETag."""
        entity = await self._point(self.partition(vault), keys.restore_usage_key(instance))
        if entity is None:
            return None
        return Versioned(codecs.restore_usage_from(entity), etag_of(entity))

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
        usage_entity = codecs.restore_usage_entity(instance, recent_restores)
        value = point.value
        try:
            await self._transact(
                self.partition(vault),
                [
                    ("create", usage_entity) if usage is None else replace_op(usage_entity, usage.etag),
                    *job_write_ops(job, create=True),
                    merge_op(
                        {"RowKey": keys.recovery_point_key(instance, value.id), "InUseUntil": in_use_until},
                        point.etag,
                    ),
                    (
                        # An update, not an upsert: had retention removed the copy since the point was
                        # read, the restore loses the race instead of writing a partial expiry row.
                        "update",
                        {
                            "RowKey": keys.expiry_key(value.expires_at, value.instance, value.id),
                            "InUseUntil": in_use_until,
                        },
                        {"mode": UpdateMode.MERGE},
                    ),
                ],
            )
        except ConflictError as error:
            if usage is None and not isinstance(error, ConcurrencyError):
                # Another restore created the count after this one read its absence: a lost race
                # like any other (read again, check the limit again), not a conflict to report.
                raise ConcurrencyError("The restore count was created since it was read.") from error
            raise

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
            held = codecs.optional_time(entity.get("InUseUntil")) if entity else None
            if entity is None or held is None:
                return
            if abs((held - in_use_until).total_seconds()) >= _LEASE_MATCH_SECONDS:
                return
            released = {
                name: value
                for name, value in entity.items()
                if name not in ("InUseUntil", "PartitionKey", "Timestamp")
            }
            try:
                await self._transact(partition, [replace_op(released, etag_of(entity))])
            except ConcurrencyError:
                continue
            return
