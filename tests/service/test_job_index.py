"""The job index through the services: the jobs they write are indexed as written, and the
retention sweep indexes a vault's older jobs once and removes the markers status changes leave."""

from __future__ import annotations

from datetime import timedelta

from backup.adapters.tables import keys
from backup.domain.jobs import JobIndexField, JobIndexScan
from backup.domain.models import JobStatus
from backup.errors import TransientError
from tests.service.conftest import VAULT, Env

NAME = "disk-a-instance"


async def indexed(env: Env, status: JobStatus) -> list[str]:
    scan = JobIndexScan(JobIndexField.STATUS, (status.value,))
    return [job.id async for job in env.store.jobs_page(VAULT, index=scan)]


async def test_the_sweep_indexes_older_jobs_once_and_removes_stale_markers(env: Env) -> None:
    await env.protect("disk-a")
    await env.run_slots(3)  # scheduled backups: their jobs, written before the vault is indexed
    job = await env.on_demand.request(
        VAULT, NAME, rule_name="BackupHourly", retention_tag_override=None, requested_by="alice"
    )
    assert not await env.store.job_index_ready(VAULT)

    first = await env.sweeper.sweep()
    assert first.jobs_indexed == 4
    assert await env.store.job_index_ready(VAULT)
    assert await indexed(env, JobStatus.IN_PROGRESS) == [job.id]

    await env.drain()  # the on-demand backup finishes: InProgress -> Completed
    assert await indexed(env, JobStatus.IN_PROGRESS) == []
    completed = [j.id for j in await env.store.list_jobs(VAULT) if j.status is JobStatus.COMPLETED]
    assert await indexed(env, JobStatus.COMPLETED) == completed
    assert len(completed) == 4
    stale = keys.job_index_key(keys.JOB_INDEX_STATUS, "InProgress", job.id)
    assert stale in env.store.rows(VAULT)

    env.advance(timedelta(minutes=5))
    second = await env.sweeper.sweep()
    assert (second.jobs_indexed, second.stale_job_index_purged) == (0, 1)
    assert stale not in env.store.rows(VAULT)


async def test_trouble_with_the_job_index_does_not_stop_the_sweep(env: Env) -> None:
    await env.protect("disk-a")
    await env.run_slots(2)
    env.store.fail_next(
        "index_legacy_jobs", TransientError("Table Storage is unavailable", code="Unavailable")
    )
    result = await env.sweeper.sweep()
    assert result.errors == [f"{VAULT.id}: Unavailable"]
    assert not await env.store.job_index_ready(VAULT)
    assert (await env.sweeper.sweep()).jobs_indexed == 2
