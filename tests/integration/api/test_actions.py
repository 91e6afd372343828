"""On-demand backup through the API, then the engine; limits; and the official SDK through the host."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from azure.mgmt.dataprotection import DataProtectionMgmtClient, models

from backup.bootstrap import use_runtime
from backup.cli import drain_backup_queue
from backup.domain.jobs import Job
from backup.domain.models import JobOperation, JobStatus, ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.snapshots import recovery_point_id
from backup.services.backup_runner import Outcome
from backup.services.messages import BackupRequest
from localdev.functions_host import FunctionsHost
from tests.hosting import project_host
from tests.integration.api.test_through_host_and_sdk import (
    FunctionKeyPolicy,
    NoCredential,
)
from tests.integration.engine import conftest as engine
from tests.integration.engine import test_restore
from tests.integration.engine.conftest import START, VAULT, policy_document
from tests.integration.engine.test_restore import World

pytestmark = pytest.mark.integration

# The engine's fixtures: a Runtime on a manual clock with the Compute emulator, and the API beside it.
sim = engine.sim
world = test_restore.world

INSTANCE = "disk-a-instance"


async def test_on_demand_backup_with_a_retention_override_becomes_a_recovery_point(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a", policy_document(default="P7D", extra={"Weekly": "P28D"}))
    requested_at = sim.now
    job_id = await world.backup(INSTANCE, tag="weekly")  # case-insensitive, as Azure accepts it
    job = await world.store.get_job(VAULT, job_id)
    assert (job.status, job.operation, job.initiated_by) == (
        JobStatus.IN_PROGRESS,
        JobOperation.ON_DEMAND_BACKUP,
        "function-key",
    )
    [message] = await sim.queue_messages()
    request = BackupRequest.from_json(message.content)
    assert (request.kind, request.job_id, request.retention_tag_override) == ("onDemand", job_id, "Weekly")
    assert request.requested_at == requested_at

    await drain_backup_queue(sim.runtime)
    done = await world.store.get_job(VAULT, job_id)
    assert (done.status, done.initiated_by) == (JobStatus.COMPLETED, "function-key")
    point = (await world.store.get_recovery_point(VAULT, INSTANCE, done.recovery_point_id)).value
    assert point.slot is None
    assert point.retention_tag is RetentionTag.WEEKLY
    # Kept from its creation (the snapshot's timeCreated), as Azure's points are.
    assert point.created_at >= requested_at
    assert point.expires_at == point.created_at + timedelta(days=28)
    shown = await world.api.call("GET", world.instance_path(INSTANCE) + f"/recoveryPoints/{point.id}")
    assert shown.body["properties"]["retentionTagName"] == "Weekly"


async def test_on_demand_backup_refusals(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    wrong_rule = await world.request_backup(INSTANCE, rule="BackupDaily")
    assert (wrong_rule.status, wrong_rule.code) == (400, "UnknownBackupRule")
    assert wrong_rule.body["error"]["target"] == "backupRuleOptions.ruleName"
    wrong_tag = await world.request_backup(INSTANCE, tag="Monthly")
    assert (wrong_tag.status, wrong_tag.code) == (400, "UnknownRetentionTag")
    missing = await world.api.call("POST", world.instance_path(INSTANCE) + "/backup", {})
    assert (missing.status, missing.code) == (400, "MissingProperty")
    unknown = await world.request_backup("nobody")
    assert (unknown.status, unknown.code) == (404, "ResourceNotFound")

    current = await world.store.get_instance(VAULT, INSTANCE)
    stopped = replace(current.value, protection_state=ProtectionState.PROTECTION_STOPPED)
    await world.store.update_instance(current, stopped)
    refused = await world.request_backup(INSTANCE)
    assert (refused.status, refused.code) == (409, "UserErrorBackupInstanceNotProtected")
    assert "resumeProtection" in refused.body["error"]["message"]
    assert await sim.queue_messages() == []


async def test_ten_on_demand_backups_per_rolling_day_even_when_requests_race(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    for _ in range(9):
        assert (await world.request_backup(INSTANCE)).status == 202
        sim.advance(timedelta(minutes=1))
    racing = await asyncio.gather(world.request_backup(INSTANCE), world.request_backup(INSTANCE))
    assert sorted(answer.status for answer in racing) == [202, 409]
    eleventh = await world.request_backup(INSTANCE)
    assert (eleventh.status, eleventh.code) == (409, "OnDemandBackupDailyLimitReached")
    assert "the limit is 10" in eleventh.body["error"]["message"]
    assert "allowed after" in eleventh.body["error"]["message"]
    assert len(await sim.queue_messages()) == 10
    instance = await world.store.get_instance(VAULT, INSTANCE)
    assert len(instance.value.recent_on_demand_requests) == 10

    sim.advance(timedelta(hours=24) - timedelta(minutes=8))  # the first request left the window
    assert (await world.request_backup(INSTANCE)).status == 202


async def test_a_burst_of_ten_on_demand_backups_is_refused_up_front_and_spares_the_schedule(
    world: World,
) -> None:
    sim = world.sim
    await sim.protect("disk-a")  # every 4 hours from START
    assert await sim.tick() == [Outcome.RECORDED]
    sim.clock.set(START + timedelta(hours=3, minutes=57))  # the 04:00 slot falls in the 5 minutes
    sim.sync_emulator_clock()
    answers = []
    for _ in range(10):
        answers.append(await world.request_backup(INSTANCE))
        sim.advance(timedelta(seconds=1))

    # The emulator allows 7 snapshots per disk per 5 minutes; one is kept for the 04:00 backup.
    assert [answer.status for answer in answers] == [202] * 6 + [429] * 4
    refused = answers[6]
    assert refused.code == "UserErrorMaxConcurrentOperationLimitReached"
    assert refused.headers["Retry-After"] == str(5 * 60 - 6)
    [entry] = refused.body["error"]["additionalInfo"]
    assert entry["type"] == "UserFacingError"
    info = entry["info"]
    assert (info["isRetryable"], info["isUserError"]) == (True, False)
    assert "after 2026-11-02T04:02:00Z" in info["recommendedAction"][0]
    assert info["properties"]["ActivityId"] == refused.headers["x-ms-request-id"]

    assert await sim.drain() == [Outcome.RECORDED] * 6
    sim.clock.set(START + timedelta(hours=4))
    sim.sync_emulator_clock()
    assert await sim.tick() == [Outcome.RECORDED]  # the scheduled backup still had its room
    jobs = await world.store.list_jobs(VAULT)
    assert len(jobs) == 1 + 6 + 1
    assert {job.status for job in jobs} == {JobStatus.COMPLETED}
    instance = await world.store.get_instance(VAULT, INSTANCE)
    assert instance.value.protection_state is ProtectionState.PROTECTION_CONFIGURED


async def test_fifty_live_on_demand_recovery_points_at_most(world: World) -> None:
    sim = world.sim
    instance = await sim.protect("disk-a")
    store = world.store
    for n in range(50):
        created = sim.now - timedelta(days=3, minutes=n)
        point = RecoveryPoint(
            id=recovery_point_id(INSTANCE, created, f"seed-{n}"),
            instance=INSTANCE,
            slot=None,
            created_at=created,
            retention_tag=RetentionTag.DEFAULT,
            earned_tags=frozenset({RetentionTag.DEFAULT}),
            expires_at=created + timedelta(days=30),
            snapshot_id=f"{instance.snapshot_resource_group_id}/providers/Microsoft.Compute/snapshots/s{n}",
        )
        job = Job(
            id=f"{n:08x}-0000-4000-8000-000000000000",
            vault_id=VAULT.id,
            instance=INSTANCE,
            operation=JobOperation.ON_DEMAND_BACKUP,
            status=JobStatus.COMPLETED,
            start_time=created,
        )
        current = await store.get_instance(VAULT, INSTANCE)
        await store.record_backup(
            current,
            current.value.after_snapshot(created, earned=point.earned_tags, on_demand=True),
            point,
            job,
        )
    refused = await world.request_backup(INSTANCE)
    assert (refused.status, refused.code) == (409, "OnDemandRecoveryPointLimitReached")
    assert "50" in refused.body["error"]["message"]


def sdk(host: FunctionsHost) -> DataProtectionMgmtClient:
    return DataProtectionMgmtClient(
        NoCredential(),
        VAULT.subscription_id,
        base_url=host.api_base_url,
        authentication_policy=FunctionKeyPolicy(),
        polling_interval=0,
    )


@pytest.fixture
async def host(world: World) -> AsyncIterator[FunctionsHost]:
    use_runtime(world.api.runtime)
    functions = project_host(world.sim.azurite.connection_string)
    try:
        async with functions:
            yield functions
    finally:
        use_runtime(None)


async def test_the_official_sdk_takes_an_on_demand_backup_and_restores_it(
    world: World, host: FunctionsHost
) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    group, vault = VAULT.resource_group, VAULT.name

    def backup() -> str:
        client = sdk(host)
        request = models.TriggerBackupRequest(
            backup_rule_options=models.AdHocBackupRuleOptions(
                rule_name="BackupHourly",
                trigger_option=models.AdhocBackupTriggerOption(retention_tag_override="Default"),
            )
        )
        poller = client.backup_instances.begin_adhoc_backup(group, vault, INSTANCE, request)
        return str(poller.result().job_id)

    job_id = await asyncio.to_thread(backup)
    for _ in range(200):  # the host's run-backup trigger takes the snapshot
        job = await world.store.get_job(VAULT, job_id)
        if job.status.is_terminal:
            break
        await asyncio.sleep(0.05)
    assert job.status is JobStatus.COMPLETED, job

    def read_backup_job() -> models.AzureBackupJob:
        properties = sdk(host).jobs.get(group, vault, job_id).properties
        assert properties is not None
        return properties

    shown = await asyncio.to_thread(read_backup_job)
    assert (shown.operation, shown.is_user_triggered, shown.operation_category) == ("Backup", True, "Backup")
    assert shown.extended_info.additional_details["PolicyRuleName"] == "BackupHourly"
    assert shown.extended_info.additional_details["RetentionTag"] == "Default"
    target = (
        f"/subscriptions/{VAULT.subscription_id}/resourceGroups/rg-restore/providers/Microsoft.Compute/disks"
    )
    target += "/sdk-restored"

    def restore() -> str:
        client = sdk(host)
        request = models.AzureBackupRecoveryPointBasedRestoreRequest(
            recovery_point_id=str(job.recovery_point_id),
            source_data_store_type="OperationalStore",
            restore_target_info=models.RestoreTargetInfo(
                recovery_option="FailIfExists",
                restore_location="eastus",
                datasource_info=models.Datasource(
                    resource_id=target,
                    datasource_type="Microsoft.Compute/disks",
                    resource_name="sdk-restored",
                    resource_type="Microsoft.Compute/disks",
                    resource_location="eastus",
                ),
            ),
        )
        validate = models.ValidateRestoreRequestObject(restore_request_object=request)
        validated = client.backup_instances.begin_validate_for_restore(
            group, vault, INSTANCE, validate
        ).result()
        assert validated.object_type == "OperationJobExtendedInfo"
        poller = client.backup_instances.begin_trigger_restore(group, vault, INSTANCE, request)
        restore_job = str(poller.result().job_id)
        properties = client.jobs.get(group, vault, restore_job).properties
        assert properties is not None
        assert (properties.operation, properties.is_user_triggered) == ("Restore", True)
        # Every field of the REST docs' restore job, as the SDK reads it.
        assert properties.restore_type == "RecoveryPoint"
        assert properties.source_data_store_name == "OperationalStore"
        assert properties.etag
        extended = properties.extended_info
        assert extended.backup_instance_state == "ProtectionConfigured"
        assert extended.data_transferred_in_bytes == 0
        assert extended.recovery_destination == target
        assert extended.source_recover_point.recovery_point_id == job.recovery_point_id
        assert extended.source_recover_point.recovery_point_time is not None
        assert extended.sub_tasks[0].task_name == "Trigger Restore"
        raw = client.jobs.get(group, vault, restore_job, cls=lambda response, body, headers: response)
        shown = raw.http_response.json()["properties"]
        for name in ("progressUrl", "rehydrationPriority", "destinationDataStoreName", "errorDetails"):
            assert name in shown, name
            assert shown[name] is None, name
        assert shown["extendedInfo"]["dataTransferedInBytes"] == 0  # the REST docs' spelling
        assert shown["extendedInfo"]["targetRecoverPoint"] is None
        return restore_job

    restore_job = await asyncio.to_thread(restore)
    for _ in range(200):  # the host's run-restore trigger creates the disk
        finished = await world.store.get_job(VAULT, restore_job)
        if finished.status.is_terminal:
            break
        await asyncio.sleep(0.05)
    assert finished.status is JobStatus.COMPLETED, finished
    assert (
        sim.admin.read_content(
            f"/subscriptions/{VAULT.subscription_id}/resourceGroups/rg-restore/providers/Microsoft.Compute/disks/sdk-restored"
        )
        == "disk-a-v0"
    )
