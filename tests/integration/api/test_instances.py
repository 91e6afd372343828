"""Backup instances and their protection lifecycle through the router, against Azurite and the
Compute emulator: validate-for-backup checks, configure, state changes, soft delete, undelete,
purge, the cross-vault view, and refusals that leave every stored row as it was."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from backup.adapters.caller_rights import ArmCallerRights
from backup.adapters.compute import ComputeGateway
from backup.adapters.tables.keys import DATASOURCE_PARTITION
from backup.api.odata import encode_skip_token
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, scheduled_backup_job_id
from backup.domain.models import JobOperation, JobStatus, ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.snapshots import recovery_point_id
from backup.errors import AuthorizationError
from backup.names import VAULT_DATA_TABLE
from backup.services.backup_runner import BackupRunner, Outcome
from backup.services.messages import SCHEDULED, BackupRequest
from backup.services.protection import InstancePurger
from backup.telemetry import Telemetry
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from tests.integration.api.conftest import DEFAULT_POLICY, SUB, T0, Api, vault_body, vault_path

pytestmark = pytest.mark.integration

APP = "a5555555-0000-4000-8000-0000000000a1"
TOKEN = "instances-app-token"
ALREADY_PROTECTED = "UserErrorDppDatasourceAlreadyProtected"
DISKS = ("disk-a", "disk-b", "disk-c", "disk-d")


@dataclass
class Env:
    api: Api
    clock: ManualClock
    emulator: EmulatorServer
    subscription: str
    """The disks' subscription (fresh per test, so datasource claims never collide across tests)."""
    other_subscription: str

    @property
    def admin(self) -> Any:
        return self.emulator.admin

    @property
    def source_rg(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/rg-src"

    @property
    def snapshot_rg(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/rg-snaps"

    def disk(self, name: str = "disk-a", group: str = "rg-src") -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{group}/providers/Microsoft.Compute/disks/"
            + name
        )

    def purger(self) -> InstancePurger:
        return InstancePurger(self.api.context.store, self.api.runtime.compute, self.clock)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.admin.set_clock_offset((self.clock.now() - datetime.now(UTC)).total_seconds())


def seed(subscription: str, other: str) -> dict[str, Any]:
    return {
        "subscriptions": [
            {
                "id": subscription,
                "resourceGroups": [
                    {
                        "name": "rg-src",
                        "location": "westus",
                        "disks": [
                            {"name": name, "sku": "StandardSSD_LRS", "sizeGB": 32, "content": f"{name}-v0"}
                            for name in DISKS
                        ]
                        + [{"name": "disk-fast", "sku": "PremiumV2_LRS", "sizeGB": 64, "content": "fast"}],
                    },
                    {
                        "name": "rg-east",
                        "location": "eastus",
                        "disks": [{"name": "disk-east", "sku": "Premium_LRS", "sizeGB": 32}],
                    },
                    {"name": "rg-snaps", "location": "westus"},
                ],
            },
            {"id": other, "resourceGroups": [{"name": "rg-other-snaps", "location": "westus"}]},
        ],
        "principals": [{"id": APP, "token": TOKEN}],
        "roleAssignments": [
            {"principalId": APP, "role": role, "scope": f"/subscriptions/{sub}/resourceGroups/{group}"}
            for role, sub, group in (
                ("Disk Backup Reader", subscription, "rg-src"),
                ("Disk Backup Reader", subscription, "rg-east"),
                ("Disk Snapshot Contributor", subscription, "rg-snaps"),
                ("Disk Snapshot Contributor", other, "rg-other-snaps"),
            )
        ],
    }


@contextlib.asynccontextmanager
async def instance_env(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Env]:
    """An API context on Azurite and the emulator (fresh subscriptions, manual clock at T0)."""
    subscription, other = str(uuid.uuid4()), str(uuid.uuid4())
    compute_emulator.admin.reset(seed(subscription, other))
    clock = ManualClock(T0)
    compute_emulator.admin.set_clock_offset((T0 - datetime.now(UTC)).total_seconds())
    gateway = ComputeGateway(
        AsyncStaticTokenCredential(TOKEN),
        endpoint=compute_emulator.url,
        ca_bundle=compute_emulator.ca_bundle,
        retry_total=0,
        polling_interval=0,
    )
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=azurite.connection_string),
        clock=clock,
        auth_enabled=False,
        retry_after_seconds=0,
        page_size=3,
        compute=gateway,
        # Linked checks (with sign-in, where a test turns it on) ask the emulator, as ARM.
        caller_rights=ArmCallerRights(
            Settings(arm_endpoint=compute_emulator.url, arm_ca_bundle=compute_emulator.ca_bundle),
            retry_total=0,
        ),
    )
    try:
        yield Env(Api(runtime), clock, compute_emulator, subscription, other)
    finally:
        await runtime.close()


