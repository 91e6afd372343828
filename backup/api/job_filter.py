"""The jobs ``$filter``: which index range a filter reads, and the exact check of every clause.

A filter reads one index (``docs/storage.md``: jobs are indexed by status, operation and
instance), the one expected to hold the fewest jobs; every clause is then checked exactly on
what it returns, so the choice changes the cost of a page, never its content.

``operation`` takes Azure's values (``Backup``, ``Restore``, ``RetentionDeletion``) and, so that
scripts written before the API showed them keep working, the stored kinds the index is keyed by
(``ScheduledBackup``, ``OnDemandBackup``): ``operation eq 'Backup'`` reads the ranges of both
backup kinds.
"""

from __future__ import annotations

from backup.api.odata import Comparison, compare, parse_time
from backup.domain.jobs import Job, JobIndexField, JobIndexScan
from backup.domain.models import JobOperation, JobStatus

_TIME_OPS = ("ge", "gt", "le", "lt")
FILTER_FIELDS = {
    "status": ("eq", "ne"),
    "operation": ("eq", "ne"),
    "operationCategory": ("eq", "ne"),
    "backupInstanceName": ("eq",),
    "isUserTriggered": ("eq",),
    "startTime": _TIME_OPS,
    "endTime": _TIME_OPS,
}

_SHARE = {
    # A rough share of a vault's jobs under each value (each field's sum to 12): scheduled
    # backups and their deletions are most jobs and nearly all complete; the rest are few.
    (JobIndexField.STATUS, JobStatus.COMPLETED.value): 9,
    (JobIndexField.STATUS, JobStatus.COMPLETED_WITH_WARNINGS.value): 1,
    (JobIndexField.STATUS, JobStatus.FAILED.value): 1,
    (JobIndexField.STATUS, JobStatus.IN_PROGRESS.value): 1,
    (JobIndexField.OPERATION, JobOperation.SCHEDULED_BACKUP.value): 5,
    (JobIndexField.OPERATION, JobOperation.RETENTION_DELETION.value): 5,
    (JobIndexField.OPERATION, JobOperation.ON_DEMAND_BACKUP.value): 1,
    (JobIndexField.OPERATION, JobOperation.RESTORE.value): 1,
}
_ALL = 12
"""The share of every value of a field: a scan of all of them narrows nothing, so ``j|`` is read."""
_ONE_INSTANCE = 0
"""One instance's jobs are a small share of a vault's; a value no job has costs nothing."""


def index_for(clauses: list[Comparison]) -> JobIndexScan | None:
    """The index range that holds every job the clauses can match and the fewest others, or
    ``None`` when no clause narrows the jobs (all of them are read, newest first)."""
    best: tuple[int, JobIndexScan] | None = None
    for clause in clauses:
        scan = _scan_for(clause)
        if scan is None:
            continue
        share = sum(_share(scan.field, value) for value in scan.values)
        if share < _ALL and (best is None or share < best[0]):
            best = (share, scan)
    return best[1] if best else None


def matches(job: Job, clause: Comparison) -> bool:
    if clause.field in ("startTime", "endTime"):
        moment = job.start_time if clause.field == "startTime" else job.end_time
        return moment is not None and compare(moment, clause.op, parse_time(clause.value))
    if clause.field == "isUserTriggered":
        return (clause.value.lower() == "true") == job.operation.is_user_triggered
    if clause.field == "operation":
        return _kept_operation(job.operation, clause.op, clause.value.lower())
    actual = {
        "status": job.status.value,
        "operationCategory": job.operation.operation_category,
        "backupInstanceName": job.instance,
    }[clause.field]
    return compare(actual.lower(), clause.op, clause.value.lower())


def _scan_for(clause: Comparison) -> JobIndexScan | None:
    wanted = clause.value.lower()
    if clause.field == "backupInstanceName":
        return JobIndexScan(JobIndexField.INSTANCE, (clause.value,))
    if clause.field == "status":
        values = [status.value for status in JobStatus if _kept(status.value.lower(), clause.op, wanted)]
        if clause.op == "eq" and not values:
            values = [clause.value]  # no job has it: its (empty) range answers that in one request
        return JobIndexScan(JobIndexField.STATUS, tuple(values))
    if clause.field == "operation":
        operations = [op for op in JobOperation if _kept_operation(op, clause.op, wanted)]
        if clause.op == "eq" and not operations:
            return JobIndexScan(JobIndexField.OPERATION, (clause.value,))
    elif clause.field == "operationCategory":
        operations = [op for op in JobOperation if _kept(op.operation_category.lower(), clause.op, wanted)]
    elif clause.field == "isUserTriggered":
        operations = [op for op in JobOperation if op.is_user_triggered == (wanted == "true")]
    else:
        return None
    return JobIndexScan(JobIndexField.OPERATION, tuple(op.value for op in operations))


def _kept(actual: str, op: str, wanted: str) -> bool:
    return (actual == wanted) == (op == "eq")


def _kept_operation(operation: JobOperation, op: str, wanted: str) -> bool:
    """Whether a job of this kind passes ``operation {op} '{wanted}'`` (``wanted`` lower-cased):
    a job is named by Azure's value and by its stored kind."""
    names = (operation.rest_value.lower(), operation.value.lower())
    return (wanted in names) == (op == "eq")


def _share(field: JobIndexField, value: str) -> int:
    if field is JobIndexField.INSTANCE:
        return _ONE_INSTANCE
    return _SHARE.get((field, value), 0)
