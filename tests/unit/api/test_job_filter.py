"""Which job index a ``$filter`` reads: a range that holds every job the filter can match."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backup.api.job_filter import FILTER_FIELDS, index_for, matches
from backup.api.odata import parse_filter
from backup.domain.jobs import Job, JobIndexField, JobIndexScan, job_id
from backup.domain.models import JobOperation, JobStatus

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def chosen(text: str) -> JobIndexScan | None:
    return index_for(parse_filter(text, FILTER_FIELDS))


def test_an_instance_is_the_narrowest_index() -> None:
    scan = chosen("status eq 'Completed' and backupInstanceName eq 'disk-a' and operation eq 'Restore'")
    assert scan == JobIndexScan(JobIndexField.INSTANCE, ("disk-a",))


def test_a_rare_status_beats_a_common_operation() -> None:
    scan = chosen("operation eq 'ScheduledBackup' and status eq 'failed'")
    assert scan == JobIndexScan(JobIndexField.STATUS, ("Failed",))


def test_a_rare_operation_beats_a_common_status() -> None:
    scan = chosen("status eq 'Completed' and operation eq 'OnDemandBackup'")
    assert scan == JobIndexScan(JobIndexField.OPERATION, ("OnDemandBackup",))


def test_a_category_and_user_triggered_read_their_operations() -> None:
    restore = chosen("operationCategory eq 'restore'")
    user = chosen("isUserTriggered eq true")
    assert restore == JobIndexScan(JobIndexField.OPERATION, ("Restore",))
    assert user == JobIndexScan(JobIndexField.OPERATION, ("OnDemandBackup", "Restore"))


def test_azures_backup_value_reads_both_stored_backup_kinds() -> None:
    # Jobs are stored and indexed by kind (written before the API showed Azure's values, too):
    # Azure's one "Backup" reads the ranges of both kinds, so no stored job needs rewriting.
    assert chosen("operation eq 'backup'") == JobIndexScan(
        JobIndexField.OPERATION, ("ScheduledBackup", "OnDemandBackup")
    )
    others = JobIndexScan(JobIndexField.OPERATION, ("Restore", "RetentionDeletion"))
    assert chosen("operation ne 'Backup'") == others
    assert chosen("operation eq 'Backup' and isUserTriggered eq true") == JobIndexScan(
        JobIndexField.OPERATION, ("OnDemandBackup", "Restore")
    )


def test_a_job_matches_azures_operation_value_and_its_stored_kind() -> None:
    job = Job(
        id=job_id(T0, "x"),
        vault_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v",
        instance="disk-a",
        operation=JobOperation.ON_DEMAND_BACKUP,
        status=JobStatus.COMPLETED,
        start_time=T0,
    )

    def passes(text: str) -> bool:
        return all(matches(job, clause) for clause in parse_filter(text, FILTER_FIELDS))

    assert passes("operation eq 'Backup'")
    assert passes("operation eq 'OnDemandBackup'")
    assert not passes("operation eq 'ScheduledBackup'")
    assert not passes("operation ne 'Backup'")
    assert passes("operation ne 'Restore'")


def test_not_equal_reads_the_other_values() -> None:
    scan = chosen("status ne 'Completed'")
    assert scan == JobIndexScan(JobIndexField.STATUS, ("InProgress", "CompletedWithWarnings", "Failed"))


@pytest.mark.parametrize("text", ["", "startTime ge '2026-01-01'", "status ne 'Bogus'"])
def test_a_filter_that_narrows_little_reads_every_job(text: str) -> None:
    assert chosen(text) is None


def test_a_value_no_job_has_reads_its_empty_range() -> None:
    assert chosen("status eq 'Bogus'") == JobIndexScan(JobIndexField.STATUS, ("Bogus",))
    assert chosen("operationCategory eq 'Bogus'") == JobIndexScan(JobIndexField.OPERATION, ())


@pytest.mark.parametrize(
    "text",
    [
        "status eq 'Failed'",
        "status ne 'Completed'",
        "operation eq 'Restore'",
        "operation ne 'ScheduledBackup'",
        "operation eq 'Backup'",
        "operation ne 'Backup'",
        "operation eq 'Backup' and isUserTriggered eq false",
        "operationCategory eq 'Backup'",
        "operationCategory ne 'Backup'",
        "isUserTriggered eq false",
        "backupInstanceName eq 'Disk-A'",
    ],
)
def test_the_chosen_range_holds_every_job_the_filter_matches(text: str) -> None:
    clauses = parse_filter(text, FILTER_FIELDS)
    scan = index_for(clauses)
    assert scan is not None
    for operation in JobOperation:
        for status in JobStatus:
            job = Job(
                id=job_id(T0, operation, status),
                vault_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v",
                instance="disk-a",
                operation=operation,
                status=status,
                start_time=T0,
            )
            value = {
                JobIndexField.STATUS: status.value,
                JobIndexField.OPERATION: operation.value,
                JobIndexField.INSTANCE: "disk-a",
            }[scan.field]
            in_range = value.lower() in {v.lower() for v in scan.values}
            if all(matches(job, clause) for clause in clauses):
                assert in_range, (operation, status)
