"""The overview's counts through the router on Azurite: a product-only call under ``/x/``, its
answer as the OpenAPI document declares it (``check_answer``), and its refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import BackupInstanceHealth, JobOperation, ProtectionState
from backup.domain.records import PlanState
from tests.integration.api.conftest import DEFAULT_POLICY, SUB, T0, Api, vault_body, vault_path

pytestmark = pytest.mark.integration


def _overview_path(vault: VaultRef) -> str:
    return f"/x/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}/overview"


async def _instance(api: Api, vault: VaultRef, name: str, **changes: object) -> BackupInstance:
    instance = BackupInstance(
        vault=vault,
        name=name,
        disk_id=f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{name}",
        disk_location="westus",
        policy_name="default",
        policy_document=DEFAULT_POLICY,
        snapshot_resource_group_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    instance = replace(instance, **changes)  # type: ignore[arg-type]
    await api.context.store.create_instance(instance, PlanState(name, DEFAULT_POLICY, active=True))
    return instance


async def test_the_overview_of_a_resource_group_counts_its_vaults(api: Api, vault: VaultRef) -> None:
    assert (await api.call("PUT", vault_path(vault), vault_body())).status == 201
    await _instance(
        api, vault, "disk-a", live_recovery_points=4, health=BackupInstanceHealth(last_successful_backup=T0)
    )
    failing = await _instance(
        api,
        vault,
        "disk-b",
        live_recovery_points=1,
        health=BackupInstanceHealth(
            last_successful_backup=T0 - timedelta(days=2),
            consecutive_failures=1,
            last_error_code="UserErrorX",
        ),
    )
    await _instance(api, vault, "disk-c", protection_state=ProtectionState.BACKUP_SCHEDULES_SUSPENDED)
    start = T0 - timedelta(hours=3)
    job = Job.for_instance(
        failing, id=job_id(start, "f"), operation=JobOperation.SCHEDULED_BACKUP, start_time=start
    )
    await api.context.store.put_job(job.failed(start, "UserErrorX", "no"))
    answer = await api.call("GET", _overview_path(vault))
    assert answer.status == 200
    body = answer.body
    assert (body["exact"], body["inexactReasons"], body["asOf"]) == (True, [], "2026-11-26T04:00:00Z")
    totals = body["totals"]
    assert totals["byHealth"] == {"Healthy": 1, "Inactive": 1, "Unhealthy": 1}
    assert totals["byProtectionState"] == {"BackupSchedulesSuspended": 1, "ProtectionConfigured": 2}
    assert (totals["instances"], totals["protected"], totals["recoveryPoints"]) == (3, 2, 5)
    assert (totals["oldestLastBackupTime"], totals["oldestLastBackupInstanceId"]) == (
        "2026-11-24T04:00:00Z",
        failing.id,
    )
    assert totals["failedJobsLast24Hours"] == 1
    assert [entry["vaultName"] for entry in body["vaults"]] == [vault.name]


async def test_a_resource_group_without_vaults_has_an_empty_exact_overview(api: Api, vault: VaultRef) -> None:
    answer = await api.call("GET", _overview_path(vault))
    assert answer.status == 200
    assert (answer.body["exact"], answer.body["vaults"], answer.body["totals"]["instances"]) == (True, [], 0)


async def test_the_overview_is_only_served_under_x(api: Api, vault: VaultRef) -> None:
    answer = await api.call("GET", _overview_path(vault).removeprefix("/x"))
    assert (answer.status, answer.code) == (404, "InvalidResourceType")


async def test_azure_paths_are_not_served_under_x(api: Api, vault: VaultRef) -> None:
    answer = await api.call("GET", "/x" + vault_path(vault))
    assert (answer.status, answer.code) == (404, "InvalidResourceType")


async def test_a_malformed_subscription_is_a_400_naming_it(api: Api) -> None:
    answer = await api.call("GET", "/x/subscriptions/not-a-guid/overview")
    assert answer.status == 400
    assert answer.body["error"]["target"] == "subscriptionId"


async def test_the_overview_needs_an_api_version(api: Api, vault: VaultRef) -> None:
    answer = await api.call("GET", _overview_path(vault), api_version=None)
    assert answer.status == 400
