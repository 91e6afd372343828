"""Azure's standard set-up works here: grant the disk roles to the ``principalId`` the vault shows,
and nothing else, and protection, backup and restore succeed; grant them to anyone else and they
fail on permissions.

Through the API and the engine, with the real SDK clients on Azurite and the Compute emulator.
The app holds the emulator's JWT-shaped tokens (its own, and a user-assigned identity's); no role
is assigned to anyone until the test grants one to the id a vault GET answered.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from backup.bootstrap import Runtime
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import VaultRef
from backup.services.restore import RestoreOutcome
from localdev.compute_emulator.tokens import EMULATOR_TENANT_ID
from tests.integration.api.conftest import Api
from tests.integration.engine.conftest import APP, SNAP_RG, SRC_RG, SUB, VAULT, Simulation, policy_document
from tests.integration.engine.test_restore import RESTORE_RG, RESTORE_SEED, World, disk_id, restore_body
from tests.integration.engine.test_vault_identity import instance_properties

pytestmark = pytest.mark.integration

IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity"
    "/userAssignedIdentities/id-vault-own"
)
IDENTITY_PRINCIPAL = "a2222222-0000-4000-8000-0000000000c1"
IDENTITY_TENANT = "0d1e2f30-4152-4637-8899-aabbccddeeff"
IDENTITY_CLIENT = "c2222222-0000-4000-8000-0000000000c1"
SOMEONE_ELSE = "a2222222-0000-4000-8000-0000000000ee"
ROLES = (
    ("Disk Backup Reader", SRC_RG),
    ("Disk Snapshot Contributor", SNAP_RG),
    ("Disk Restore Operator", RESTORE_RG),
)
NO_ROLES: dict[str, Any] = {**copy.deepcopy(RESTORE_SEED), "roleAssignments": []}


@pytest.fixture
async def world(sim: Simulation) -> AsyncIterator[World]:
    """The engine and the API on a runtime that holds JWTs: the app's own and the identity's."""
    admin = sim.admin
    admin.reset(NO_ROLES)
    sim.sync_emulator_clock()
    identity_token = admin.add_principal(
        IDENTITY_PRINCIPAL, tenant_id=IDENTITY_TENANT, app_id=IDENTITY_CLIENT
    )
    admin.add_principal(SOMEONE_ELSE)
    settings = replace(
        sim.runtime.settings,
        arm_static_token=admin.access_token(APP),
        arm_static_tokens={IDENTITY.lower(): identity_token},
        # The deployer binds the identity to the one vault these tests give it.
        identity_bindings=IdentityBindings.parse(json.dumps({IDENTITY: [VAULT.id]})),
    )
    runtime = Runtime.from_settings(
        settings, clock=sim.clock, arm_retry_total=1, arm_polling_interval=0, arm_clock=sim.arm_clock
    )
    try:
        yield World(
            replace(sim, runtime=runtime), Api(runtime.replacing(auth_enabled=False, retry_after_seconds=0))
        )
    finally:
        await runtime.close()


def vault_path(vault: VaultRef) -> str:
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{vault.name}"
    )


async def create_vault(world: World, identity: dict[str, Any]) -> dict[str, Any]:
    """PUT the vault and its policy; the vault as a GET then answers it."""
    body = {
        "location": "eastus",
        "identity": identity,
        "properties": {
            "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
        },
    }
    created = await world.api.call("PUT", vault_path(VAULT), body)
    assert created.status == 201, created.body
    policy = await world.api.call(
        "PUT", vault_path(VAULT) + "/backupPolicies/every-4h", {"properties": policy_document()}
    )
    assert policy.status == 200, policy.body
    got = await world.api.call("GET", vault_path(VAULT))
    assert got.status == 200
    assert got.body == created.body
    return dict(got.body["identity"])


def grant_disk_roles(world: World, principal_id: str) -> None:
    assert world.sim.admin.role_assignments() == []
    for role, scope in ROLES:
        world.sim.admin.grant(principal_id, role, scope)


async def validate_for_backup(world: World, disk: str) -> dict[str, Any]:
    """validateForBackup's operation status (an LRO, followed as the SDK does)."""
    answer = await world.api.call(
        "POST", vault_path(VAULT) + "/validateForBackup", {"backupInstance": instance_properties(VAULT, disk)}
    )
    assert answer.status == 202, answer.body
    path = answer.headers["Azure-AsyncOperation"].split("/api", 1)[1].split("?", 1)[0]
    status = await world.api.call("GET", path)
    assert status.status == 200, status.body
    return dict(status.body)


