"""Jobs (``j|{jobId}``) and their index (``k|{field}|{value}|{jobId}``).

Ids sort newest first, so listing is a range and a time window narrows it. A filter on status,
operation or instance reads the index range of that value instead, so it costs O(matches), not
O(jobs): the index rows are whole copies of the job (``job_rows.py`` writes them with every job).
Jobs written before the index existed are indexed once per vault by the sweep
(:meth:`JobStore.index_legacy_jobs`); until then the vault's filtered listings scan ``j|`` as
before (correct, only slower).
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from functools import partial

from azure.data.tables import UpdateMode

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    Operation,
    TableStore,
    delete_op,
    etag_of,
    if_unchanged,
    upsert_op,
)
from backup.adapters.tables.codecs import Entity
from backup.adapters.tables.instance_index import instance_write_ops
from backup.adapters.tables.job_rows import (
    FIELD_KEYS,
    INDEX_ROWS_PER_JOB,
    STALE_KIND,
    is_live_copy,
    job_index_ops,
    job_write_ops,
)
from backup.domain.clock import MAX_INVERTED_MILLIS, epoch_millis
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import STATUSES_A_JOB_LEAVES, Job, JobIndexScan
from backup.domain.models import JobStatus
from backup.domain.records import Versioned
from backup.errors import ConcurrencyError, ValidationError

JOB_ID_MARGIN_HOURS = 48
"""A job id carries the time of the slot it was created for, which can be a little before the
job's actual start: time bounds on ids are widened by this much and checked exactly after."""

_BACKFILL_JOBS_PER_TRANSACTION = MAX_BATCH // (1 + INDEX_ROWS_PER_JOB)
"""Per job: an ETag check on its row (so a copy is never older than the job) and its copies."""


def _inverted_prefix(value: int) -> str:
    digits = format(min(max(0, value), MAX_INVERTED_MILLIS), "012x")
    return f"{digits[:8]}-{digits[8:]}"


def id_bounds(
    prefix: str,
    *,
    after_id: str | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    margin_hours: int = JOB_ID_MARGIN_HOURS,
) -> tuple[str, str]:
    """RowKey bounds, within the range of ``prefix`` (``j|`` or an index value's ``k|…|``), of
    the jobs after ``after_id`` whose id time could fall in the start-time window."""
    lower, upper = prefix, prefix[:-1] + keys.RANGE_END
    if started_to is not None:
        moment = epoch_millis(started_to + timedelta(hours=margin_hours))
        lower = max(lower, prefix + _inverted_prefix(MAX_INVERTED_MILLIS - moment))
    if started_from is not None:
        moment = epoch_millis(started_from - timedelta(hours=margin_hours))
        upper = min(upper, prefix + _inverted_prefix(MAX_INVERTED_MILLIS - moment + 1))
    if after_id is not None:
        lower = max(lower, prefix + keys.job_key(after_id).split(keys.SEPARATOR, 1)[1] + "\x00")
    return lower, upper


