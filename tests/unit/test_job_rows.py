"""The rows one job write puts in its transaction, and that no writer builds them another way."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.job_rows import INDEX_KIND, STALE_KIND, job_write_ops
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, JobStatus

BACKUP = Path(__file__).resolve().parents[2] / "backup"
T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
VAULT_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v"


def job(operation: JobOperation, status: JobStatus = JobStatus.IN_PROGRESS) -> Job:
    return Job(
        id=job_id(T0, operation.value),
        vault_id=VAULT_ID,
        instance="Disk-A-Instance",
        operation=operation,
        status=status,
        start_time=T0,
    )


def test_a_job_is_written_with_a_whole_copy_under_each_indexed_value() -> None:
    done = job(JobOperation.SCHEDULED_BACKUP).completed(T0 + timedelta(minutes=2))
    ops = job_write_ops(done)
    entity = codecs.job_entity(done)
    assert [(kind, row["RowKey"]) for kind, row, *_ in ops] == [
        ("upsert", keys.job_key(done.id)),
        ("upsert", f"k|s|completed|{done.id}"),
        ("upsert", f"k|o|scheduledbackup|{done.id}"),
        ("upsert", f"k|i|disk-a-instance|{done.id}"),
    ]
    for _, copy, *_ in ops[1:]:
        assert {**copy, "RowKey": entity["RowKey"], "Kind": entity["Kind"]} == entity
        assert copy["Kind"] == INDEX_KIND


def test_an_accepted_job_is_inserted_so_a_duplicate_fails() -> None:
    ops = job_write_ops(job(JobOperation.RESTORE), create=True)
    assert [kind for kind, *_ in ops] == ["create", "upsert", "upsert", "upsert"]


def test_a_finished_user_job_marks_its_in_progress_row_stale() -> None:
    finished = job(JobOperation.ON_DEMAND_BACKUP).failed(T0, "Boom", "it broke")
    *_, (kind, marker, *_) = job_write_ops(finished)
    assert kind == "upsert"
    assert marker == {"RowKey": f"k|s|inprogress|{finished.id}", "Kind": STALE_KIND, "Id": finished.id}


def test_jobs_written_once_at_their_end_leave_no_marker() -> None:
    for operation in (JobOperation.SCHEDULED_BACKUP, JobOperation.RETENTION_DELETION):
        assert len(job_write_ops(job(operation).completed(T0))) == 4
    assert len(job_write_ops(job(JobOperation.RESTORE))) == 4  # still InProgress: nothing left


def test_only_the_job_rows_module_builds_job_rows() -> None:
    """Every writer gets its job operations from ``job_write_ops``, so none can skip the index."""
    builders = {"job_rows.py", "codecs.py"}
    offenders = []
    for path in BACKUP.rglob("*.py"):
        if path.name in builders:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute | ast.Name) and "job_entity" in ast.unparse(node):
                offenders.append(f"{path.relative_to(BACKUP)}:{node.lineno}")
    assert offenders == []
