"""The job index's contract, held by the in-memory fake and by the real adapter on Azurite.

Every job writer keeps the index copies in step with the job (whole copies, under its status,
operation and instance, and nowhere else), a status change never fails on a row that is not
there, the sweep indexes jobs an older version wrote once per vault, and until it has, a filtered
read still returns every job (the caller checks its filter).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from azure.data.tables.aio import TableClient

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import RowsRead
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, JobIndexField, JobIndexScan, job_id
from backup.domain.models import JobOperation, JobStatus
from backup.names import VAULT_DATA_TABLE
from tests.contracts.test_vault_store_contract import (
    T0,
    backed_up,
    backup_job,
    created,
    make_instance,
    stored_rows,
)
from tests.fakes.vault_store import FakeVaultStore


def scan(field: JobIndexField, *values: str) -> JobIndexScan:
    return JobIndexScan(field, values)


async def read(store: Any, vault: VaultRef, index: JobIndexScan, **window: Any) -> list[Job]:
    return [job async for job in store.jobs_page(vault, index=index, **window)]


async def assert_index_in_step(store: Any, vault: VaultRef) -> None:
    """Each value's index range holds exactly the jobs with that value, whole and newest first."""
    jobs = await store.list_jobs(vault)
    for status in JobStatus:
        wanted = [job for job in jobs if job.status is status]
        assert await read(store, vault, scan(JobIndexField.STATUS, status.value)) == wanted, status
    for operation in JobOperation:
        wanted = [job for job in jobs if job.operation is operation]
        assert await read(store, vault, scan(JobIndexField.OPERATION, operation.value)) == wanted, operation
    for instance in {job.instance for job in jobs}:
        wanted = [job for job in jobs if job.instance == instance]
        assert await read(store, vault, scan(JobIndexField.INSTANCE, instance)) == wanted, instance


def on_demand(instance: Any, at: Any, name: str) -> Job:
    return Job.for_instance(
        instance, id=job_id(at, name), operation=JobOperation.ON_DEMAND_BACKUP, start_time=at
    )


async def put_legacy_job(store: Any, vault: VaultRef, job: Job, request: pytest.FixtureRequest) -> None:
    """What an older version wrote: the job row alone, no index copies."""
    if isinstance(store, FakeVaultStore):
        store.put_legacy_job(job)
        return
    await store.get_job(vault, job.id)  # the store creates its table on first use
    azurite = request.getfixturevalue("azurite")
    entity = {**codecs.job_entity(job), "PartitionKey": store.partition(vault)}
    async with TableClient.from_connection_string(azurite.connection_string, VAULT_DATA_TABLE) as table:
        await table.upsert_entity(entity)


async def test_every_job_writer_keeps_the_index_in_step(store: Any, vault: VaultRef) -> None:
    assert await store.index_legacy_jobs(vault) == 0  # a new vault: nothing to index, marked
    assert await store.job_index_ready(vault)
    current = await created(store, make_instance(vault))
    other = await created(store, make_instance(vault, "disk-b-instance"))

    current, point = await backed_up(store, current, T0)  # the worker's one transaction
    await assert_index_in_step(store, vault)

    failure = backup_job(other.value, T0).failed(T0, "Boom", "it broke")
    await store.record_failure(other, other.value.after_failure("Boom", "it broke", T0), failure)
    await assert_index_in_step(store, vault)

    accepted = on_demand(current.value, T0 + timedelta(hours=1), "od")
    counted = replace(current.value, recent_on_demand_requests=(T0,))
    current = await store.accept_on_demand_backup(current, counted, accepted)
    assert await read(store, vault, scan(JobIndexField.STATUS, "InProgress")) == [accepted]
    current, _ = await backed_up(store, current, T0 + timedelta(hours=4))
    await store.put_job(accepted.completed(T0 + timedelta(hours=2)))  # InProgress -> Completed
    await assert_index_in_step(store, vault)

    restore = Job.for_instance(
        current.value, id=job_id(T0 + timedelta(hours=5), "r"), operation=JobOperation.RESTORE, start_time=T0
    )
    versioned = await store.get_recovery_point(vault, current.value.name, point.id)
    await store.accept_restore(
        vault,
        current.value.name,
        usage=None,
        recent_restores=[T0],
        job=restore,
        point=versioned,
        in_use_until=T0 + timedelta(hours=12),
    )
    await store.put_job(replace(restore, progress_percent=50))
    await assert_index_in_step(store, vault)
    await store.put_job(restore.failed(T0 + timedelta(hours=6), "RestoreFailed", "no"))
    await assert_index_in_step(store, vault)

    [entry] = await store.expired(vault, T0 + timedelta(days=7, minutes=1))
    deletion = replace(
        backup_job(current.value, T0 + timedelta(days=8)), operation=JobOperation.RETENTION_DELETION
    )
    current = await store.record_deletions(
        current, current.value.after_deletions(1, 0), [(entry.point, entry)], [deletion], deleted_at=T0
    )
    await assert_index_in_step(store, vault)

    purge = replace(
        backup_job(other.value, T0 + timedelta(days=9)), operation=JobOperation.RETENTION_DELETION
    )
    await store.delete_recovery_points(vault, [], [purge])
    await assert_index_in_step(store, vault)
    assert len(await store.list_jobs(vault)) == 7


