"""The ARM gateway's contract, held by the in-memory fake and by the real adapter on the emulator.

What the services rely on: disks read back with the settings a restore recreates; a snapshot
PUT under the same name keeps the first capture; restores copy the captured content and are
idempotent for the same source; every refusal arrives as the same ``backup.errors`` class and
code (not found, missing roles, quotas, the snapshot rate, regions), and throttling, server
errors, dropped connections and failed long-running operations arrive as retryable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.adapters.compute import ComputeGateway
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.arm import ArmPrincipal
from backup.domain.clock import ManualClock
from backup.domain.lro import Accepted, InProgress
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from localdev.compute_emulator.tokens import Principal
from tests.fakes.compute import FakeArm, FakeComputeGateway

SUB = "33333333-0000-4000-8000-000000000003"
APP = "a3333333-0000-4000-8000-0000000000a1"
OPAQUE_TOKEN = "contract-app-token"
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
                        {"name": "web", "sku": "Standard_LRS", "sizeGB": 64, "zone": "2", "content": "v1",
                         "tags": {"app": "web"}},
                        {"name": "fast", "sku": "PremiumV2_LRS", "sizeGB": 128, "content": "fast-v1"},
                    ],
                },
                {"name": "rg-snaps", "location": "eastus"},
                {"name": "rg-restore", "location": "eastus"},
            ],
        }
    ],
    "principals": [{"id": APP, "token": OPAQUE_TOKEN}],
    "roleAssignments": [
        {"principalId": APP, "role": "Disk Backup Reader", "scope": SRC},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": SNAPS},
        {"principalId": APP, "role": "Disk Restore Operator", "scope": RESTORE},
    ],
}  # fmt: skip
WEB = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/web")
FAST = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/fast")
SNAPSHOT_WRITE = "Microsoft.Compute/snapshots/write"


def snapshot(name: str) -> ComputeResourceId:
    return ComputeResourceId.snapshot(f"{SNAPS}/providers/Microsoft.Compute/snapshots/{name}")


def restored(name: str) -> ComputeResourceId:
    return ComputeResourceId.disk(f"{RESTORE}/providers/Microsoft.Compute/disks/{name}")


@dataclass
class World:
    """One gateway and the levers a test pulls on the ARM behind it, fake or emulated."""

    gateway: Any
    grant: Callable[[str, str], None]
    revoke: Callable[[str, str], None]
    fail: Callable[[str, str], None]
    advance: Callable[[float], None]
    write_disk: Callable[[str, str], None]
    read_content: Callable[[str], str]
    limit_snapshots: Callable[[int], None]
    calls: Callable[[str], int]
    """How many requests of an operation (the emulator's names) reached ARM."""
    opaque: Any
    """A gateway whose token does not say who holds it (an opaque local token)."""


def _fake_world() -> World:
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=UTC))
    arm = FakeArm(clock)
    arm.load_seed(SEED)

    def limit(count: int) -> None:
        arm.max_snapshots_per_disk = count

    return World(
        gateway=FakeComputeGateway(arm, APP),
        grant=lambda role, scope: arm.grant(APP, role, scope),
        revoke=lambda role, scope: arm.revoke(APP, role, scope),
        fail=lambda operation, kind: arm.fail(operation, kind),
        advance=lambda seconds: clock.advance(timedelta(seconds=seconds)),
        write_disk=arm.write_disk,
        read_content=arm.read_content,
        limit_snapshots=limit,
        calls=lambda operation: arm.calls[operation],
        opaque=FakeComputeGateway(arm, OPAQUE_TOKEN),
    )