@pytest.fixture
async def env(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Env]:
    async with instance_env(azurite, compute_emulator) as prepared:
        yield prepared


# --- helpers ----------------------------------------------------------------------------------------


def daily_policy() -> dict[str, Any]:
    policy: dict[str, Any] = copy.deepcopy(DEFAULT_POLICY)
    policy["policyRules"][0]["trigger"]["schedule"]["repeatingTimeIntervals"] = [
        "R/2020-04-05T13:00:00+00:00/P1D"
    ]
    return policy


async def make_vault(env: Env, vault: VaultRef) -> None:
    assert (await env.api.call("PUT", vault_path(vault), vault_body())).status == 201
    for name, policy in (("p1", DEFAULT_POLICY), ("daily", daily_policy())):
        answer = await env.api.call(
            "PUT", vault_path(vault) + f"/backupPolicies/{name}", {"properties": policy}
        )
        assert answer.status == 200, answer.body


def instance_body(
    env: Env,
    vault: VaultRef,
    disk: str | None = None,
    *,
    policy: str = "p1",
    snapshot_rg: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "objectType": "BackupInstance",
        "dataSourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": disk or env.disk(),
            "resourceLocation": "westus",
            "resourceType": "Microsoft.Compute/disks",
        },
        "policyInfo": {
            "policyId": f"{vault.id}/backupPolicies/{policy}",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": snapshot_rg or env.snapshot_rg,
                    }
                ]
            },
        },
        **extra,
    }
    return {"properties": properties}


def instance_path(vault: VaultRef, name: str) -> str:
    return vault_path(vault) + f"/backupInstances/{name}"


