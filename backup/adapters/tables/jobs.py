"""Jobs (``j|{jobId}``): ids sort newest first, so listing is a range and a time window narrows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import Operation, TableStore, upsert_op
from backup.adapters.tables.instance_index import instance_write_ops
from backup.domain.clock import MAX_INVERTED_MILLIS, epoch_millis
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.records import Versioned


def _inverted_prefix(value: int) -> str:
    digits = format(min(max(0, value), MAX_INVERTED_MILLIS), "012x")
    return f"{digits[:8]}-{digits[8:]}"


class JobStore(TableStore):
    async def put_job(self, job: Job) -> None:
        await self._transact(self.partition(codecs.vault_of(job)), [upsert_op(codecs.job_entity(job))])

    async def record_failure(
        self, current: Versioned[BackupInstance] | None, updated: BackupInstance | None, job: Job
    ) -> None:
        """A failed job, and the instance's health when it is known, in one transaction."""
        partition = self.partition(updated.vault if updated else codecs.vault_of(job))
        operations: list[Operation] = [upsert_op(codecs.job_entity(job))]
        if current is not None and updated is not None:
            operations[:0] = instance_write_ops(current, updated)[0]
        await self._transact(partition, operations)

    async def get_job(self, vault: VaultRef, job_id: str) -> Job | None:
        entity = await self._point(self.partition(vault), keys.job_key(job_id))
        return codecs.job_from(entity) if entity else None

    async def list_jobs(self, vault: VaultRef) -> list[Job]:
        lower, upper = keys.kind_range(keys.JOB)
        return [codecs.job_from(entity) async for entity in self._range(self.partition(vault), lower, upper)]

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
        if started_to is not None:
            moment = epoch_millis(started_to + timedelta(hours=margin_hours))
            lower = max(lower, keys.row_key(keys.JOB, _inverted_prefix(MAX_INVERTED_MILLIS - moment)))
        if started_from is not None:
            moment = epoch_millis(started_from - timedelta(hours=margin_hours))
            upper = min(upper, keys.row_key(keys.JOB, _inverted_prefix(MAX_INVERTED_MILLIS - moment + 1)))
        if after_id is not None:
            lower = max(lower, keys.job_key(after_id) + "\x00")
        if lower >= upper:
            return
        async for entity in self._range(self.partition(vault), lower, upper):
            yield codecs.job_from(entity)
