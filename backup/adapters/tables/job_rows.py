"""The rows one job write puts in its vault's partition: the job and its index copies.

Every writer of a job (the worker's final transaction, a failure, retention's deletions, the
API's acceptance of a request, a restore's progress) builds its operations here, so the index
can never miss a writer. The index rows are whole copies of the job under
``k|{field}|{value}|{jobId}`` (``docs/storage.md``), written in the same entity-group
transaction as ``j|{jobId}``, so a filtered page needs no second read and the copies never
disagree with the job.

A status change cannot simply delete the old status row: the job may predate the index (no row
to delete), or a retried write may already have deleted it, and a delete of a missing row fails
the whole transaction. So the old row is overwritten with a small stale marker instead (an
upsert never fails); readers skip markers and the sweep removes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import Operation, upsert_op
from backup.adapters.tables.codecs import Entity
from backup.domain.jobs import Job, JobIndexField
from backup.domain.models import JobStatus

INDEX_KIND = "jobIndex"
"""``Kind`` of a live index copy; readers select only these (the server filters on it)."""
STALE_KIND = "staleJobIndex"
"""``Kind`` of the marker left where a job's previous status row was."""

FIELD_KEYS = {
    JobIndexField.STATUS: keys.JOB_INDEX_STATUS,
    JobIndexField.OPERATION: keys.JOB_INDEX_OPERATION,
    JobIndexField.INSTANCE: keys.JOB_INDEX_INSTANCE,
}

INDEX_ROWS_PER_JOB = len(FIELD_KEYS)
"""Index copies every job write adds to its transaction (a stale marker may add one more)."""


def job_write_ops(job: Job, *, create: bool = False) -> list[Operation]:
    """The job (``create``: insert, so a duplicate acceptance fails; else upsert, as a job's
    content is derived), its index copies, and a stale marker on each status it left."""
    entity = codecs.job_entity(job)
    return [
        ("create", entity) if create else upsert_op(entity),
        *job_index_ops(job, entity),
        *(upsert_op(stale_marker(status, job.id)) for status in job.superseded_statuses),
    ]


def job_index_ops(job: Job, entity: Entity | None = None) -> list[Operation]:
    """Upserts of the job's index copies (idempotent: a retried write writes the same rows)."""
    row = entity if entity is not None else codecs.job_entity(job)
    return [
        upsert_op({**row, "RowKey": keys.job_index_key(FIELD_KEYS[field], value, job.id), "Kind": INDEX_KIND})
        for field, value in indexed_values(job)
    ]


def indexed_values(job: Job) -> tuple[tuple[JobIndexField, str], ...]:
    return (
        (JobIndexField.STATUS, job.status.value),
        (JobIndexField.OPERATION, job.operation.value),
        (JobIndexField.INSTANCE, job.instance),
    )


def stale_marker(status: JobStatus, job_id: str) -> Entity:
    return {
        "RowKey": keys.job_index_key(keys.JOB_INDEX_STATUS, status.value, job_id),
        "Kind": STALE_KIND,
        "Id": job_id,
    }


def is_live_copy(entity: Mapping[str, Any]) -> bool:
    return entity.get("Kind") == INDEX_KIND