async def protect_back_up_and_restore(world: World, disk: str) -> None:
    configured = await world.api.call(
        "PUT", world.instance_path(f"{disk}-instance"), {"properties": instance_properties(VAULT, disk)}
    )
    assert configured.status in (200, 201), configured.body
    if "Azure-AsyncOperation" in configured.headers:  # configure protection as a long-running operation
        path = configured.headers["Azure-AsyncOperation"].split("/api", 1)[1].split("?", 1)[0]
        assert (await world.api.call("GET", path)).body["status"] == "Succeeded"
    instance = await world.api.call("GET", world.instance_path(f"{disk}-instance"))
    assert instance.body["properties"]["currentProtectionState"] == "ProtectionConfigured", instance.body

    world.sim.admin.write_disk(disk_id(disk, "rg-src"), f"{disk}-as-backed-up")
    point = await world.backed_up_point(f"{disk}-instance")
    answer = await world.restore(f"{disk}-instance", restore_body(point, f"{disk}-restored"))
    await world.result(answer)
    assert await world.drain_restores() == [RestoreOutcome.COMPLETED]
    assert world.sim.admin.read_content(disk_id(f"{disk}-restored")) == f"{disk}-as-backed-up"


async def test_roles_granted_to_the_system_assigned_vaults_principal_id_are_enough(world: World) -> None:
    identity = await create_vault(world, {"type": "SystemAssigned"})
    # The object id and tenant in the app's own ARM token: who ARM judges.
    assert identity["principalId"] == APP
    assert identity["tenantId"] == EMULATOR_TENANT_ID
    grant_disk_roles(world, identity["principalId"])
    assert (await validate_for_backup(world, "disk-a"))["status"] == "Succeeded"
    await protect_back_up_and_restore(world, "disk-a")


async def test_roles_granted_to_anyone_else_fail_on_permissions(world: World) -> None:
    identity = await create_vault(world, {"type": "SystemAssigned"})
    assert identity["principalId"] != SOMEONE_ELSE
    grant_disk_roles(world, SOMEONE_ELSE)
    refused = await validate_for_backup(world, "disk-a")
    assert refused["status"] == "Failed"
    assert refused["error"]["code"] == "UserErrorMissingRequiredPermissions"
    assert "Disk Backup Reader" in refused["error"]["message"]


async def test_roles_granted_to_the_user_assigned_identitys_principal_id_are_enough(world: World) -> None:
    identity = await create_vault(world, {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}})
    assert "principalId" not in identity
    own = identity["userAssignedIdentities"][IDENTITY]
    assert own == {"principalId": IDENTITY_PRINCIPAL, "clientId": IDENTITY_CLIENT}
    # Roles on the app's own identity do nothing for this vault: its calls are made as its identity.
    grant_disk_roles(world, APP)
    refused = await validate_for_backup(world, "disk-b")
    assert (refused["status"], refused["error"]["code"]) == ("Failed", "UserErrorMissingRequiredPermissions")
    for role, scope in ROLES:
        world.sim.admin.revoke(APP, role, scope)
    grant_disk_roles(world, own["principalId"])
    await protect_back_up_and_restore(world, "disk-b")
    # The app's own identity was given nothing, and still needs nothing.
    assert {assignment["principalId"] for assignment in world.sim.admin.role_assignments()} == {
        IDENTITY_PRINCIPAL
    }
