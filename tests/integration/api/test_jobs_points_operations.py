"""Jobs, recovery points and operation polling through the router against Azurite."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backup.api.operations import (
    OperationRecord,
    OperationStatus,
    load_operation,
    new_operation_id,
    save_operation,
)
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, job_id, scheduled_backup_job_id
from backup.domain.models import JobOperation, JobStatus, RecoveryPoint, RetentionTag
from backup.domain.records import Versioned
from backup.domain.snapshots import recovery_point_id
from backup.errors import ConflictError
from tests.integration.api.conftest import SUB, T0, Api, vault_path
from tests.integration.api.test_vaults_and_policies import add_instance, create_vault

pytestmark = pytest.mark.integration

INSTANCE = "disk-a-instance"
DISK = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{INSTANCE}"


async def seed_backups(api: Api, vault: VaultRef, count: int) -> list[tuple[RecoveryPoint, Job]]:
    await create_vault(api, vault)
    await add_instance(api, vault, INSTANCE, policy="p1")
    store = api.context.store
    seeded = []
    for hour in range(count):
        slot = T0 + timedelta(hours=4 * hour)
        current = await store.get_instance(vault, INSTANCE)
        assert current is not None
        point = RecoveryPoint(
            id=recovery_point_id(INSTANCE, slot),
            instance=INSTANCE,
            slot=slot,
            created_at=slot + timedelta(minutes=1),
            retention_tag=RetentionTag.DEFAULT,
            earned_tags=frozenset({RetentionTag.DEFAULT}),
            expires_at=slot + timedelta(days=7),
            snapshot_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps/providers/Microsoft.Compute/snapshots/s{hour}",
        )
        job = Job(
            id=scheduled_backup_job_id(INSTANCE, slot),
            vault_id=vault.id,
            instance=INSTANCE,
            operation=JobOperation.SCHEDULED_BACKUP,
            status=JobStatus.IN_PROGRESS,
            start_time=slot,
            datasource_id=DISK,
            datasource_name=INSTANCE,
            datasource_location="westus",
            policy_name="p1",
        ).completed(slot + timedelta(minutes=1, seconds=30), recovery_point_id=point.id)
        await store.record_backup(current, current.value, point, job)
        seeded.append((point, job))
    return seeded


async def test_jobs_list_newest_first_with_paging_and_filters(api: Api, vault: VaultRef) -> None:
    seeded = await seed_backups(api, vault, 4)
    failed = Job(
        id=job_id(T0 + timedelta(days=1), INSTANCE, "adhoc"),
        vault_id=vault.id,
        instance=INSTANCE,
        operation=JobOperation.ON_DEMAND_BACKUP,
        status=JobStatus.IN_PROGRESS,
        start_time=T0 + timedelta(days=1),
        datasource_id=DISK,
        initiated_by="alice",
    ).failed(T0 + timedelta(days=1, minutes=2), "UserErrorDiskNotFound", "The disk is gone.")
    await api.context.store.put_job(failed)
    path = vault_path(vault) + "/backupJobs"
    first = await api.call("GET", path)
    expected = [failed.id] + [job.id for _, job in reversed(seeded)]
    assert [item["name"] for item in first.body["value"]] == expected[:3]
    second = await api.call("GET", path, query=first.body["nextLink"].split("&", 1)[1])
    assert [item["name"] for item in second.body["value"]] == expected[3:]
    assert "nextLink" not in second.body

    failed_only = await api.call("GET", path, query="$filter=status%20eq%20'Failed'")
    [resource] = failed_only.body["value"]
    props = resource["properties"]
    assert resource["id"] == f"{vault.id}/backupJobs/{failed.id}"
    assert resource["type"] == "Microsoft.DataProtection/backupVaults/backupJobs"
    assert props["operation"] == "Backup"  # Azure's value; isUserTriggered says on-demand
    assert props["operationCategory"] == "Backup"
    assert props["isUserTriggered"] is True
    assert props["errorDetails"][0]["code"] == "UserErrorDiskNotFound"
    assert props["duration"] == "PT2M"
    assert props["dataSourceType"] == "Microsoft.Compute/disks"
    assert props["sourceResourceGroup"] == "rg-prod"
    assert props["extendedInfo"]["additionalDetails"]["InitiatedBy"] == "alice"

    window = "$filter=startTime%20ge%20'2026-11-26T06:00:00Z'%20and%20startTime%20le%20'2026-11-26T12:00:00Z'"
    in_window = await api.call("GET", path, query=window)
    assert [item["name"] for item in in_window.body["value"]] == [seeded[2][1].id, seeded[1][1].id]

    got = await api.call("GET", path + "/" + seeded[0][1].id.upper())
    assert got.status == 200
    assert got.body["properties"]["status"] == "Completed"
    assert got.body["properties"]["policyId"] == vault.id + "/backupPolicies/p1"
    missing = await api.call("GET", path + "/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert (missing.status, missing.code) == (404, "ResourceNotFound")


async def test_recovery_points_list_get_and_filter(api: Api, vault: VaultRef) -> None:
    seeded = await seed_backups(api, vault, 4)
    path = vault_path(vault) + f"/backupInstances/{INSTANCE}/recoveryPoints"
    first = await api.call("GET", path)
    newest_first = [point.id for point, _ in reversed(seeded)]
    assert [item["name"] for item in first.body["value"]] == newest_first[:3]
    second = await api.call("GET", path, query=first.body["nextLink"].split("&", 1)[1])
    assert [item["name"] for item in second.body["value"]] == newest_first[3:]

    point = seeded[1][0]
    got = await api.call("GET", f"{path}/{point.id}")
    props = got.body["properties"]
    assert got.body["type"] == "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints"
    assert props["objectType"] == "AzureBackupDiscreteRecoveryPoint"
    assert props["recoveryPointTime"] == "2026-11-26T08:01:00Z"
    assert props["recoveryPointType"] == "Incremental"
    assert props["retentionTagName"] == "Default"
    assert props["expiryTime"] == "2026-12-03T08:00:00Z"
    assert props["policyName"] == "p1"
    [store_detail] = props["recoveryPointDataStoresDetails"]
    assert store_detail["type"] == "OperationalStore"
    assert store_detail["visible"] is True
    assert store_detail["metaData"] == point.snapshot_id

    cli_filter = (
        "$filter=startDate%20eq%20'2026-11-26T05:00:00'%20and%20endDate%20eq%20'2026-11-26T12:01:00Z'"
    )
    filtered = await api.call("GET", path, query=cli_filter)
    assert [item["name"] for item in filtered.body["value"]] == [seeded[2][0].id, seeded[1][0].id]
    missing = await api.call("GET", f"{path}/{'f' * 32}")
    assert (missing.status, missing.code) == (404, "ResourceNotFound")


async def test_operation_status_and_results_routes(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    store = api.context.store
    record = OperationRecord(
        id=new_operation_id(vault),
        vault=vault,
        location="West US",
        name="AdhocBackup",
        status=OperationStatus.IN_PROGRESS,
        start_time=T0,
        job_id="3c60cb49-63e8-4b21-b9bd-26277b3fdfae",
    )
    await store.put_operation(vault, record.id, record.to_document(), status="InProgress", create=True)
    provider = f"/subscriptions/{SUB}/providers/Microsoft.DataProtection"
    location_status = f"{provider}/locations/westus/operationStatus/{record.id}"
    location_result = location_status.replace("operationStatus", "operationResults")

    status = await api.call("GET", location_status)
    assert status.body == {
        "id": location_status,
        "name": record.id,
        "status": "InProgress",
        "startTime": "2026-11-26T04:00:00Z",
        "properties": {"objectType": "OperationJobExtendedInfo", "jobId": record.job_id},
    }
    pending = await api.call("GET", location_result)
    assert pending.status == 202
    assert (
        pending.headers["Azure-AsyncOperation"]
        == "http://testserver/api" + location_status + "?api-version=2026-06-01"
    )
    assert pending.headers["Retry-After"] == "0"

    await save_operation(store, record.succeeded(T0 + timedelta(minutes=1)))
    done = await api.call("GET", location_result)
    assert (done.status, done.body) == (
        200,
        {"objectType": "OperationJobExtendedInfo", "jobId": record.job_id},
    )
    vault_status = await api.call("GET", vault_path(vault) + f"/operationStatus/{record.id}")
    assert vault_status.body["status"] == "Succeeded"
    assert vault_status.body["endTime"] == "2026-11-26T04:01:00Z"

    loaded = await load_operation(store, vault, record.id)
    assert loaded is not None
    await save_operation(
        store,
        replace(loaded, status=OperationStatus.IN_PROGRESS).failed(
            T0, ConflictError("busy", code="UserErrorBusy")
        ),
    )
    failed = await api.call("GET", location_status)
    assert failed.body["status"] == "Failed"
    assert failed.body["error"] == {
        "code": "UserErrorBusy",
        "message": "busy",
        "additionalInfo": [
            {
                "type": "UserFacingError",
                "info": {
                    "code": "UserErrorBusy",
                    "message": "busy",
                    "recommendedAction": [ConflictError.recommended_action],
                    "isRetryable": False,
                    "isUserError": True,
                    "properties": {"ActivityId": record.id},
                },
            }
        ],
    }
    failed_result = await api.call("GET", location_result)
    assert (failed_result.status, failed_result.code) == (409, "UserErrorBusy")
    assert failed_result.body["error"] == failed.body["error"]  # the same error, the same ActivityId

    other_sub = location_status.replace(SUB, "00000000-0000-0000-0000-0000000000ff")
    assert (await api.call("GET", other_sub)).status == 404
    assert (await api.call("GET", location_status.replace("westus", "eastus"))).status == 404
    other_vault = (
        vault_path(VaultRef(SUB, vault.resource_group, "elsewhere")) + f"/operationStatus/{record.id}"
    )
    assert (await api.call("GET", other_vault)).status == 404
    garbage = await api.call("GET", location_status.replace(record.id, "bm90LW91cnM"))
    assert (garbage.status, garbage.code) == (404, "OperationNotFound")
    _ = Versioned