@pytest.fixture
async def world(adapter: str, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if adapter == "fake":
        yield _fake_world()
        return
    emulator = request.getfixturevalue("compute_emulator")
    admin = emulator.admin
    admin.reset(SEED)

    def gateway_with(token: str) -> ComputeGateway:
        return ComputeGateway(
            AsyncStaticTokenCredential(token),
            endpoint=emulator.url,
            ca_bundle=emulator.ca_bundle,
            retry_total=1,
            retry_backoff_factor=0,
            polling_interval=0,
        )

    gateway, opaque = gateway_with(admin.access_token(APP)), gateway_with(OPAQUE_TOKEN)
    yield World(
        gateway=gateway,
        grant=lambda role, scope: admin.grant(APP, role, scope),
        revoke=lambda role, scope: admin.revoke(APP, role, scope),
        fail=lambda operation, kind: admin.set_faults(
            [{"operation": operation, kind: 1.0, "retryAfterSeconds": 0}], seed=1
        ),
        advance=lambda seconds: admin.advance_clock(seconds),
        write_disk=admin.write_disk,
        read_content=admin.read_content,
        limit_snapshots=lambda count: admin.configure({"maxIncrementalSnapshotsPerDisk": count}),
        calls=lambda operation: int(admin.counters()["byOperation"].get(operation, 0)),
        opaque=opaque,
    )
    await gateway.close()
    await opaque.close()


async def test_a_disk_reads_back_with_the_settings_a_restore_needs(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    assert (disk.name, disk.location, disk.sku, disk.size_gb, disk.zone) == (
        "web",
        "eastus",
        "Standard_LRS",
        64,
        "2",
    )
    assert disk.tags == {"app": "web"}
    assert disk.unique_id
    assert ComputeResourceId.disk(disk.id).same_as(WEB)
    assert disk.source.sku == "Standard_LRS"


async def test_a_missing_disk_is_not_found_and_find_says_none(world: World) -> None:
    missing = ComputeResourceId.disk(f"{SRC}/providers/Microsoft.Compute/disks/nope")
    with pytest.raises(NotFoundError) as refused:
        await world.gateway.get_disk(missing)
    assert not refused.value.retryable
    assert await world.gateway.find_disk(missing) is None


async def test_a_snapshot_put_twice_keeps_the_first_capture(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    first = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-1"), {"k": "1"})
    assert first.incremental
    assert first.provisioning_state == "Succeeded"
    assert first.ready_for_restore
    assert first.location == "eastus"
    assert first.source_resource_id is not None
    assert ComputeResourceId.disk(first.source_resource_id).same_as(WEB)
    assert first.source_unique_id == disk.unique_id
    assert first.tags == {"k": "1"}
    world.write_disk(str(WEB), "v2")

    again = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-1"), {"k": "2"})
    assert (again.id, again.time_created) == (first.id, first.time_created)
    assert again.tags == {"k": "2"}
    assert world.read_content(again.id) == "v1"
    listed = await gateway.list_snapshots(ResourceGroupId.parse(SNAPS))
    assert [item.id for item in listed] == [first.id]
    found = await gateway.get_snapshot(snapshot("adb-web-1"))
    assert found is not None
    assert (found.id, found.tags, found.time_created) == (first.id, {"k": "2"}, first.time_created)


async def test_snapshots_are_listed_in_creation_order_and_deleted_idempotently(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    for name in ("adb-z", "adb-a", "adb-m"):
        await gateway.create_incremental_snapshot(disk, snapshot(name), {})
    listed = await gateway.list_snapshots(ResourceGroupId.parse(SNAPS))
    assert [item.name for item in listed] == ["adb-z", "adb-a", "adb-m"]
    await gateway.delete_snapshot(snapshot("adb-a"))
    await gateway.delete_snapshot(snapshot("adb-a"))
    assert await gateway.get_snapshot(snapshot("adb-a")) is None
    assert [item.name for item in await gateway.list_snapshots(ResourceGroupId.parse(SNAPS))] == [
        "adb-z",
        "adb-m",
    ]


async def test_premium_v2_snapshots_are_restorable_only_after_their_copy(world: World) -> None:
    disk = await world.gateway.get_disk(FAST)
    taken = await world.gateway.create_incremental_snapshot(disk, snapshot("adb-fast-1"), {})
    assert not taken.ready_for_restore
    with pytest.raises(ConflictError):
        await world.gateway.create_disk_from_snapshot(
            restored("early"), taken, location="eastus", sku=disk.sku
        )
    world.advance(3600)
    later = await world.gateway.get_snapshot(snapshot("adb-fast-1"))
    assert later is not None
    assert later.ready_for_restore
    assert later.completion_percent == 100


async def test_a_restore_copies_the_capture_and_repeats_only_from_the_same_snapshot(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    first = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-r1"), {})
    world.write_disk(str(WEB), "v2")
    second = await gateway.create_incremental_snapshot(disk, snapshot("adb-web-r2"), {})
    target = restored("web-restored")
    made = await gateway.create_disk_from_snapshot(
        target, first, location="eastus", sku="Premium_LRS", zone="2", tags={"restored-from": "rp"}
    )
    assert (made.sku, made.zone, made.size_gb, made.location) == ("Premium_LRS", "2", 64, "eastus")
    assert made.tags == {"restored-from": "rp"}
    assert made.source_resource_id is not None
    assert made.source_resource_id.lower() == first.id.lower()
    assert world.read_content(str(target)) == "v1"

    again = await gateway.create_disk_from_snapshot(
        target, first, location="eastus", sku="Premium_LRS", zone="2", tags={"restored-from": "rp"}
    )
    assert again.id.lower() == made.id.lower()
    with pytest.raises(ConflictError) as other_source:
        await gateway.create_disk_from_snapshot(
            target, second, location="eastus", sku="Premium_LRS", zone="2"
        )
    assert other_source.value.code == "PropertyChangeNotAllowed"
    assert not isinstance(other_source.value, LimitExceededError)
    assert world.read_content(str(target)) == "v1"


async def test_a_missing_role_is_a_permanent_authorization_error_naming_the_action(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    world.revoke("Disk Snapshot Contributor", SNAPS)
    with pytest.raises(AuthorizationError) as refused:
        await world.gateway.create_incremental_snapshot(disk, snapshot("adb-denied"), {})
    assert refused.value.code == "AuthorizationFailed"
    assert not refused.value.retryable
    assert SNAPSHOT_WRITE in refused.value.message
    with pytest.raises(AuthorizationError):
        await world.gateway.list_snapshots(ResourceGroupId.parse(SNAPS))


async def test_a_snapshot_without_read_access_to_its_disk_is_a_linked_authorization_failure(
    world: World,
) -> None:
    disk = await world.gateway.get_disk(WEB)
    world.revoke("Disk Backup Reader", SRC)
    with pytest.raises(AuthorizationError) as refused:
        await world.gateway.create_incremental_snapshot(disk, snapshot("adb-linked"), {})
    assert refused.value.code == "LinkedAuthorizationFailed"
    assert await world.gateway.get_snapshot(snapshot("adb-linked")) is None


async def test_permissions_are_the_union_of_the_roles_at_a_scope(world: World) -> None:
    gateway = world.gateway
    on_disk = await gateway.permissions(WEB)
    assert on_disk.allows("Microsoft.Compute/disks/beginGetAccess/action")
    assert not on_disk.allows(SNAPSHOT_WRITE)
    on_snapshots = await gateway.permissions(ResourceGroupId.parse(SNAPS))
    assert on_snapshots.missing(
        (SNAPSHOT_WRITE, "Microsoft.Compute/snapshots/delete", "Microsoft.Compute/disks/write")
    ) == ["Microsoft.Compute/disks/write"]
    world.revoke("Disk Snapshot Contributor", SNAPS)
    assert (await gateway.permissions(ResourceGroupId.parse(SNAPS))).missing((SNAPSHOT_WRITE,)) == [
        SNAPSHOT_WRITE
    ]
    with pytest.raises(NotFoundError):
        await gateway.permissions(ResourceGroupId.parse(f"/subscriptions/{SUB}/resourceGroups/rg-nope"))


async def test_resource_group_existence_needs_read_access_where_it_asks(world: World) -> None:
    gateway = world.gateway
    missing = ResourceGroupId.parse(f"/subscriptions/{SUB}/resourceGroups/rg-no")
    assert await gateway.resource_group_exists(ResourceGroupId.parse(SNAPS))
    with pytest.raises(AuthorizationError):  # Disk Backup Reader does not read resource groups
        await gateway.resource_group_exists(ResourceGroupId.parse(SRC))
    with pytest.raises(AuthorizationError):  # nor may the app learn whether rg-no exists
        await gateway.resource_group_exists(missing)
    world.grant("Reader", f"/subscriptions/{SUB}")
    assert not await gateway.resource_group_exists(missing)
    assert await gateway.resource_group_exists(ResourceGroupId.parse(SRC))
    unknown = ResourceGroupId.parse("/subscriptions/44444444-0000-4000-8000-000000000004/resourceGroups/x")
    assert not await gateway.resource_group_exists(unknown)


async def test_the_per_disk_quota_is_a_limit_and_the_burst_rate_a_conflict(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    for index in range(7):
        await gateway.create_incremental_snapshot(disk, snapshot(f"adb-burst-{index}"), {})
    with pytest.raises(ConflictError) as burst:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-burst-7"), {})
    assert burst.value.code == "OperationNotAllowed"
    assert not isinstance(burst.value, LimitExceededError)
    world.advance(600)
    world.limit_snapshots(7)
    with pytest.raises(LimitExceededError) as quota:
        await gateway.create_incremental_snapshot(disk, snapshot("adb-quota"), {})
    assert quota.value.code == "SnapshotsLimitReached"
    assert not quota.value.retryable


async def test_a_snapshot_outside_its_disks_region_is_a_validation_error(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    with pytest.raises(ValidationError):
        await world.gateway.create_incremental_snapshot(
            replace(disk, location="westus2"), snapshot("adb-west"), {}
        )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("throttle429", ThrottledError), ("error500", TransientError), ("connectionReset", TransientError)],
)
async def test_throttling_server_errors_and_dropped_connections_are_retryable(
    world: World, kind: str, expected: type[BackupError]
) -> None:
    world.fail("Disks_Get", kind)
    with pytest.raises(expected) as failed:
        await world.gateway.get_disk(WEB)
    assert failed.value.retryable
    assert type(failed.value) is expected


async def test_a_failed_snapshot_operation_is_retryable_and_leaves_a_failed_snapshot(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    world.fail("Snapshots_CreateOrUpdate", "lroFailed")
    with pytest.raises(TransientError) as failed:
        await world.gateway.create_incremental_snapshot(disk, snapshot("adb-lro"), {})
    assert failed.value.code == "InternalExecutionError"
    left = await world.gateway.get_snapshot(snapshot("adb-lro"))
    assert left is not None
    assert left.provisioning_state == "Failed"
    assert not left.ready_for_restore


async def test_an_identity_the_app_has_no_credential_for_is_refused(world: World) -> None:
    gateway = world.gateway
    assert gateway.for_identity(None) is gateway
    with pytest.raises(AuthorizationError) as refused:
        gateway.for_identity(
            "/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z"
        )
    assert refused.value.code == "UserErrorIdentityNotAttached"


async def test_the_gateway_knows_the_principal_its_calls_are_made_as(world: World) -> None:
    seeded = Principal(APP)
    expected = ArmPrincipal(APP, seeded.tenant_id, seeded.app_id)
    assert await world.gateway.calling_principal() == expected
    assert await world.gateway.calling_principal() == expected
    # ... and it is the object id ARM judges: without the role, the refusal names it.
    world.revoke("Disk Backup Reader", SRC)
    with pytest.raises(AuthorizationError) as refused:
        await world.gateway.get_disk(WEB)
    assert APP in str(refused.value)


async def test_a_token_that_does_not_say_gives_no_principal(world: World) -> None:
    assert await world.opaque.calling_principal() is None


async def _finish(world: World, accepted: Accepted, target: ComputeResourceId) -> tuple[int, Any]:
    """Poll as the worker does (after each Retry-After) until the operation ends; the polls it took."""
    world.advance(accepted.retry_after)
    for polls in range(1, 11):
        answer = await world.gateway.poll_snapshot(accepted.operation_url, target)
        if not isinstance(answer, InProgress):
            return polls, answer
        world.advance(answer.retry_after)
    raise AssertionError("the snapshot operation never ended")


async def test_a_snapshot_put_answers_accepted_and_its_polls_end_with_the_snapshot(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    answer = await gateway.begin_incremental_snapshot(disk, snapshot("adb-paced"), {"k": "1"})
    assert isinstance(answer, Accepted)
    assert answer.retry_after >= 0
    assert "/DiskOperations/" in answer.operation_url
    polls, taken = await _finish(world, answer, snapshot("adb-paced"))
    assert taken.provisioning_state == "Succeeded"
    assert taken.incremental
    assert taken.tags == {"k": "1"}
    assert ComputeResourceId.disk(taken.source_resource_id).same_as(WEB)
    assert taken.source_unique_id == disk.unique_id
    assert world.read_content(taken.id) == "v1"
    # The result comes from the operation itself: no GET of the snapshot.
    assert world.calls("Snapshots_Get") == 0
    assert world.calls("DiskOperations_Get") == polls


async def test_a_snapshot_put_again_is_accepted_and_keeps_the_first_capture(world: World) -> None:
    gateway = world.gateway
    disk = await gateway.get_disk(WEB)
    first = await gateway.begin_incremental_snapshot(disk, snapshot("adb-twice"), {"k": "1"})
    assert isinstance(first, Accepted)
    _, taken = await _finish(world, first, snapshot("adb-twice"))
    world.write_disk(str(WEB), "v2")
    again = await gateway.begin_incremental_snapshot(disk, snapshot("adb-twice"), {"k": "2"})
    assert isinstance(again, Accepted)
    _, retaken = await _finish(world, again, snapshot("adb-twice"))
    assert (retaken.id, retaken.time_created, retaken.tags) == (taken.id, taken.time_created, {"k": "2"})
    assert world.read_content(retaken.id) == "v1"


async def test_a_snapshot_of_a_deleted_disk_is_refused_as_not_found_by_the_put(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    gone = replace(disk, id=f"{SRC}/providers/Microsoft.Compute/disks/deleted", name="deleted")
    with pytest.raises(NotFoundError) as refused:
        await world.gateway.begin_incremental_snapshot(gone, snapshot("adb-gone"), {})
    assert not refused.value.retryable
    assert await world.gateway.get_snapshot(snapshot("adb-gone")) is None


async def test_a_throttled_snapshot_put_comes_back_at_once_with_its_retry_after(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    world.fail("Snapshots_CreateOrUpdate", "throttle429")
    with pytest.raises(ThrottledError) as throttled:
        await world.gateway.begin_incremental_snapshot(disk, snapshot("adb-429"), {})
    assert throttled.value.retry_after is not None
    assert world.calls("Snapshots_CreateOrUpdate") == 1  # the caller re-schedules it, not the SDK


async def test_a_throttled_poll_comes_back_at_once(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    answer = await world.gateway.begin_incremental_snapshot(disk, snapshot("adb-poll-429"), {})
    assert isinstance(answer, Accepted)
    world.fail("DiskOperations_Get", "throttle429")
    with pytest.raises(ThrottledError):
        await world.gateway.poll_snapshot(answer.operation_url, snapshot("adb-poll-429"))
    assert world.calls("DiskOperations_Get") == 1


async def test_a_failed_snapshot_operation_raises_its_error_from_the_poll(world: World) -> None:
    disk = await world.gateway.get_disk(WEB)
    world.fail("Snapshots_CreateOrUpdate", "lroFailed")
    answer = await world.gateway.begin_incremental_snapshot(disk, snapshot("adb-poll-failed"), {})
    assert isinstance(answer, Accepted)
    with pytest.raises(TransientError) as failed:
        await _finish(world, answer, snapshot("adb-poll-failed"))
    assert failed.value.code == "InternalExecutionError"
    left = await world.gateway.get_snapshot(snapshot("adb-poll-failed"))
    assert left is not None
    assert left.provisioning_state == "Failed"


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/subscriptions/x/providers/Microsoft.Compute/locations/eastus/DiskOperations/1",
        "http://management.azure.com.attacker.example/DiskOperations/1",
    ],
)
async def test_an_operation_url_off_the_arm_endpoint_is_never_followed(world: World, url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        await world.gateway.poll_snapshot(url, snapshot("adb-any"))
    assert refused.value.code == "UntrustedOperationUrl"
    assert world.calls("DiskOperations_Get") == 0
