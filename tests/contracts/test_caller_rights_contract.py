"""The caller's own rights (``CallerRights``), held to one contract by the fake and by the real
adapter on the Compute emulator: what a principal's token may do at a disk or a resource group,
as ARM's permissions API answers for that principal and no other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from backup.adapters.caller_rights import ArmCallerRights
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError, NotFoundError
from localdev.compute_emulator.tokens import Principal, access_token
from tests.fakes.caller_rights import FakeCallerRights
from tests.fakes.compute import FakeArm

SUB = "36666666-0000-4000-8000-000000000006"
OWNER_OF_A = Principal("b6666666-0000-4000-8000-0000000000a1")
STRANGER = Principal("b6666666-0000-4000-8000-0000000000b2")
TEAM_A = f"/subscriptions/{SUB}/resourceGroups/rg-team-a"
TEAM_B = f"/subscriptions/{SUB}/resourceGroups/rg-team-b"
DISK_SPEC = {"sku": "Standard_LRS", "sizeGB": 8}
SEED: dict[str, Any] = {
    "subscriptions": [
        {
            "id": SUB,
            "resourceGroups": [
                {"name": "rg-team-a", "location": "eastus", "disks": [{"name": "a1", **DISK_SPEC}]},
                {"name": "rg-team-b", "location": "eastus", "disks": [{"name": "b1", **DISK_SPEC}]},
            ],
        }
    ],
    "principals": [{"id": OWNER_OF_A.id}, {"id": STRANGER.id}],
    "roleAssignments": [
        {"principalId": OWNER_OF_A.id, "role": "Reader", "scope": TEAM_A},
        {"principalId": OWNER_OF_A.id, "role": "Disk Restore Operator", "scope": TEAM_A},
    ],
}  # fmt: skip
DISK_A = ComputeResourceId.disk(f"{TEAM_A}/providers/Microsoft.Compute/disks/a1")
DISK_B = ComputeResourceId.disk(f"{TEAM_B}/providers/Microsoft.Compute/disks/b1")
READ = "Microsoft.Compute/disks/read"
WRITE = "Microsoft.Compute/disks/write"


@dataclass
class World:
    rights: Any


@pytest.fixture
async def world(adapter: str, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if adapter == "fake":
        arm = FakeArm(ManualClock(datetime(2026, 11, 2, tzinfo=UTC)))
        arm.load_seed(SEED)
        tokens = {access_token(p): p.id for p in (OWNER_OF_A, STRANGER)}
        yield World(FakeCallerRights(arm, tokens))
        return
    emulator = request.getfixturevalue("compute_emulator")
    emulator.admin.reset(SEED)
    settings = Settings(arm_endpoint=emulator.url, arm_ca_bundle=emulator.ca_bundle)
    yield World(ArmCallerRights(settings, retry_total=0))


async def test_a_principal_has_the_rights_its_roles_give_where_they_hold(world: World) -> None:
    token = access_token(OWNER_OF_A)
    assert await world.rights.missing(token, DISK_A, (READ,)) == []
    assert await world.rights.missing(token, ResourceGroupId.parse(TEAM_A), (READ, WRITE)) == []
    assert await world.rights.missing(token, DISK_B, (READ,)) == [READ]
    assert await world.rights.missing(token, ResourceGroupId.parse(TEAM_B), (READ, WRITE)) == [READ, WRITE]


async def test_another_principals_token_has_none_of_them(world: World) -> None:
    token = access_token(STRANGER)
    assert await world.rights.missing(token, DISK_A, (READ,)) == [READ]
    assert await world.rights.missing(token, ResourceGroupId.parse(TEAM_A), (WRITE,)) == [WRITE]


async def test_a_scope_that_does_not_exist_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        await world.rights.missing(
            access_token(OWNER_OF_A),
            ResourceGroupId.parse(f"/subscriptions/{SUB}/resourceGroups/rg-gone"),
            (READ,),
        )


async def test_a_token_arm_does_not_know_is_refused(world: World) -> None:
    unknown = access_token(Principal("b6666666-0000-4000-8000-0000000000ff"))
    with pytest.raises(AuthorizationError):
        await world.rights.missing(unknown, DISK_A, (READ,))