async def test_a_status_change_leaves_a_stale_marker_that_readers_skip_and_the_sweep_removes(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    await store.index_legacy_jobs(vault)
    instance = make_instance(vault)
    accepted = on_demand(instance, T0, "od")
    await store.put_job(accepted)
    finished = accepted.completed(T0 + timedelta(minutes=3))
    await store.put_job(finished)
    await store.put_job(finished)  # a retried write changes nothing and fails on nothing
    assert await read(store, vault, scan(JobIndexField.STATUS, "InProgress")) == []
    assert await read(store, vault, scan(JobIndexField.STATUS, "Completed")) == [finished]
    stale_row = keys.job_index_key(keys.JOB_INDEX_STATUS, "InProgress", accepted.id)
    assert stale_row in await stored_rows(store, vault, request)

    assert await store.purge_stale_job_index(vault) == 1
    assert stale_row not in await stored_rows(store, vault, request)
    assert await store.purge_stale_job_index(vault) == 0
    await assert_index_in_step(store, vault)


async def test_a_job_written_before_the_index_changes_status_without_failing(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    instance = make_instance(vault)
    accepted = on_demand(instance, T0, "od")
    await put_legacy_job(store, vault, accepted, request)  # InProgress, no index row to supersede
    await store.put_job(accepted.failed(T0 + timedelta(minutes=1), "Boom", "it broke"))
    assert (await store.get_job(vault, accepted.id)).status is JobStatus.FAILED


async def test_older_jobs_are_indexed_once_and_until_then_a_filtered_read_returns_every_job(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    instance = make_instance(vault)
    old = [
        on_demand(instance, T0 + timedelta(hours=hour), f"old-{hour}").failed(T0, "Boom", "x")
        if hour % 3 == 0
        else backup_job(instance, T0 + timedelta(hours=hour))
        for hour in range(30)
    ]
    for job in old:
        await put_legacy_job(store, vault, job, request)
    newer = backup_job(instance, T0 + timedelta(days=3))
    await store.put_job(newer)  # the new version writes its copies from the start
    everything = await store.list_jobs(vault)
    failed = scan(JobIndexField.STATUS, "Failed")
    assert not await store.job_index_ready(vault)
    assert await read(store, vault, failed) == everything
    assert await store.count_failed_since(vault, T0) == 10

    assert await store.index_legacy_jobs(vault) == 31
    assert await store.job_index_ready(vault)
    assert await read(store, vault, failed) == [job for job in everything if job.status is JobStatus.FAILED]
    await assert_index_in_step(store, vault)
    assert await store.count_failed_since(vault, T0) == 10
    assert await store.index_legacy_jobs(vault) == 0


async def test_filtered_reads_merge_values_newest_first_page_by_id_and_narrow_by_time(
    store: Any, vault: VaultRef
) -> None:
    await store.index_legacy_jobs(vault)
    instance = make_instance(vault)
    jobs = []
    for hour in range(12):
        at = T0 + timedelta(hours=hour)
        operation = [JobOperation.ON_DEMAND_BACKUP, JobOperation.RESTORE, JobOperation.SCHEDULED_BACKUP][
            hour % 3
        ]
        jobs.append(Job.for_instance(instance, id=job_id(at, str(hour)), operation=operation, start_time=at))
    for job in jobs:
        await store.put_job(job)
    user = scan(JobIndexField.OPERATION, "OnDemandBackup", "Restore")
    wanted = [job for job in reversed(jobs) if job.operation.is_user_triggered]
    assert await read(store, vault, user) == wanted
    assert await read(store, vault, user, after_id=wanted[2].id) == wanted[3:]
    window = await read(
        store,
        vault,
        user,
        started_from=T0 + timedelta(hours=9),
        started_to=T0 + timedelta(hours=9),
        margin_hours=1,
    )
    assert [job.start_time for job in window] == [T0 + timedelta(hours=h) for h in (10, 9)]
    assert await read(store, vault, scan(JobIndexField.INSTANCE, "not a name")) == []
    assert await read(store, vault, scan(JobIndexField.STATUS, "Bogus")) == []


async def test_failed_jobs_are_counted_by_start_time(store: Any, vault: VaultRef) -> None:
    await store.index_legacy_jobs(vault)
    instance = make_instance(vault)
    for hour in range(0, 72, 6):
        at = T0 + timedelta(hours=hour)
        job = on_demand(instance, at, str(hour))
        await store.put_job(job.failed(at, "Boom", "x") if hour % 12 == 0 else job.completed(at))
    assert await store.count_failed_since(vault, T0 + timedelta(hours=48)) == 2  # hours 48 and 60
    assert await store.count_failed_since(vault, T0) == 6
    assert await store.count_failed_since(vault, T0 + timedelta(days=30)) == 0


@pytest.mark.parametrize("adapter", [pytest.param("real", marks=pytest.mark.integration)])
async def test_a_filtered_read_of_rare_jobs_reads_only_its_matches(store: Any, vault: VaultRef) -> None:
    await store.index_legacy_jobs(vault)
    instance = make_instance(vault)
    jobs = [
        job.failed(job.start_time, "Boom", "x") if hour % 25 == 0 else job.completed(job.start_time)
        for hour in range(200)
        for job in [on_demand(instance, T0 + timedelta(hours=hour), str(hour))]
    ]
    for job in jobs:
        await store.put_job(job)
    before = RowsRead.count
    failed = await read(store, vault, scan(JobIndexField.STATUS, "Failed"), page_size=5)
    assert len(failed) == 8
    assert RowsRead.count - before == 8 + 1  # the matches and the vault's marker, nothing else


@pytest.mark.parametrize("adapter", [pytest.param("real", marks=pytest.mark.integration)])
async def test_the_backfill_never_indexes_a_job_from_a_copy_older_than_its_row(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    instance = make_instance(vault)
    accepted = on_demand(instance, T0, "od")
    await put_legacy_job(store, vault, accepted, request)
    partition = store.partition(vault)
    [read_before] = [entity async for entity in store._range(partition, *keys.kind_range(keys.JOB))]
    finished = accepted.completed(T0 + timedelta(minutes=2))
    await store.put_job(finished)  # the job changes after the backfill read it

    indexed, complete = await store._index_chunk(partition, [read_before])

    assert (indexed, complete) == (1, True)  # its ETag check failed, so it read the job again
    rows = [entity async for entity in store._range(partition, *keys.kind_range(keys.JOB_INDEX))]
    copies = {
        str(row["RowKey"]).rsplit("|", 1)[0]: row.get("Status") for row in rows if row["Kind"] == "jobIndex"
    }
    assert copies == {
        "k|i|disk-a-instance": "Completed",
        "k|o|ondemandbackup": "Completed",
        "k|s|completed": "Completed",
    }