def local(url: str) -> tuple[str, str]:
    """(ARM path, query without api-version) of an absolute URL the API handed out."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("api-version="))
    return parts.path.removeprefix("/api"), query


async def follow(env: Env, url: str) -> Any:
    path, query = local(url)
    return await env.api.call("GET", path, query=query)


async def poll(env: Env, answer: Any) -> dict[str, Any]:
    """Follow a 202 like the SDK: the Azure-AsyncOperation status, then Location on success."""
    assert answer.status == 202, answer.body
    path, query = local(answer.headers["Azure-AsyncOperation"])
    status = await env.api.call("GET", path, query=query)
    assert status.status == 200
    if status.body["status"] == "Succeeded":
        path, query = local(answer.headers["Location"])
        result = await env.api.call("GET", path, query=query)
        assert result.status == 200, result.body
    return dict(status.body)


async def claims(env: Env) -> list[tuple[str, str]]:
    table = await env.api.runtime.storage.table(VAULT_DATA_TABLE)
    rows = [
        (str(entity["RowKey"]), str(entity.metadata["etag"]))
        async for entity in table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": DATASOURCE_PARTITION}
        )
    ]
    return sorted(rows)


async def protect(
    env: Env, vault: VaultRef, name: str, disk: str | None = None, **options: Any
) -> dict[str, Any]:
    """Configure protection as a client of Azure does: the 201 starts the operation, whose status
    is polled; then the instance is read (what the SDK's poller returns)."""
    answer = await env.api.call("PUT", instance_path(vault, name), instance_body(env, vault, disk, **options))
    assert answer.status == 201, answer.body
    starting = answer.body["properties"]
    assert starting["currentProtectionState"] == "ConfiguringProtection"
    assert starting["protectionStatus"] == {"status": "ConfiguringProtection"}
    assert starting["provisioningState"] == "Provisioning"
    status_url = answer.headers["Azure-AsyncOperation"]
    assert "Location" not in answer.headers  # a PUT's poller ends with a GET of the resource
    polled = await env.api.call("GET", urlsplit(status_url).path.removeprefix("/api"))
    assert polled.body["status"] == "Succeeded", polled.body
    got = await env.api.call("GET", instance_path(vault, name))
    assert got.status == 200, got.body
    return dict(got.body)


async def back_up(env: Env, vault: VaultRef, name: str, slot: datetime) -> None:
    runner = BackupRunner(env.api.context.store, env.api.runtime.compute, env.clock, Telemetry())
    outcome = await runner.run(
        BackupRequest(vault=vault, instance=name, kind=SCHEDULED, slot=slot, requested_at=env.clock.now())
    )
    assert outcome is Outcome.RECORDED


# --- tests ------------------------------------------------------------------------------------------


async def test_configure_get_list_and_move_to_another_policy(env: Env, vault: VaultRef) -> None:
    api = env.api
    await make_vault(env, vault)
    created = await protect(env, vault, "bi-a", friendlyName="disk a")
    props = created["properties"]
    assert created["id"] == f"{vault.id}/backupInstances/bi-a"
    assert created["type"] == "Microsoft.DataProtection/backupVaults/backupInstances"
    assert props["provisioningState"] == "Succeeded"
    assert props["currentProtectionState"] == "ProtectionConfigured"
    assert props["protectionStatus"] == {"status": "ProtectionConfigured"}
    assert props["friendlyName"] == "disk a"
    assert props["dataSourceInfo"]["resourceName"] == "disk-a"
    assert "protectionErrorDetails" not in props
    got = await api.call("GET", instance_path(vault, "BI-A"))
    assert (got.status, got.body) == (200, created)

    stored = await api.context.store.get_instance(vault, "bi-a")
    assert stored is not None
    assert stored.value.policy_name == "p1"
    assert stored.value.disk_location == "westus"
    plans = {
        pair[0].value.name: pair[1] for pair in await api.context.store.instances_with_plans(vault) if pair[0]
    }
    assert plans["bi-a"] is not None
    assert plans["bi-a"].value.active

    for index, disk in enumerate(DISKS[1:]):
        await protect(env, vault, f"bi-{'bcd'[index]}", env.disk(disk))
    first = await api.call("GET", vault_path(vault) + "/backupInstances")
    assert [item["name"] for item in first.body["value"]] == ["bi-a", "bi-b", "bi-c"]
    second = await follow(env, first.body["nextLink"])
    assert [item["name"] for item in second.body["value"]] == ["bi-d"]

    again = await api.call(
        "PUT", instance_path(vault, "bi-a"), instance_body(env, vault, friendlyName="disk a")
    )
    assert (again.status, again.body) == (200, created)
    moved = await api.call("PUT", instance_path(vault, "bi-a"), instance_body(env, vault, policy="daily"))
    assert moved.status == 200, moved.body
    assert moved.body["properties"]["policyInfo"]["policyId"].endswith("/backupPolicies/daily")
    plans = {
        pair[0].value.name: pair[1] for pair in await api.context.store.instances_with_plans(vault) if pair[0]
    }
    assert plans["bi-a"] is not None
    assert plans["bi-a"].value.policy_document == daily_policy()
    stored = await api.context.store.get_instance(vault, "bi-a")
    assert stored is not None
    assert stored.value.policy_name == "daily"

    # A Premium SSD v2 disk takes a daily policy, not a 4-hourly one, on create and on a move.
    refused = await api.call(
        "PUT", instance_path(vault, "bi-fast"), instance_body(env, vault, env.disk("disk-fast"))
    )
    assert (refused.status, refused.code) == (400, "UserErrorPolicyFrequencyNotSupportedForDisk")
    await protect(env, vault, "bi-fast", env.disk("disk-fast"), policy="daily")
    before = await api.rows(vault)
    cases = [
        (
            "bi-fast",
            instance_body(env, vault, env.disk("disk-fast")),
            "UserErrorPolicyFrequencyNotSupportedForDisk",
        ),
        ("bi-a", instance_body(env, vault, env.disk("disk-b")), "UserErrorDatasourceChangeNotAllowed"),
        (
            "bi-a",
            instance_body(
                env,
                vault,
                policy="daily",
                snapshot_rg=f"/subscriptions/{env.subscription}/resourceGroups/rg-src",
            ),
            "UserErrorSnapshotRGChangeNotAllowed",
        ),
        ("bi-other", instance_body(env, vault, env.disk("disk-b")), "UserErrorDppDatasourceAlreadyProtected"),
    ]
    for name, body, code in cases:
        answer = await api.call("PUT", instance_path(vault, name), body)
        assert (answer.status, answer.code) == (400, code), answer.body
        assert answer.body["error"]["message"]
    assert await api.rows(vault) == before


VALIDATE_CASES = [
    (
        "revoke-reader",
        "UserErrorMissingRequiredPermissions",
        ["Disk Backup Reader", "beginGetAccess", "rg-src"],
    ),
    (
        "revoke-snapshot",
        "UserErrorMissingRequiredPermissions",
        ["Disk Snapshot Contributor", "snapshots/write"],
    ),
    ("missing-disk", "UserErrorManagedDiskNotFound", ["disk-gone"]),
    ("missing-rg", "UserErrorSnapshotRGNotFound", ["rg-nope"]),
    ("other-subscription", "UserErrorSnapshotRGSubscriptionMismatch", ["disk's subscription"]),
    ("other-region", "UserErrorDatasourceAndVaultLocationMismatch", ["eastus"]),
]


async def test_validate_for_backup_reports_each_failed_check(env: Env, vault: VaultRef) -> None:
    api = env.api
    await make_vault(env, vault)
    validate = vault_path(vault) + "/validateForBackup"
    ok = await api.call("POST", validate, {"backupInstance": instance_body(env, vault)["properties"]})
    status = await poll(env, ok)
    assert status["status"] == "Succeeded"
    result = await follow(env, ok.headers["Location"])
    assert result.body == {"objectType": "OperationJobExtendedInfo"}

    app_scope = {
        "revoke-reader": ("Disk Backup Reader", env.source_rg),
        "revoke-snapshot": ("Disk Snapshot Contributor", env.snapshot_rg),
    }
    for case, code, words in VALIDATE_CASES:
        disk, snapshot_rg = env.disk(), env.snapshot_rg
        if case in app_scope:
            env.admin.revoke(APP, *app_scope[case])
        elif case == "missing-disk":
            disk = env.disk("disk-gone")
        elif case == "missing-rg":
            snapshot_rg = f"/subscriptions/{env.subscription}/resourceGroups/rg-nope"
        elif case == "other-subscription":
            snapshot_rg = f"/subscriptions/{env.other_subscription}/resourceGroups/rg-other-snaps"
        elif case == "other-region":
            disk = env.disk("disk-east", "rg-east")
        body = instance_body(env, vault, disk, snapshot_rg=snapshot_rg)
        before = (await api.rows(vault), await claims(env))
        answer = await api.call("POST", validate, {"backupInstance": body["properties"]})
        status = await poll(env, answer)
        assert status["status"] == "Failed", (case, status)
        assert status["error"]["code"] == code, (case, status)
        for word in words:
            assert word in status["error"]["message"], (case, word, status["error"]["message"])
        put = await api.call("PUT", instance_path(vault, "bi-" + case), body)
        assert (put.status, put.code) == (400, code), (case, put.body)
        assert put.body["error"]["message"] == status["error"]["message"]
        after = (await api.rows(vault), await claims(env))
        assert [row for row in after[0] if not row[1].startswith("o|")] == [
            row for row in before[0] if not row[1].startswith("o|")
        ]
        assert after[1] == before[1]
        if case in app_scope:
            env.admin.grant(APP, *app_scope[case])

    # Already protected, here or in another vault: a synchronous 400, as Azure answers it.
    await protect(env, vault, "bi-a")
    other = VaultRef(vault.subscription_id, vault.resource_group, vault.name + "-2")
    await make_vault(env, other)
    for target in (vault, other):
        answer = await api.call(
            "POST",
            vault_path(target) + "/validateForBackup",
            {"backupInstance": instance_body(env, target)["properties"]},
        )
        assert (answer.status, answer.code) == (400, "UserErrorDppDatasourceAlreadyProtected")
        assert "bi-a" in answer.body["error"]["message"]


async def test_stop_suspend_and_resume(env: Env, vault: VaultRef) -> None:
    api = env.api
    await make_vault(env, vault)
    await protect(env, vault, "bi-a")
    store = api.context.store

    async def state() -> tuple[str, bool]:
        pairs = {p[0].value.name: p for p in await store.instances_with_plans(vault) if p[0]}
        instance, plan = pairs["bi-a"]
        assert instance is not None
        assert plan is not None
        got = await api.call("GET", instance_path(vault, "bi-a"))
        assert got.body["properties"]["currentProtectionState"] == instance.value.protection_state.value
        return instance.value.protection_state.value, plan.value.active

    steps = [
        ("stopProtection", ("ProtectionStopped", False)),
        ("stopProtection", ("ProtectionStopped", False)),
        ("resumeProtection", ("ProtectionConfigured", True)),
        ("suspendBackups", ("BackupSchedulesSuspended", False)),
        ("stopProtection", ("ProtectionStopped", False)),
        ("suspendBackups", ("BackupSchedulesSuspended", False)),
        ("resumeBackups", ("ProtectionConfigured", True)),
        ("resumeBackups", ("ProtectionConfigured", True)),
    ]
    for operation, expected in steps:
        answer = await api.call("POST", instance_path(vault, "bi-a") + "/" + operation)
        assert (await poll(env, answer))["status"] == "Succeeded", operation
        assert "/backupInstances/bi-a/operationResults/" in answer.headers["Location"]
        assert await state() == expected, operation
    resumed = await store.get_instance(vault, "bi-a")
    assert resumed is not None
    assert resumed.value.last_attempted_slot == datetime(
        2026, 11, 26, 1, 0, tzinfo=UTC
    )  # the pause's slot is skipped

    # With a body (Multi-User Authorization requests) too, as the SDK may send it.
    answer = await api.call(
        "POST", instance_path(vault, "bi-a") + "/stopProtection", {"resourceGuardOperationRequests": []}
    )
    assert (await poll(env, answer))["status"] == "Succeeded"


async def test_soft_delete_undelete_and_purge_after_the_period(env: Env, vault: VaultRef) -> None:
    api, store = env.api, env.api.context.store
    await make_vault(env, vault)
    # The purge date is the vault's soft-delete period (test_immutability_and_mua covers others).
    soft_delete = {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 14}}
    patched = await api.call("PATCH", vault_path(vault), {"properties": {"securitySettings": soft_delete}})
    assert patched.status == 200
    await protect(env, vault, "bi-a")
    await back_up(env, vault, "bi-a", datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    env.advance(timedelta(hours=4))
    await back_up(env, vault, "bi-a", datetime(2026, 11, 26, 5, 0, tzinfo=UTC))
    points = await store.list_recovery_points(vault, "bi-a")
    snapshots = [ComputeResourceId.snapshot(point.snapshot_id) for point in points]
    gateway = api.runtime.compute
    assert len(snapshots) == 2

    deleted = await api.call("DELETE", instance_path(vault, "bi-a"))
    assert (await poll(env, deleted))["status"] == "Succeeded"
    assert (await api.call("GET", instance_path(vault, "bi-a"))).status == 404
    assert (await api.call("GET", vault_path(vault) + "/backupInstances")).body["value"] == []
    assert (await api.call("DELETE", instance_path(vault, "bi-a"))).status == 204
    assert (await api.call("POST", instance_path(vault, "bi-a") + "/resumeProtection")).status == 404
    listed = await api.call("GET", vault_path(vault) + "/deletedBackupInstances")
    [item] = listed.body["value"]
    assert item["id"] == f"{vault.id}/deletedBackupInstances/bi-a"
    assert item["properties"]["currentProtectionState"] == "SoftDeleted"
    assert item["properties"]["deletionInfo"]["scheduledPurgeTime"] == "2026-12-10T08:00:00Z"
    got = await api.call("GET", vault_path(vault) + "/deletedBackupInstances/bi-a")
    assert got.body == item
    pair = next(p for p in await store.instances_with_plans(vault) if p[0] and p[0].value.name == "bi-a")
    assert pair[1] is not None
    assert not pair[1].value.active  # scheduled backups stop at once
    # The disk stays claimed: another vault cannot protect it while it can be undeleted.
    other = VaultRef(vault.subscription_id, vault.resource_group, vault.name + "-2")
    await make_vault(env, other)
    refused = await api.call("PUT", instance_path(other, "bi-x"), instance_body(env, other))
    assert (refused.status, refused.code) == (400, "UserErrorDppDatasourceAlreadyProtected")
    assert "soft-deleted" in refused.body["error"]["message"]
    reused = await api.call("PUT", instance_path(vault, "bi-a"), instance_body(env, vault))
    assert (reused.status, reused.code) == (409, "UserErrorBackupInstanceSoftDeleted")

    undeleted = await api.call("POST", vault_path(vault) + "/deletedBackupInstances/bi-a/undelete")
    assert (await poll(env, undeleted))["status"] == "Succeeded"
    got = await api.call("GET", instance_path(vault, "bi-a"))
    assert got.body["properties"]["currentProtectionState"] == "ProtectionStopped"
    assert (await api.call("GET", vault_path(vault) + "/deletedBackupInstances/bi-a")).status == 404
    assert (await api.call("POST", vault_path(vault) + "/deletedBackupInstances/bi-a/undelete")).status == 404

    assert (await poll(env, await api.call("DELETE", instance_path(vault, "bi-a"))))["status"] == "Succeeded"
    env.advance(timedelta(days=13))
    purger = env.purger()
    early = await purger.purge_due()
    assert early.purged == []
    for snapshot in snapshots:
        assert await gateway.get_snapshot(snapshot) is not None
    env.advance(timedelta(days=1, minutes=1))
    result = await purger.purge_due()
    assert result.purged == [f"{vault.id}/backupInstances/bi-a"]
    assert result.snapshots_deleted == 2
    for snapshot in snapshots:
        assert await gateway.get_snapshot(snapshot) is None
    kinds = {row[1].split("|")[0] for row in await api.rows(vault) if row[0] == "vaultdata"}
    # No instance, plan, instance-index, recovery point or expiry row is left; jobs (and their
    # index copies) stay, and so does the vault's v|instance-index layout marker.
    assert kinds == {"p", "o", "j", "k", "v"}
    jobs = [job for job in await store.list_jobs(vault) if job.operation.value == "RetentionDeletion"]
    assert sorted(job.recovery_point_id or "" for job in jobs) == sorted(point.id for point in points)
    assert all(job.status.value == "Completed" for job in jobs)
    assert (await purger.purge_due()).purged == []
    # The claim is released: the disk can be protected again, anywhere.
    await protect(env, other, "bi-x")


async def test_cross_vault_view_with_health_next_backup_and_filters(env: Env, vault: VaultRef) -> None:
    api, store = env.api, env.api.context.store
    second = VaultRef(vault.subscription_id, vault.resource_group, vault.name + "-2")
    for target in (vault, second):
        await make_vault(env, target)
    await protect(env, vault, "bi-a")
    await protect(env, vault, "bi-b", env.disk("disk-b"), policy="daily")
    await protect(env, second, "bi-c", env.disk("disk-c"))
    await protect(env, second, "bi-d", env.disk("disk-d"))
    current = await store.get_instance(vault, "bi-b")
    assert current is not None
    await store.update_instance(
        current, current.value.after_failure("UserErrorDiskSnapshotFailed", "The disk said no.")
    )
    await back_up(env, second, "bi-c", datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    assert (await poll(env, await api.call("POST", instance_path(second, "bi-d") + "/stopProtection")))[
        "status"
    ] == "Succeeded"

    failing = await api.call("GET", instance_path(vault, "bi-b"))
    error = failing.body["properties"]["protectionErrorDetails"]
    assert error["code"] == "UserErrorDiskSnapshotFailed"
    assert error["message"] == "The disk said no."
    assert failing.body["properties"]["protectionStatus"]["errorDetails"] == error
    assert failing.body["properties"]["currentProtectionState"] == "ProtectionError"

    path = f"/subscriptions/{SUB}/resourceGroups/{vault.resource_group}/providers/Microsoft.DataProtection"
    path += "/backupInstances"
    first = await api.call("GET", path)
    assert first.status == 200, first.body
    second_page = await follow(env, first.body["nextLink"])
    everything = {
        item["name"]: item["properties"] for item in first.body["value"] + second_page.body["value"]
    }
    assert sorted(everything) == ["bi-a", "bi-b", "bi-c", "bi-d"]
    assert everything["bi-a"]["backupSummary"]["nextScheduledBackupTime"] == "2026-11-26T05:00:00Z"
    assert everything["bi-b"]["backupSummary"]["nextScheduledBackupTime"] == "2026-11-26T13:00:00Z"
    assert everything["bi-b"]["backupSummary"]["health"] == "Unhealthy"
    assert everything["bi-c"]["backupSummary"]["recoveryPointCount"] == 1
    assert everything["bi-c"]["backupSummary"]["lastBackupTime"] is not None
    # One point: it is both the oldest and the newest the disk can be restored to.
    assert (
        everything["bi-c"]["backupSummary"]["oldestRecoveryPointTime"]
        == (everything["bi-c"]["backupSummary"]["lastBackupTime"])
    )
    assert (
        everything["bi-c"]["backupSummary"]["newestRecoveryPointTime"]
        == (everything["bi-c"]["backupSummary"]["lastBackupTime"])
    )
    assert everything["bi-a"]["backupSummary"]["oldestRecoveryPointTime"] is None
    assert everything["bi-c"]["backupSummary"]["vaultName"] == second.name
    assert everything["bi-d"]["backupSummary"]["nextScheduledBackupTime"] is None
    assert everything["bi-d"]["backupSummary"]["health"] == "Inactive"

    async def names(filter_text: str) -> list[str]:
        answer = await api.call("GET", path, query="$filter=" + filter_text.replace(" ", "%20"))
        assert answer.status == 200, answer.body
        return [item["name"] for item in answer.body["value"]]

    assert await names(f"vaultName eq '{second.name}'") == ["bi-c", "bi-d"]
    assert await names("health eq 'unhealthy'") == ["bi-b"]
    assert await names("currentProtectionState eq 'ProtectionStopped'") == ["bi-d"]
    # A failing instance is still ProtectionConfigured (Azure has no ProtectionError status); its
    # currentProtectionState tells it apart, and reads its own index range.
    assert await names(f"vaultName eq '{vault.name}' and protectionStatus eq 'ProtectionConfigured'") == [
        "bi-a",
        "bi-b",
    ]
    assert await names("currentProtectionState eq 'ProtectionError'") == ["bi-b"]
    assert await names("protectionStatus eq 'ProtectionError'") == []
    subscription_wide = await api.call(
        "GET", f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/backupInstances"
    )
    assert subscription_wide.status == 200
    for listing, token in (
        (path, "%%%"),
        (path, encode_skip_token("no-vault-key")),
        (vault_path(vault) + "/backupInstances", encode_skip_token("not/a name")),
    ):
        refused = await api.call("GET", listing, query="$skipToken=" + token)
        assert refused.status == 400, refused.body
        assert refused.body["error"]["code"] == "InvalidQueryParameterValue"
        assert refused.body["error"]["target"] == "$skipToken"


async def test_bad_input_is_refused_and_changes_nothing(env: Env, vault: VaultRef) -> None:
    api = env.api
    await make_vault(env, vault)
    await protect(env, vault, "bi-a")
    before = (await api.rows(vault), await claims(env))
    path = instance_path(vault, "bi-new")

    def with_props(change: Any) -> dict[str, Any]:
        body = instance_body(env, vault, env.disk("disk-b"))
        change(body["properties"])
        return body

    def setter(*keys: str, value: Any) -> Any:
        def change(properties: dict[str, Any]) -> None:
            target = properties
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value

        return change

    store_params = ("policyInfo", "policyParameters", "dataStoreParametersList")
    policies = vault_path(vault) + "/backupPolicies"

    def operational(group: str, data_store: str = "OperationalStore") -> list[dict[str, str]]:
        kind = "AzureOperationalStoreParameters"
        return [{"objectType": kind, "dataStoreType": data_store, "resourceGroupId": group}]

    bad_puts: list[tuple[tuple[str, ...], Any, str]] = [
        (("dataSourceInfo", "datasourceType"), "Microsoft.Web/sites", "UnsupportedDatasourceType"),
        (("dataSourceInfo", "resourceType"), "Microsoft.Sql/servers", "UnsupportedDatasourceType"),
        (("dataSourceInfo", "datasourceType"), None, "MissingProperty"),
        (("dataSourceInfo", "resourceID"), "/subscriptions/x/disks/d", "InvalidResourceId"),
        (("dataSourceInfo", "resourceName"), "disk-z", "InvalidPropertyValue"),
        (("dataSourceInfo",), None, "MissingProperty"),
        (("dataSourceSetInfo",), {"resourceID": "x"}, "InvalidRequestContent"),
        (("objectType",), "Widget", "InvalidRequestContent"),
        (("policyInfo",), None, "MissingProperty"),
        (("policyInfo", "policyId"), f"{vault.id}-x/backupPolicies/p1", "UserErrorPolicyNotInVault"),
        (("policyInfo", "policyId"), f"{policies}/nope", "UserErrorPolicyNotFound"),
        (("policyInfo", "policyParameters"), None, "UserErrorOperationalStoreParametersNotProvided"),
        (store_params, [], "UserErrorOperationalStoreParametersNotProvided"),
        (store_params, operational("rg-snaps"), "UserErrorInvalidOperationalStoreResourceGroup"),
        (store_params, operational(env.snapshot_rg, "VaultStore"), "InvalidPropertyValue"),
        (("validationType",), "Thorough", "InvalidPropertyValue"),
        (("identityDetails",), {"userAssignedIdentityArmUrl": "nope"}, "InvalidResourceId"),
    ]  # fmt: skip
    protected = {"backupInstance": instance_body(env, vault)["properties"]}
    filtered = (
        f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/backupInstances?$filter=color%20eq%20'red'"
    )
    cases: list[tuple[str, str, Any, int, str]] = [
        ("PUT", path, with_props(setter(*keys, value=value)), 400, code) for keys, value, code in bad_puts
    ]
    cases += [
        ("PUT", path, {}, 400, "MissingProperty"),
        ("PUT", path, {"properties": []}, 400, "InvalidRequestContent"),
        ("PUT", vault_path(vault) + "/backupInstances/-bad", {}, 400, "InvalidResourceName"),
        ("PUT", instance_path(replace(vault, name="nope"), "bi"), {}, 404, "ResourceNotFound"),
        ("POST", vault_path(vault) + "/validateForBackup", {}, 400, "MissingProperty"),
        ("POST", vault_path(vault) + "/validateForBackup", protected, 400, ALREADY_PROTECTED),
        ("POST", instance_path(vault, "nope") + "/stopProtection", None, 404, "ResourceNotFound"),
        ("POST", instance_path(vault, "bi-a") + "/stopProtection", [], 400, "InvalidRequestContent"),
        ("POST", vault_path(vault) + "/deletedBackupInstances/bi-a/undelete", None, 404, "ResourceNotFound"),
        ("GET", vault_path(vault) + "/deletedBackupInstances/bi-a", None, 404, "ResourceNotFound"),
        ("GET", instance_path(vault, "nope"), None, 404, "ResourceNotFound"),
        ("GET", filtered, None, 400, "InvalidQueryParameterValue"),
        ("PATCH", instance_path(vault, "bi-a"), {}, 405, "MethodNotAllowed"),
    ]  # fmt: skip
    for method, target, body, status, code in cases:
        target, _, query = target.partition("?")
        answer = await api.call(method, target, body, query=query)
        assert (answer.status, answer.code) == (status, code), (method, target, body, answer.body)
        assert answer.body["error"]["message"]
    raw = await api.call("PUT", path, raw=b"{not json")
    assert (raw.status, raw.code) == (400, "InvalidRequestContent")
    assert (await api.rows(vault), await claims(env)) == before


async def test_a_stale_claim_is_taken_over_and_a_live_one_is_not(env: Env, vault: VaultRef) -> None:
    """A crash between claiming a disk and creating its instance must not block the disk forever."""
    from backup.domain.records import DatasourceClaim

    api, store = env.api, env.api.context.store
    await make_vault(env, vault)
    ghost = DatasourceClaim(env.disk(), vault, "bi-ghost", env.clock.now())
    await store.put_datasource_claim(ghost)
    refused = await api.call("PUT", instance_path(vault, "bi-a"), instance_body(env, vault))
    assert (refused.status, refused.code) == (400, "UserErrorDppDatasourceAlreadyProtected")
    env.advance(timedelta(minutes=11))
    await protect(env, vault, "bi-a")
    claim = await store.get_datasource_claim(env.disk().upper())
    assert claim is not None
    assert claim.value.instance == "bi-a"
    instance = await store.get_instance(vault, "bi-a")
    assert instance is not None
    assert replace(instance.value).protection_state is ProtectionState.PROTECTION_CONFIGURED


async def test_two_vaults_racing_for_one_disk_cannot_both_protect_it(env: Env, vault: VaultRef) -> None:
    vaults = [vault, replace(vault, name=vault.name + "-2"), replace(vault, name=vault.name + "-3")]
    for target in vaults:
        await make_vault(env, target)
    answers = await asyncio.gather(
        *(env.api.call("PUT", instance_path(target, "bi-a"), instance_body(env, target)) for target in vaults)
    )
    assert sorted(answer.status for answer in answers) == [201, 400, 400]
    assert {answer.code for answer in answers if answer.status == 400} == {ALREADY_PROTECTED}
    stored = [await env.api.context.store.get_instance(target, "bi-a") for target in vaults]
    assert sum(1 for instance in stored if instance is not None) == 1


async def test_resource_group_exists_through_the_compute_pipeline(env: Env) -> None:
    gateway = env.api.runtime.compute
    assert await gateway.resource_group_exists(ResourceGroupId.parse(env.snapshot_rg))
    assert not await gateway.resource_group_exists(ResourceGroupId(str(uuid.uuid4()), "rg-snaps"))
    missing = ResourceGroupId(env.subscription, "rg-nope")
    with pytest.raises(AuthorizationError):  # as in ARM: no read right above it, so no answer either way
        await gateway.resource_group_exists(missing)
    env.admin.grant(APP, "Reader", f"/subscriptions/{env.subscription}")
    assert not await gateway.resource_group_exists(missing)


async def record_point(
    env: Env, vault: VaultRef, instance: str, slot: datetime, created_at: datetime, snapshot: str
) -> RecoveryPoint:
    """A scheduled backup's recovery point and completed job, written as the engine records them
    (a minute after the snapshot's creation), for tests that need points without taking them."""
    store = env.api.context.store
    current = await store.get_instance(vault, instance)
    assert current is not None
    point = RecoveryPoint(
        id=recovery_point_id(instance, slot),
        instance=instance,
        slot=slot,
        created_at=created_at,
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + timedelta(days=7),
        snapshot_id=f"{env.snapshot_rg}/providers/Microsoft.Compute/snapshots/{snapshot}",
    )
    job = Job(
        id=scheduled_backup_job_id(instance, slot),
        vault_id=vault.id,
        instance=instance,
        operation=JobOperation.SCHEDULED_BACKUP,
        status=JobStatus.IN_PROGRESS,
        start_time=slot,
        datasource_id=env.disk(),
        datasource_name="disk-a",
        datasource_location="westus",
        policy_name="p1",
    ).completed(created_at + timedelta(minutes=1), recovery_point_id=point.id)
    await store.record_backup(current, current.value, point, job)
    return point
