"""The overview's counts over the fakes: a vault's summary from its instance rows and failed jobs,
the totals over vaults, a summary computed on demand, and when the totals stop being exact."""

from __future__ import annotations

from datetime import datetime, timedelta

from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import BackupInstanceHealth, JobOperation, ProtectionState
from backup.errors import TransientError
from tests.service.conftest import OTHER_VAULT, SUB, VAULT, Env

HOUR = timedelta(hours=1)


async def _failed_job(env: Env, instance: BackupInstance, started_hours_ago: float) -> None:
    start = env.now - timedelta(hours=started_hours_ago)
    job = Job.for_instance(
        instance,
        id=job_id(start, instance.name, str(started_hours_ago)),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=start,
    )
    await env.store.put_job(job.failed(start + timedelta(minutes=1), "UserErrorDiskNotFound", "gone"))


async def _completed_job(env: Env, instance: BackupInstance, started_hours_ago: float) -> None:
    start = env.now - timedelta(hours=started_hours_ago)
    job = Job.for_instance(
        instance,
        id=job_id(start, instance.name, "ok"),
        operation=JobOperation.SCHEDULED_BACKUP,
        start_time=start,
    )
    await env.store.put_job(job.completed(start + timedelta(minutes=1)))


async def _estate(env: Env) -> dict[str, BackupInstance]:
    """Five instances of VAULT in every state the tiles tell apart, and their jobs."""
    healthy = await env.protect(
        "disk-a", live_recovery_points=3, health=BackupInstanceHealth(last_successful_backup=env.now - HOUR)
    )
    failing = await env.protect(
        "disk-b",
        live_recovery_points=2,
        health=BackupInstanceHealth(
            last_successful_backup=env.now - 30 * HOUR, consecutive_failures=2, last_error_code="UserErrorX"
        ),
    )
    errored = await env.protect("disk-c", protection_state=ProtectionState.PROTECTION_ERROR)
    stopped = await env.protect(
        "disk-d",
        protection_state=ProtectionState.PROTECTION_STOPPED,
        live_recovery_points=4,
        health=BackupInstanceHealth(last_successful_backup=env.now - 100 * HOUR),
    )
    deleted = await env.protect(
        "disk-e", protection_state=ProtectionState.SOFT_DELETED, live_recovery_points=9
    )
    await _failed_job(env, failing, 1)
    await _failed_job(env, failing, 5)
    await _failed_job(env, errored, 23)
    await _failed_job(env, failing, 25)  # outside the window
    await _completed_job(env, healthy, 2)
    return {
        "healthy": healthy,
        "failing": failing,
        "errored": errored,
        "stopped": stopped,
        "deleted": deleted,
    }


async def test_a_vault_summary_counts_its_visible_instances_and_failed_jobs_of_24_hours(env: Env) -> None:
    await _estate(env)
    summary = await env.runtime.overview.recompute(VAULT)
    figures = summary.figures
    assert summary.computed_at == env.now
    assert figures.instances == 4
    assert figures.by_health == {"Healthy": 1, "Inactive": 1, "Unhealthy": 2}
    assert figures.by_state == {"ProtectionConfigured": 2, "ProtectionError": 1, "ProtectionStopped": 1}
    assert figures.recovery_points == 9
    assert figures.failed_jobs_24h == 3


async def test_the_oldest_last_backup_counts_failing_instances_and_says_who_never_backed_up(env: Env) -> None:
    estate = await _estate(env)
    figures = (await env.runtime.overview.recompute(VAULT)).figures
    # The stopped instance's backup is older, but it is not protected; the failing one is.
    assert figures.protected == 3
    assert figures.oldest_last_backup_at == env.now - 30 * HOUR
    assert figures.oldest_last_backup_instance == estate["failing"].id
    assert figures.never_backed_up == 1


async def test_the_summary_is_kept_and_read_back_as_written(env: Env) -> None:
    await _estate(env)
    summary = await env.runtime.overview.recompute(VAULT)
    assert await env.store.get_vault_overview(VAULT) == summary


async def test_the_oldest_restorable_point_is_the_earliest_an_instance_knows(env: Env) -> None:
    await env.protect("disk-a", live_recovery_points=2, health=_oldest(env.now - 48 * HOUR))
    await env.protect("disk-b", live_recovery_points=1, health=_oldest(env.now - 72 * HOUR))
    figures = (await env.runtime.overview.recompute(VAULT)).figures
    assert (figures.oldest_point_at, figures.points_of_unknown_age) == (env.now - 72 * HOUR, 0)


async def test_points_of_unknown_age_say_the_oldest_point_may_be_older(env: Env) -> None:
    await _estate(env)
    figures = (await env.runtime.overview.recompute(VAULT)).figures
    # The estate's instances are written without OldestPointAt, as older rows are: their 3
    # points are of unknown age.
    assert figures.points_of_unknown_age == 3


async def test_the_overview_adds_the_vaults_and_summarises_a_vault_that_has_none(env: Env) -> None:
    await _estate(env)
    await env.runtime.overview.recompute(VAULT)
    await env.protect("disk-f", vault=OTHER_VAULT, live_recovery_points=5)
    overview = await env.runtime.overview.overview(SUB)
    assert overview.exact
    assert overview.totals.instances == 5
    assert overview.totals.recovery_points == 14
    assert overview.totals.by_health == {"Healthy": 2, "Inactive": 1, "Unhealthy": 2}
    assert await env.store.get_vault_overview(OTHER_VAULT) is not None


async def test_the_overview_reads_summaries_not_instances_or_jobs(env: Env) -> None:
    await _estate(env)
    await env.runtime.overview.recompute_all()
    env.store.fail_next("list_instances", AssertionError("the overview read instance rows"))
    env.store.fail_next("jobs_page", AssertionError("the overview read jobs"))
    overview = await env.runtime.overview.overview(SUB)
    assert overview.totals.instances == 4


async def test_a_summary_older_than_15_minutes_makes_the_totals_inexact_until_recounted(env: Env) -> None:
    await _estate(env)
    await env.runtime.overview.recompute_all()
    env.advance(timedelta(minutes=16))
    stale = await env.runtime.overview.overview(SUB)
    assert (stale.exact, stale.as_of) == (False, env.now - timedelta(minutes=16))
    assert VAULT.name in stale.inexact_reasons[0]
    await env.runtime.overview.recompute_all()
    assert (await env.runtime.overview.overview(SUB)).exact


async def test_a_vault_that_cannot_be_counted_is_named_and_the_rest_still_add_up(env: Env) -> None:
    await _estate(env)
    await env.runtime.overview.recompute(VAULT)
    await env.protect("disk-f", vault=OTHER_VAULT)
    env.store.fail_next("list_instances", TransientError("storage is down", code="StorageUnavailable"))
    overview = await env.runtime.overview.overview(SUB)
    assert not overview.exact
    assert OTHER_VAULT.name in overview.inexact_reasons[0]
    assert overview.totals.instances == 4


async def test_a_resource_group_overview_counts_only_its_vaults(env: Env) -> None:
    await _estate(env)
    elsewhere = VaultRef(SUB, "rg-elsewhere", "far-vault")
    await env.protect("disk-g", vault=elsewhere)
    overview = await env.runtime.overview.overview(SUB, "rg-elsewhere")
    assert [summary.vault.name for summary in overview.vaults] == ["far-vault"]
    assert overview.totals.instances == 1


def _oldest(moment: datetime) -> BackupInstanceHealth:
    return BackupInstanceHealth(oldest_point_at=moment)
