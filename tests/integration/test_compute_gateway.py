"""The product's Compute adapter against the emulator: real SDK clients, real HTTPS, real LROs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from backup.adapters.compute import ComputeGateway
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import (
    AuthorizationError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from localdev.compute_emulator import EmulatorServer

pytestmark = pytest.mark.integration

SUB = "11111111-0000-4000-8000-000000000001"
APP = "a1111111-0000-4000-8000-0000000000a1"
SRC = f"/subscriptions/{SUB}/resourceGroups/rg-src"
SNAPS = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
RESTORE = f"/subscriptions/{SUB}/resourceGroups/rg-restore"
SEED: dict[str, Any] = {
    "subscriptions": [
        {
            "id": SUB,
            "resourceGroups": [
                {
                    "name": "rg-src",
                    "location": "eastus",
                    "disks": [
                        {"name": "web", "sku": "Premium_LRS", "sizeGB": 64, "zone": "2", "content": "v1"},
                        {"name": "fast", "sku": "PremiumV2_LRS", "sizeGB": 128, "content": "v2"},
                    ],
                },
                {"name": "rg-snaps", "location": "eastus"},
                {"name": "rg-restore", "location": "eastus"},
            ],
        }
    ],
    "principals": [{"id": APP, "token": "app-token"}],
    "roleAssignments": [
        {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAPS},
        {"principalId": APP, "role": "Disk Restore Operator", "scope": RESTORE},
    ],
}
WEB = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/web")
FAST = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/fast")


def snapshot(name: str) -> ComputeResourceId:
    return ComputeResourceId.snapshot(f"{SNAPS}/providers/Microsoft.Compute/snapshots/{name}")


@pytest.fixture
async def gateway(compute_emulator: EmulatorServer) -> AsyncIterator[ComputeGateway]:
    compute_emulator.admin.reset(SEED)
    gateway = ComputeGateway(
        AsyncStaticTokenCredential("app-token"),
        endpoint=compute_emulator.url,
        ca_bundle=compute_emulator.ca_bundle,
        retry_total=2,
        retry_backoff_factor=0,
        polling_interval=0,
    )
    yield gateway
    await gateway.close()


async def test_incremental_snapshot_restores_the_captured_content(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    admin = compute_emulator.admin
    disk = await gateway.get_disk(WEB)
    assert (disk.sku, disk.size_gb, disk.zone, disk.location) == ("Premium_LRS", 64, "2", "eastus")

    taken = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-1"), {"adb-managed-by": "x"})
    assert taken.incremental
    assert taken.provisioning_state == "Succeeded"
    assert taken.ready_for_restore
    assert taken.source_resource_id is not None
    assert ComputeResourceId.disk(taken.source_resource_id).same_as(WEB)
    admin.write_disk(str(WEB), "v2-after-backup")

    target = ComputeResourceId.disk(f"{RESTORE}/providers/Microsoft.Compute/disks/web-restored")
    restored = await gateway.create_disk_from_snapshot(
        target, taken, location=disk.location, sku=disk.sku, zone=disk.zone, tags={"restored-from": "rp"}
    )
    assert (restored.sku, restored.zone) == ("Premium_LRS", "2")
    assert admin.read_content(str(target)) == "v1"


async def test_re_putting_the_same_snapshot_is_idempotent_and_keeps_the_first_capture(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    admin = compute_emulator.admin
    disk = await gateway.get_disk(WEB)
    first = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-slot"), {"k": "v"})
    admin.write_disk(str(WEB), "changed")
    admin.reset_counters()
    again = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-slot"), {"k": "v"})
    assert again.id == first.id
    assert again.time_created == first.time_created
    assert admin.counters()["byOperation"]["Snapshots_CreateOrUpdate"] == 1
    assert admin.read_content(again.id) == "v1"
    assert len(await gateway.list_snapshots(ResourceGroupId.parse(SNAPS))) == 1


async def test_delete_is_idempotent_and_get_reports_absence(gateway: ComputeGateway) -> None:
    disk = await gateway.get_disk(WEB)
    taken = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-del"), {})
    await gateway.delete_snapshot(snapshot("adb-web-del"))
    assert await gateway.get_snapshot(snapshot("adb-web-del")) is None
    await gateway.delete_snapshot(snapshot("adb-web-del"))
    assert taken.name == "adb-web-del"


async def test_premium_v2_snapshots_are_not_ready_until_their_copy_completes(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    disk = await gateway.get_disk(FAST)
    taken = await gateway.create_incremental_snapshot(disk, snapshot("adb-fast-1"), {})
    assert not taken.ready_for_restore
    compute_emulator.admin.advance_clock(3600)
    later = await gateway.get_snapshot(snapshot("adb-fast-1"))
    assert later is not None
    assert later.ready_for_restore


async def test_missing_roles_are_permanent_authorization_errors(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    compute_emulator.admin.revoke(APP, "Disk Snapshot Contributor", SNAPS)
    disk = await gateway.get_disk(WEB)
    with pytest.raises(AuthorizationError) as refused:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-web-x"), {})
    assert refused.value.code == "AuthorizationFailed"
    assert not refused.value.retryable
    assert "Microsoft.Compute/snapshots/write" in refused.value.message


async def test_permissions_reflect_the_role_assignments(gateway: ComputeGateway) -> None:
    on_disk = await gateway.permissions(WEB)
    assert on_disk.allows("Microsoft.Compute/disks/beginGetAccess/action")
    assert not on_disk.allows("Microsoft.Compute/snapshots/write")
    on_snapshots = await gateway.permissions(ResourceGroupId.parse(SNAPS))
    assert (
        on_snapshots.missing(("Microsoft.Compute/snapshots/write", "Microsoft.Compute/snapshots/delete"))
        == []
    )
    on_restore = await gateway.permissions(ResourceGroupId.parse(RESTORE))
    assert on_restore.allows("Microsoft.Compute/disks/write")


async def test_not_found_and_bad_requests_are_permanent(gateway: ComputeGateway) -> None:
    missing = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/nope")
    with pytest.raises(NotFoundError):
        await gateway.get_disk(missing)
    assert await gateway.find_disk(missing) is None
    disk = await gateway.get_disk(WEB)
    elsewhere = type(disk)(**{**disk.__dict__, "location": "westus2"})
    with pytest.raises(ValidationError):
        await gateway.create_incremental_snapshot(elsewhere, snapshot("adb-wrong-region"), {})


async def test_the_burst_limit_is_a_permanent_conflict_not_a_retry(gateway: ComputeGateway) -> None:
    disk = await gateway.get_disk(WEB)
    for index in range(7):
        await gateway.create_incremental_snapshot(disk, snapshot(f"adb-burst-{index}"), {})
    with pytest.raises(ConflictError) as refused:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-burst-8"), {})
    assert refused.value.code == "OperationNotAllowed"
    assert not refused.value.retryable


async def test_snapshot_quota_maps_to_limit_exceeded(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    compute_emulator.admin.configure({"maxIncrementalSnapshotsPerDisk": 2})
    disk = await gateway.get_disk(WEB)
    for index in range(2):
        await gateway.create_incremental_snapshot(disk, snapshot(f"adb-quota-{index}"), {})
    with pytest.raises(LimitExceededError) as refused:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-quota-3"), {})
    assert refused.value.code == "SnapshotsLimitReached"


async def test_throttling_and_server_errors_are_retried_then_surface_as_retryable(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    admin = compute_emulator.admin
    admin.set_faults([{"operation": "Disks_Get", "throttle429": 1.0}], seed=1)
    admin.reset_counters()
    with pytest.raises(ThrottledError) as throttled:
        await gateway.get_disk(WEB)
    assert throttled.value.retryable
    # retry_total=2: the first try and two retries reached the emulator.
    assert admin.counters()["byOperation"]["Disks_Get"] == 3

    admin.set_faults([{"operation": "Disks_Get", "error500": 1.0}], seed=1)
    with pytest.raises(TransientError):
        await gateway.get_disk(WEB)

    admin.set_faults([{"operation": "Disks_Get", "throttle429": 0.5}], seed=1)
    assert (await gateway.get_disk(WEB)).name == "web"


async def test_a_failed_long_running_operation_is_reported_with_its_code(
    gateway: ComputeGateway, compute_emulator: EmulatorServer
) -> None:
    compute_emulator.admin.set_faults([{"operation": "Snapshots_CreateOrUpdate", "lroFailed": 1.0}], seed=3)
    disk = await gateway.get_disk(WEB)
    with pytest.raises(TransientError) as failed:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-web-lro"), {})
    assert failed.value.code == "InternalExecutionError"


async def test_every_request_holds_a_token_and_reports_what_arm_answered(
    compute_emulator: EmulatorServer,
) -> None:
    from backup.domain.lro import Accepted
    from backup.domain.pacing import BudgetScope, Category
    from tests.fakes.budget_stub import ScriptedBudget

    compute_emulator.admin.reset(SEED)
    budget = ScriptedBudget()
    gateway = ComputeGateway(
        AsyncStaticTokenCredential("app-token"),
        endpoint=compute_emulator.url,
        ca_bundle=compute_emulator.ca_bundle,
        retry_total=2,
        retry_backoff_factor=0,
        budget=budget,
    )
    scope = BudgetScope(SUB.lower(), None)
    try:
        disk = await gateway.get_disk(WEB)
        assert budget.reserved == [(scope, Category.READS, 1)]
        [read] = budget.reports
        assert (read.scope, read.category, read.retry_after) == (scope, Category.READS, None)
        assert read.remaining is not None
        assert read.remaining > 0

        # The paced PUT: the caller held its token, so the gateway holds none; it still reports.
        answer = await gateway.begin_incremental_snapshot(disk, snapshot("adb-budget"), {})
        assert isinstance(answer, Accepted)
        assert budget.count(Category.WRITES) == 0
        assert budget.reports[-1].category is Category.WRITES
        assert budget.reports[-1].remaining is not None

        compute_emulator.admin.set_faults(
            [{"operation": "Snapshots_CreateOrUpdate", "throttle429": 1.0, "retryAfterSeconds": 7}], seed=1
        )
        with pytest.raises(ThrottledError) as throttled:
            await gateway.begin_incremental_snapshot(disk, snapshot("adb-budget-2"), {})
        assert throttled.value.retry_after == 7
        assert (budget.reports[-1].category, budget.reports[-1].retry_after) == (Category.WRITES, 7)
    finally:
        await gateway.close()