class JobStore(TableStore):
    async def put_job(self, job: Job) -> None:
        await self._transact(self.partition(codecs.vault_of(job)), job_write_ops(job))

    async def record_failure(
        self, current: Versioned[BackupInstance] | None, updated: BackupInstance | None, job: Job
    ) -> None:
        """A failed job, and the instance's health when it is known, in one transaction."""
        partition = self.partition(updated.vault if updated else codecs.vault_of(job))
        operations: list[Operation] = job_write_ops(job)
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
        margin_hours: int = JOB_ID_MARGIN_HOURS,
        index: JobIndexScan | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Job]:
        """Jobs newest first (by id), after ``after_id``, narrowed by start time as a RowKey range.

        ``index`` narrows them to the jobs whose field has one of its values, read from the index
        (once the vault's jobs are indexed; before that, every job comes back as without it).
        Either way callers check their filter exactly: the start-time bounds are widened by
        ``margin_hours``. ``page_size`` is how many jobs the caller expects to take, so the
        service sends about that many a round trip.
        """
        partition = self.partition(vault)
        bounds = partial(
            id_bounds,
            after_id=after_id,
            started_from=started_from,
            started_to=started_to,
            margin_hours=margin_hours,
        )
        if index is not None and await self.job_index_ready(vault):
            ranges = [bounds(prefix) for prefix in _index_prefixes(index)]
            reads = [self._index_range(partition, low, high, page_size) for low, high in ranges if low < high]
            async for entity in _newest_first(reads):
                yield codecs.job_from(entity)
            return
        lower, upper = bounds(keys.kind_range(keys.JOB)[0])
        if lower >= upper:
            return
        # Without the index, a filtered listing skips non-matching jobs: read in full round trips.
        round_trip = page_size if index is None else None
        async for entity in self._range(partition, lower, upper, page_size=round_trip):
            yield codecs.job_from(entity)

    async def count_failed_since(self, vault: VaultRef, since: datetime) -> int:
        """Failed jobs that started at or after ``since``: the index range of Failed jobs bounded
        by time, so O(failed jobs in the window) (a scan of that window of ``j|`` filtered on the
        server until the vault's jobs are indexed)."""
        partition = self.partition(vault)
        select = ["StartTime"]
        if await self.job_index_ready(vault):
            prefix = keys.kind_range(*keys.job_index_scope(keys.JOB_INDEX_STATUS, JobStatus.FAILED.value))[0]
            lower, upper = id_bounds(prefix, started_from=since)
            rows = self._index_range(partition, lower, upper, None, select=select)
        else:
            lower, upper = id_bounds(keys.kind_range(keys.JOB)[0], started_from=since)
            rows = self._query(
                "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper and Status eq @status",
                {"pk": partition, "lower": lower, "upper": upper, "status": JobStatus.FAILED.value},
                select=select,
            )
        return sum([1 async for entity in rows if codecs.aware(entity["StartTime"]) >= since])

    async def job_index_ready(self, vault: VaultRef) -> bool:
        """Whether every job of the vault has its index rows (the vault's marker row exists)."""
        marker = keys.job_index_marker_key(self.partition(vault))
        return await self._point(keys.SYSTEM_PARTITION, marker) is not None

    async def index_legacy_jobs(self, vault: VaultRef) -> int:
        """Give the jobs written before the index existed their index rows, once per vault.

        Each job's copies are written with an ETag check on the job row, so a job that changed
        meanwhile (its writer wrote its own copies) is read again rather than overwritten with an
        older copy. The marker is written only when every job was indexed; later sweeps pay one
        point read. Returns how many jobs were indexed."""
        if await self.job_index_ready(vault):
            return 0
        partition = self.partition(vault)
        indexed, complete = 0, True
        chunk: list[Entity] = []
        async for entity in self._range(partition, *keys.kind_range(keys.JOB)):
            chunk.append(entity)
            if len(chunk) == _BACKFILL_JOBS_PER_TRANSACTION:
                done, whole = await self._index_chunk(partition, chunk)
                indexed, complete, chunk = indexed + done, complete and whole, []
        if chunk:
            done, whole = await self._index_chunk(partition, chunk)
            indexed, complete = indexed + done, complete and whole
        if complete:
            marker = {"RowKey": keys.job_index_marker_key(partition), "Kind": "jobIndexComplete"}
            await self._transact(keys.SYSTEM_PARTITION, [upsert_op(marker)])
        return indexed

    async def purge_stale_job_index(self, vault: VaultRef) -> int:
        """Remove the markers status changes left in the index: they sit only in the ranges of
        statuses a job leaves (InProgress), which hold few rows. Returns how many were removed."""
        partition = self.partition(vault)
        stale: list[Operation] = []
        for status in STATUSES_A_JOB_LEAVES:
            lower, upper = keys.kind_range(*keys.job_index_scope(keys.JOB_INDEX_STATUS, status.value))
            stale.extend(
                [
                    delete_op(str(entity["RowKey"]), etag_of(entity))
                    async for entity in self._range(partition, lower, upper, select=["RowKey", "Kind"])
                    if entity.get("Kind") == STALE_KIND
                ]
            )
        for start in range(0, len(stale), MAX_BATCH):
            batch = stale[start : start + MAX_BATCH]
            try:
                await self._transact(partition, batch)
            except ConcurrencyError:
                # A job went back to InProgress, or another sweeper removed some first.
                for operation in batch:
                    try:
                        await self._transact(partition, [operation])
                    except ConcurrencyError:
                        continue
        return len(stale)

    async def _index_chunk(self, partition: str, chunk: Sequence[Entity]) -> tuple[int, bool]:
        try:
            await self._transact(partition, [op for entity in chunk for op in _backfill_ops(entity)])
            return len(chunk), True
        except ConcurrencyError:
            pass
        indexed, complete = 0, True
        for stale in chunk:
            entity = await self._point(partition, str(stale["RowKey"]))
            if entity is None:
                continue
            try:
                await self._transact(partition, _backfill_ops(entity))
            except ConcurrencyError:
                complete = False
                continue
            indexed += 1
        return indexed, complete

    async def _index_range(
        self,
        partition: str,
        lower: str,
        upper: str,
        page_size: int | None,
        *,
        select: Sequence[str] | None = None,
    ) -> AsyncIterator[Entity]:
        """Live index copies in a range, skipping stale markers. Markers sit only under a status
        jobs leave (InProgress), a few between sweeps, so they are skipped here rather than by a
        filter the service would evaluate on every row of the range."""
        columns = None if select is None else [*select, "Kind"]
        async for entity in self._range(partition, lower, upper, select=columns, page_size=page_size):
            if is_live_copy(entity):
                yield entity


def _backfill_ops(entity: Entity) -> list[Operation]:
    check: Operation = (
        "update",
        {"RowKey": str(entity["RowKey"])},
        {"mode": UpdateMode.MERGE, **if_unchanged(etag_of(entity))},
    )
    return [check, *job_index_ops(codecs.job_from(entity))]


def _index_prefixes(index: JobIndexScan) -> list[str]:
    """The RowKey prefix of each value's range; a value no job can have (not a valid name) has none."""
    prefixes = set()
    for value in index.values:
        try:
            scope = keys.job_index_scope(FIELD_KEYS[index.field], value)
        except ValidationError:
            continue
        prefixes.add(keys.kind_range(*scope)[0])
    return sorted(prefixes)


async def _newest_first(ranges: Sequence[AsyncIterator[Entity]]) -> AsyncIterator[Entity]:
    """Merge ranges that each come newest first (by job id) into one, newest first. A job has one
    value per field, so the ranges of one field never share a job."""
    heap: list[tuple[str, int, Entity]] = []
    for position, rows in enumerate(ranges):
        first = await anext(rows, None)
        if first is not None:
            heap.append((str(first["Id"]), position, first))
    heapq.heapify(heap)
    while heap:
        _, position, entity = heap[0]
        yield entity
        following = await anext(ranges[position], None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (str(following["Id"]), position, following))
