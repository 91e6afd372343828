"""Restore through the API and the restore worker, against Azurite and the Compute emulator.

The :class:`World` harness (also used by ``tests/integration/api/test_actions.py``) is the
engine's :class:`Simulation` plus an API context on the same storage, clock and ARM gateway,
and a target resource group ``rg-restore`` where the app holds Disk Restore Operator.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from backup import names
from backup.cli import drain_backup_queue
from backup.domain.models import JobStatus, RecoveryPointState
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.restore import TAG_RESTORE_JOB, TAG_RESTORED_RECOVERY_POINT, RestoreMessage
from backup.services.restore import RestoreOutcome
from tests.integration.api.conftest import Answer, Api
from tests.integration.engine.conftest import APP, SEED, SUB, VAULT, Simulation, policy_document

pytestmark = pytest.mark.integration

RESTORE_RG = f"/subscriptions/{SUB}/resourceGroups/rg-restore"
RESTORE_SEED: dict[str, Any] = copy.deepcopy(SEED)
RESTORE_SEED["subscriptions"][0]["resourceGroups"].append({"name": "rg-restore", "location": "eastus"})
# The source disk's own tags, which a restored disk inherits.
SOURCE_DISK = RESTORE_SEED["subscriptions"][0]["resourceGroups"][0]["disks"][0]
SOURCE_DISK["tags"] = {"app": "payroll", "team": "finance"}
RESTORE_SEED["roleAssignments"].append(
    {"principalId": APP, "role": "Disk Restore Operator", "scope": RESTORE_RG}
)


def disk_id(name: str, group: str = "rg-restore") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/disks/{name}"


def restore_body(
    point_id: str,
    disk: str,
    *,
    location: str = "eastus",
    group: str = "rg-restore",
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    datasource: dict[str, Any] = {
        "objectType": "Datasource",
        "datasourceType": "Microsoft.Compute/disks",
        "resourceID": disk_id(disk, group),
        "resourceName": disk,
        "resourceType": "Microsoft.Compute/disks",
        "resourceLocation": location,
    }
    if overrides is not None:
        datasource["resourceProperties"] = {"objectType": "DefaultResourceProperties", **overrides}
    return {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "recoveryPointId": point_id,
        "sourceDataStoreType": "OperationalStore",
        "restoreTargetInfo": {
            "objectType": "RestoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": location,
            "datasourceInfo": datasource,
        },
    }


@dataclass
class World:
    sim: Simulation
    api: Api

    @property
    def store(self) -> Any:
        return self.sim.runtime.store

    def instance_path(self, instance: str) -> str:
        return (
            f"/subscriptions/{VAULT.subscription_id}/resourceGroups/{VAULT.resource_group}"
            f"/providers/Microsoft.DataProtection/backupVaults/{VAULT.name}/backupInstances/{instance}"
        )

    async def result(self, answer: Answer) -> Any:
        """Follow a 202's ``Location`` the way the SDK's poller does at the end."""
        assert answer.status == 202, answer.body
        assert answer.headers["Azure-AsyncOperation"].startswith("http://testserver/api/subscriptions/")
        assert answer.headers["Retry-After"] == "0"
        path = urlsplit(answer.headers["Location"]).path.removeprefix("/api")
        final = await self.api.call("GET", path)
        assert final.status == 200, final.body
        return final.body

    async def backup(self, instance: str, tag: str | None = None, rule: str = "BackupHourly") -> str:
        answer = await self.request_backup(instance, tag, rule)
        body = await self.result(answer)
        assert body["objectType"] == "OperationJobExtendedInfo"
        return str(body["jobId"])

    async def request_backup(
        self, instance: str, tag: str | None = None, rule: str = "BackupHourly"
    ) -> Answer:
        option = {"retentionTagOverride": tag} if tag is not None else {}
        body = {"backupRuleOptions": {"ruleName": rule, "triggerOption": option}}
        return await self.api.call("POST", self.instance_path(instance) + "/backup", body)

    async def backed_up_point(self, instance: str, tag: str | None = None) -> str:
        """An on-demand backup taken now and run: its recovery point id."""
        job_id = await self.backup(instance, tag)
        assert await drain_backup_queue(self.sim.runtime) != []
        job = await self.store.get_job(VAULT, job_id)
        assert job.status is JobStatus.COMPLETED, job
        return str(job.recovery_point_id)

    async def restore(self, instance: str, body: dict[str, Any]) -> Answer:
        return await self.api.call("POST", self.instance_path(instance) + "/restore", body)

    async def validate(self, instance: str, body: dict[str, Any]) -> Answer:
        wrapped = {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": body}
        return await self.api.call("POST", self.instance_path(instance) + "/validateRestore", wrapped)

    async def restore_messages(self) -> list[str]:
        queue = await self.sim.runtime.storage.queue(names.RESTORE_QUEUE)
        return [message.content.decode() for message in await queue.peek_messages(max_messages=32)]

    async def drain_restores(self) -> list[RestoreOutcome]:
        queue = await self.sim.runtime.storage.queue(names.RESTORE_QUEUE)
        runner = self.sim.runtime.restore_runner
        outcomes = []
        async for message in queue.receive_messages(messages_per_page=32, visibility_timeout=60):
            outcomes.append(await runner.handle_message(message.content, message.dequeue_count or 1))
            await queue.delete_message(message)
        return outcomes

    def disks(self, group: str = "rg-restore") -> dict[str, dict[str, Any]]:
        return {
            resource["name"]: resource["doc"]
            for resource in self.sim.admin.state()["resources"]
            if resource["kind"] == "disks" and resource["resourceGroup"] == group
        }


@pytest.fixture
async def world(sim: Simulation) -> World:
    sim.admin.reset(RESTORE_SEED)
    sim.sync_emulator_clock()
    # The API on the engine's own root: same storage, clock and ARM gateway (the sim closes them).
    return World(sim, Api(sim.runtime.replacing(auth_enabled=False, retry_after_seconds=0)))


async def test_restoring_point_k_of_n_gives_the_disk_as_it_was_then(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    source = disk_id("disk-a", "rg-src")
    points = []
    for k in range(1, 4):
        sim.admin.write_disk(source, f"disk-a-at-{k}")
        points.append(await world.backed_up_point("disk-a-instance"))
        sim.advance(timedelta(minutes=10))

    answer = await world.restore("disk-a-instance", restore_body(points[1], "restored-2"))
    job_id = (await world.result(answer))["jobId"]
    job = await world.store.get_job(VAULT, job_id)
    assert (job.status, job.progress_percent, job.initiated_by) == (JobStatus.IN_PROGRESS, 10, "function-key")
    assert job.operation.value == "Restore"
    assert (job.recovery_point_id, job.restore_target_id) == (points[1], disk_id("restored-2"))
    leased = (await world.store.get_recovery_point(VAULT, "disk-a-instance", points[1])).value
    assert leased.in_use_until is not None
    assert leased.in_use_until > sim.now

    assert await world.drain_restores() == [RestoreOutcome.COMPLETED]
    done = await world.store.get_job(VAULT, job_id)
    assert (done.status, done.progress_percent) == (JobStatus.COMPLETED, 100)
    assert sim.admin.read_content(disk_id("restored-2")) == "disk-a-at-2"
    disk = world.disks()["restored-2"]
    assert disk["sku"]["name"] == "StandardSSD_LRS"
    assert disk["location"] == "eastus"
    assert disk["tags"] == {
        "app": "payroll",
        "team": "finance",
        TAG_RESTORED_RECOVERY_POINT: points[1],
        TAG_RESTORE_JOB: job_id,
    }
    released = (await world.store.get_recovery_point(VAULT, "disk-a-instance", points[1])).value
    assert released.in_use_until is None

    # The job is visible through the API with its progress and who started it.
    shown = await world.api.call(
        "GET", world.instance_path("x").rsplit("/backupInstances", 1)[0] + f"/backupJobs/{job_id}"
    )
    assert shown.status == 200
    assert shown.body["properties"]["extendedInfo"]["additionalDetails"]["InitiatedBy"] == "function-key"
    assert shown.body["properties"]["extendedInfo"]["recoveryDestination"] == disk_id("restored-2")

    # Overrides: another SKU, no zone, extra tags.
    overridden = restore_body(
        points[0], "restored-1", overrides={"skuName": "premium_lrs", "zone": None, "tags": {"team": "db"}}
    )
    await world.result(await world.restore("disk-a-instance", overridden))
    assert await world.drain_restores() == [RestoreOutcome.COMPLETED]
    assert sim.admin.read_content(disk_id("restored-1")) == "disk-a-at-1"
    assert world.disks()["restored-1"]["sku"]["name"] == "Premium_LRS"
    assert world.disks()["restored-1"]["tags"]["team"] == "db", "the request's tags win over inherited ones"
    assert world.disks()["restored-1"]["tags"]["app"] == "payroll"


async def test_validation_failures_name_the_code_and_the_fix(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    point = await world.backed_up_point("disk-a-instance")
    ok = await world.validate("disk-a-instance", restore_body(point, "fresh"))
    assert (await world.result(ok))["objectType"] == "OperationJobExtendedInfo"

    await world.result(await world.restore("disk-a-instance", restore_body(point, "taken")))
    await world.drain_restores()
    for call in (world.validate, world.restore):
        same = await call("disk-a-instance", restore_body(point, "TAKEN"))
        assert (same.status, same.code) == (409, "UserErrorSameNameDiskAlreadyExists")

    missing_rg = await world.validate("disk-a-instance", restore_body(point, "d", group="rg-nope"))
    assert (missing_rg.status, missing_rg.code) == (404, "UserErrorRestoreTargetRGNotFound")

    wrong_region = await world.validate("disk-a-instance", restore_body(point, "d", location="westus"))
    assert (wrong_region.status, wrong_region.code) == (400, "UserErrorRestoreLocationMismatch")

    unknown_point = await world.validate("disk-a-instance", restore_body("0" * 32, "d"))
    assert (unknown_point.status, unknown_point.code) == (404, "UserErrorRecoveryPointNotFound")

    bad = restore_body(point, "d")
    bad["restoreTargetInfo"]["recoveryOption"] = "AlternateLocation"
    refused = await world.validate("disk-a-instance", bad)
    assert (refused.status, refused.body["error"]["target"]) == (
        400,
        "restoreRequestObject.restoreTargetInfo.recoveryOption",
    )

    sim.admin.revoke(APP, "Disk Restore Operator", RESTORE_RG)
    denied = await world.validate("disk-a-instance", restore_body(point, "d"))
    assert (denied.status, denied.code) == (403, "UserErrorNotEnoughPermissionOnTargetRG")
    message = denied.body["error"]["message"]
    assert "'Disk Restore Operator'" in message
    assert RESTORE_RG in message
    assert "Microsoft.Compute/disks/write" in message
    sim.admin.grant(APP, "Disk Restore Operator", RESTORE_RG)

    sim.admin.revoke(APP, "Disk Snapshot Contributor", f"/subscriptions/{SUB}/resourceGroups/rg-snaps")
    denied = await world.validate("disk-a-instance", restore_body(point, "d"))
    assert (denied.status, denied.code) == (403, "UserErrorNotEnoughPermissionOnSnapshotRG")
    assert "'Disk Snapshot Contributor'" in denied.body["error"]["message"]
    sim.admin.grant(APP, "Disk Snapshot Contributor", f"/subscriptions/{SUB}/resourceGroups/rg-snaps")

    recorded = (await world.store.get_recovery_point(VAULT, "disk-a-instance", point)).value
    await sim.runtime.compute.delete_snapshot(ComputeResourceId.snapshot(recorded.snapshot_id))
    gone = await world.validate("disk-a-instance", restore_body(point, "d"))
    assert (gone.status, gone.code) == (404, "UserErrorDiskSnapshotNotFound")


async def test_premium_v2_snapshot_is_refused_until_its_copy_completes(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-fast", policy_document(interval="PT12H"))
    point = await world.backed_up_point("disk-fast-instance")
    early = await world.validate("disk-fast-instance", restore_body(point, "fast-restored"))
    assert (early.status, early.code) == (409, "UserErrorSnapshotCopyInProgress")
    assert "Retry the restore later" in early.body["error"]["message"]
    refused = await world.restore("disk-fast-instance", restore_body(point, "fast-restored"))
    assert refused.status == 409
    assert await world.restore_messages() == []

    sim.advance(timedelta(seconds=61))
    await world.result(await world.restore("disk-fast-instance", restore_body(point, "fast-restored")))
    assert await world.drain_restores() == [RestoreOutcome.COMPLETED]
    assert sim.admin.read_content(disk_id("fast-restored")) == "fast-v0"
    assert world.disks()["fast-restored"]["sku"]["name"] == "PremiumV2_LRS"


async def test_retention_skips_a_point_a_restore_is_using(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a", policy_document(default="P1D"))
    older = await world.backed_up_point("disk-a-instance")
    sim.advance(timedelta(minutes=10))
    await world.backed_up_point("disk-a-instance")
    sim.advance(timedelta(days=2))  # both expired; the newer one is kept anyway (n+1)

    await world.result(await world.restore("disk-a-instance", restore_body(older, "late")))
    swept = await sim.runtime.sweeper.sweep()
    assert swept.deleted == []
    point = (await world.store.get_recovery_point(VAULT, "disk-a-instance", older)).value
    assert point.state is RecoveryPointState.COMMITTED

    assert await world.drain_restores() == [RestoreOutcome.COMPLETED]
    swept = await sim.runtime.sweeper.sweep()
    assert len(swept.deleted) == 1
    assert (await world.store.get_recovery_point(VAULT, "disk-a-instance", older)).value.state is (
        RecoveryPointState.DELETING
    )


async def test_duplicates_create_one_disk_and_foreign_disks_and_poison_fail_the_job(world: World) -> None:
    sim = world.sim
    runner = sim.runtime.restore_runner
    await sim.protect("disk-a")
    point = await world.backed_up_point("disk-a-instance")

    job_id = (await world.result(await world.restore("disk-a-instance", restore_body(point, "twice"))))[
        "jobId"
    ]
    [body] = await world.restore_messages()
    outcomes = await asyncio.gather(runner.handle_message(body, 1), runner.handle_message(body, 1))
    assert RestoreOutcome.COMPLETED in outcomes
    assert await runner.handle_message(body, 2) is RestoreOutcome.DUPLICATE
    # A worker that created the disk but died before recording it: the redelivery adopts the disk.
    job = await world.store.get_job(VAULT, job_id)
    await world.store.put_job(replace(job, status=JobStatus.IN_PROGRESS, end_time=None, progress_percent=50))
    assert await runner.handle_message(body, 3) is RestoreOutcome.COMPLETED
    assert [name for name in world.disks() if name.lower() == "twice"] == ["twice"]
    assert await world.drain_restores() == [RestoreOutcome.DUPLICATE]  # the queued original

    # A disk of the target name appears after the restore was accepted: the job fails, nothing is touched.
    job_id = (await world.result(await world.restore("disk-a-instance", restore_body(point, "grabbed"))))[
        "jobId"
    ]
    other = (await world.store.get_recovery_point(VAULT, "disk-a-instance", point)).value
    snapshot = await sim.runtime.compute.get_snapshot(ComputeResourceId.snapshot(other.snapshot_id))
    assert snapshot is not None
    await sim.runtime.compute.create_disk_from_snapshot(
        ComputeResourceId.disk(disk_id("grabbed")), snapshot, location="eastus", sku="Standard_LRS"
    )
    assert await world.drain_restores() == [RestoreOutcome.FAILED]
    failed = await world.store.get_job(VAULT, job_id)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "UserErrorSameNameDiskAlreadyExists")
    assert world.disks()["grabbed"]["sku"]["name"] == "Standard_LRS"
    assert (await world.store.get_recovery_point(VAULT, "disk-a-instance", point)).value.in_use_until is None

    # A message the host gave up on ends as a failed job and frees the point.
    job_id = (await world.result(await world.restore("disk-a-instance", restore_body(point, "poisoned"))))[
        "jobId"
    ]
    [body] = await world.restore_messages()
    await runner.handle_poison(body)
    poisoned = await world.store.get_job(VAULT, job_id)
    assert (poisoned.status, poisoned.error_code) == (JobStatus.FAILED, "RestoreRetriesExhausted")
    assert (await world.store.get_recovery_point(VAULT, "disk-a-instance", point)).value.in_use_until is None
    assert RestoreMessage.from_json(body).job_id == job_id


async def test_ten_restores_per_instance_per_rolling_day(world: World) -> None:
    sim = world.sim
    await sim.protect("disk-a")
    point = await world.backed_up_point("disk-a-instance")
    for n in range(10):
        assert (await world.restore("disk-a-instance", restore_body(point, f"copy-{n}"))).status == 202
    eleventh = await world.restore("disk-a-instance", restore_body(point, "copy-10"))
    assert (eleventh.status, eleventh.code) == (409, "RestoreDailyLimitReached")
    assert "next restore is allowed after" in eleventh.body["error"]["message"]
    sim.advance(timedelta(hours=24, seconds=1))
    assert (await world.restore("disk-a-instance", restore_body(point, "copy-10"))).status == 202
