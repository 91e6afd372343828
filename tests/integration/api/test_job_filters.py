"""The jobs ``$filter`` through the router against Azurite: the same jobs as a brute-force filter,
whether the vault's jobs are indexed yet or not, a page that costs its matches, and a walk that
serves each job once while jobs are written."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from backup.adapters.tables.base import RowsRead
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, JobStatus
from localdev.functions_host import FunctionsHost
from tests.integration.api.conftest import SUB, T0, Api, vault_path
from tests.integration.api.test_through_host_and_sdk import sdk, served  # noqa: F401 - served is a fixture
from tests.integration.api.test_vaults_and_policies import create_vault

pytestmark = pytest.mark.integration

INSTANCES = ("disk-a-instance", "disk-b-instance", "disk-c-instance")
OPERATIONS = tuple(JobOperation)
STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.IN_PROGRESS, JobStatus.COMPLETED_WITH_WARNINGS)


def make_job(vault: VaultRef, number: int, *, status: JobStatus | None = None) -> Job:
    """The ``number``-th job of a varied mix, an hour apart (start a little after the id's time)."""
    at = T0 + timedelta(hours=number)
    instance = INSTANCES[number % len(INSTANCES)]
    job = Job(
        id=job_id(at, instance, str(number)),
        vault_id=vault.id,
        instance=instance,
        operation=OPERATIONS[number % len(OPERATIONS)],
        status=JobStatus.IN_PROGRESS,
        start_time=at + timedelta(minutes=number % 50),
        datasource_id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{instance}",
    )
    final = status or STATUSES[(number // 2) % len(STATUSES)]
    if final is JobStatus.FAILED:
        return job.failed(job.start_time + timedelta(minutes=3), "Boom", "it broke")
    if final is JobStatus.COMPLETED:
        return job.completed(job.start_time + timedelta(minutes=2))
    if final is JobStatus.COMPLETED_WITH_WARNINGS:
        return replace(job.completed(job.start_time), status=JobStatus.COMPLETED_WITH_WARNINGS)
    return job


async def walk(api: Api, vault: VaultRef, filter_text: str | None, between: Any = None) -> list[str]:
    """Every page, following nextLink as a client does; ``between`` runs after each page."""
    path = vault_path(vault) + "/backupJobs"
    query = f"$filter={quote(filter_text)}" if filter_text else ""
    names: list[str] = []
    while True:
        answer = await api.call("GET", path, query=query)
        assert answer.status == 200, answer.body
        names.extend(item["name"] for item in answer.body["value"])
        link = answer.body.get("nextLink")
        if link is None:
            return names
        query = link.split("&", 1)[1]  # all but the api-version, which the client adds
        if between is not None:
            await between()


FILTERS: list[tuple[str, Any]] = [
    ("status eq 'Failed'", lambda j: j.status is JobStatus.FAILED),
    ("status eq 'completed'", lambda j: j.status is JobStatus.COMPLETED),
    ("status ne 'Completed'", lambda j: j.status is not JobStatus.COMPLETED),
    ("operation eq 'Restore'", lambda j: j.operation is JobOperation.RESTORE),
    ("operation ne 'ScheduledBackup'", lambda j: j.operation is not JobOperation.SCHEDULED_BACKUP),
    ("operation eq 'Backup'", lambda j: j.operation.value.endswith("Backup")),
    ("operation ne 'backup'", lambda j: not j.operation.value.endswith("Backup")),
    (
        "operation eq 'Backup' and isUserTriggered eq false",
        lambda j: j.operation is JobOperation.SCHEDULED_BACKUP,
    ),
    ("operationCategory eq 'Backup'", lambda j: j.operation.value.endswith("Backup")),
    (
        "isUserTriggered eq true",
        lambda j: j.operation in (JobOperation.ON_DEMAND_BACKUP, JobOperation.RESTORE),
    ),
    ("backupInstanceName eq 'DISK-B-INSTANCE'", lambda j: j.instance == "disk-b-instance"),
    ("backupInstanceName eq 'no such instance'", lambda j: False),
    (
        "status eq 'Failed' and operation eq 'ScheduledBackup'",
        lambda j: j.status is JobStatus.FAILED and j.operation is JobOperation.SCHEDULED_BACKUP,
    ),
    (
        "status eq 'InProgress' and startTime ge '2026-11-27T00:00:00Z'"
        " and startTime lt '2026-11-27T20:00:00Z'",
        lambda j: (
            j.status is JobStatus.IN_PROGRESS
            and datetime(2026, 11, 27, tzinfo=T0.tzinfo)
            <= j.start_time
            < datetime(2026, 11, 27, 20, tzinfo=T0.tzinfo)
        ),
    ),
    (
        "backupInstanceName eq 'disk-a-instance' and endTime le '2026-11-27T12:00:00Z'",
        lambda j: (
            j.instance == "disk-a-instance"
            and j.end_time is not None
            and j.end_time <= datetime(2026, 11, 27, 12, tzinfo=T0.tzinfo)
        ),
    ),
]


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "before-the-backfill"])
async def test_every_filter_returns_what_a_brute_force_filter_does(
    api: Api, vault: VaultRef, indexed: bool
) -> None:
    await create_vault(api, vault)
    store = api.context.store
    if indexed:
        await store.index_legacy_jobs(vault)  # a vault with no jobs yet: marked indexed at once
    jobs = [make_job(vault, number) for number in range(48)]
    for job in jobs:
        await store.put_job(job)
    assert await store.job_index_ready(vault) is indexed
    newest_first = sorted(jobs, key=lambda job: job.id)
    for text, wanted in FILTERS:
        assert await walk(api, vault, text) == [job.id for job in newest_first if wanted(job)], text
    assert await walk(api, vault, None) == [job.id for job in newest_first]


async def test_a_page_of_rare_matches_reads_only_the_page(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    store = api.context.store
    await store.index_legacy_jobs(vault)
    for number in range(150):
        status = JobStatus.FAILED if number % 30 == 0 else JobStatus.COMPLETED
        await store.put_job(make_job(vault, number, status=status))
    path = vault_path(vault) + "/backupJobs"
    before = RowsRead.count
    answer = await api.call(
        "GET", path, query="$filter=" + quote("status eq 'Failed' and operation eq 'Restore'")
    )
    rows = RowsRead.count - before
    assert len(answer.body["value"]) == 2  # numbers 30 and 90 are failed restores (number % 4 == 2)
    # The vault, the index marker and the five failed jobs at most: never the 150 jobs.
    assert rows <= 2 + 5


async def test_a_walk_serves_each_job_once_while_jobs_are_written(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    store = api.context.store
    await store.index_legacy_jobs(vault)
    present = [make_job(vault, number, status=JobStatus.FAILED) for number in range(0, 40, 2)]
    for job in present:
        await store.put_job(job)
    written: list[Job] = []

    async def meanwhile() -> None:
        number = 1 + 2 * len(written)  # between the present ones, newer and older than the cursor
        for job in (make_job(vault, number, status=JobStatus.FAILED), make_job(vault, 100 + number)):
            await store.put_job(job)
            written.append(job)
        accepted = make_job(vault, 200 + len(written), status=JobStatus.IN_PROGRESS)
        await store.put_job(accepted)
        await store.put_job(accepted.failed(accepted.start_time, "Boom", "x"))  # its status changes
        written.append(accepted)

    listed = await walk(api, vault, "status eq 'Failed'", between=meanwhile)
    assert len(listed) == len(set(listed))
    assert set(listed) >= {job.id for job in present}
    assert set(listed) <= {job.id for job in [*present, *written] if job.status is JobStatus.FAILED}


async def test_a_skip_token_this_api_did_not_issue_is_refused(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    path = vault_path(vault) + "/backupJobs"
    for token in ("%%%", "bm90LWEtam9i"):  # not base64; base64 of "not-a-job"
        answer = await api.call("GET", path, query=f"$skipToken={token}")
        assert (answer.status, answer.code) == (400, "InvalidQueryParameterValue")
        assert answer.body["error"]["target"] == "$skipToken"


async def test_the_official_sdk_pager_follows_a_filtered_next_link(
    served: tuple[FunctionsHost, Api],  # noqa: F811 - the imported fixture
) -> None:
    host, api = served
    vault = VaultRef(SUB, "rg-sdk-jobs-" + uuid.uuid4().hex[:6], "vault-jobs")
    await create_vault(api, vault)
    await api.context.store.index_legacy_jobs(vault)
    jobs = [make_job(vault, number, status=JobStatus.FAILED if number % 3 else None) for number in range(12)]
    for job in jobs:
        await api.context.store.put_job(job)
    failed = sorted(job.id for job in jobs if job.status is JobStatus.FAILED)

    def scenario() -> list[str]:
        client = sdk(host)
        pager = client.jobs.list(vault.resource_group, vault.name, params={"$filter": "status eq 'Failed'"})
        return [job.name for job in pager]  # pages of 3: the pager follows nextLink verbatim

    assert len(failed) > 3
    assert await asyncio.to_thread(scenario) == failed
