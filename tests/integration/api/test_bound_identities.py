"""Bound identities through the router on Azurite: a vault may name only the user-assigned
identities the deployer bound to it (``VAULT_IDENTITY_BINDINGS``). Naming another, on create or
on update, is a 403 naming the identity and the setting, and changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator.tokens import access_token
from tests.fakes.caller_rights import FakeCallerRights
from tests.fakes.compute import FakeArm
from tests.integration.api.conftest import APP_PRINCIPAL, T0, Api, vault_body, vault_path
from tests.integration.api.test_scoped_roles import Principal

pytestmark = pytest.mark.integration

SUB = "00000000-0000-0000-0000-0000000000ab"
IDENTITIES = (
    f"/subscriptions/{SUB}/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
)
TEAM_A_IDENTITY = f"{IDENTITIES}/id-team-a"
PRIVILEGED_IDENTITY = f"{IDENTITIES}/id-platform-admin"
"""Attached to the app for something else; bound to no vault."""


OWNER = Principal("owner@example.com", app_roles=("BackupOwner",))
OPERATOR = Principal("operator@example.com", app_roles=("BackupOperator",))


def caller_rights_for(group: str) -> FakeCallerRights:
    """The owner may read the groups its vaults go in (vault creation's linked check, at our port)."""
    arm = FakeArm(ManualClock(T0))
    for name in (group, group + "-x"):
        arm.add_group(f"/subscriptions/{SUB}/resourceGroups/{name}")
    arm.grant(OWNER.object_id, "Reader", f"/subscriptions/{SUB}")
    return FakeCallerRights(arm, {OWNER.arm_token: OWNER.object_id})


@pytest.fixture
async def api(azurite: AzuriteEndpoints) -> AsyncIterator[tuple[Api, str]]:
    group = "rg-" + uuid.uuid4().hex[:8]
    bindings = {TEAM_A_IDENTITY: [f"/subscriptions/{SUB}/resourceGroups/{group}"]}
    runtime = Runtime.from_settings(
        Settings(
            storage_connection_string=azurite.connection_string,
            arm_static_token=access_token(APP_PRINCIPAL),
            identity_bindings=IdentityBindings.parse(json.dumps(bindings)),
        ),
        clock=ManualClock(T0),
        auth_enabled=True,
        retry_after_seconds=0,
        caller_rights=caller_rights_for(group),
    )
    yield Api(runtime), group
    await runtime.close()


def user_assigned(*identities: str) -> dict[str, Any]:
    return {"type": "UserAssigned", "userAssignedIdentities": {identity: {} for identity in identities}}


async def test_an_unbound_identity_is_refused_on_create_and_update_and_nothing_changes(
    api: tuple[Api, str],
) -> None:
    client, group = api
    vault = VaultRef(SUB, group, "vault-a")
    path = vault_path(vault)
    refused = await client.call(
        "PUT", path, vault_body(identity=user_assigned(PRIVILEGED_IDENTITY)), headers=OWNER.headers()
    )
    assert (refused.status, refused.code) == (403, "UserErrorIdentityNotBoundToVault")
    assert PRIVILEGED_IDENTITY in refused.body["error"]["message"]
    assert "VAULT_IDENTITY_BINDINGS" in refused.body["error"]["message"]
    assert refused.body["error"]["target"] == "identity.userAssignedIdentities"
    assert await client.rows(vault) == []

    created = await client.call(
        "PUT", path, vault_body(identity=user_assigned(TEAM_A_IDENTITY)), headers=OWNER.headers()
    )
    assert created.status == 201, created.body
    before = await client.rows(vault)

    # An operator swaps in the privileged identity, or adds it next to the bound one: refused.
    for identity in (user_assigned(PRIVILEGED_IDENTITY), user_assigned(TEAM_A_IDENTITY, PRIVILEGED_IDENTITY)):
        patched = await client.call("PATCH", path, {"identity": identity}, headers=OPERATOR.headers())
        assert (patched.status, patched.code) == (403, "UserErrorIdentityNotBoundToVault"), patched.body
        put = await client.call("PUT", path, vault_body(identity=identity), headers=OPERATOR.headers())
        assert (put.status, put.code) == (403, "UserErrorIdentityNotBoundToVault"), put.body
    assert await client.rows(vault) == before
    shown = await client.call("GET", path, headers=OPERATOR.headers())
    assert list(shown.body["identity"]["userAssignedIdentities"]) == [TEAM_A_IDENTITY]


async def test_a_bound_identity_serves_only_the_vaults_in_its_scope(api: tuple[Api, str]) -> None:
    client, group = api
    inside = VaultRef(SUB, group, "vault-in")
    outside = VaultRef(SUB, group + "-x", "vault-out")
    body = vault_body(identity=user_assigned(TEAM_A_IDENTITY))
    assert (await client.call("PUT", vault_path(inside), body, headers=OWNER.headers())).status == 201
    other = await client.call("PUT", vault_path(outside), body, headers=OWNER.headers())
    assert (other.status, other.code) == (403, "UserErrorIdentityNotBoundToVault")
    # The app's own identity needs no binding.
    system = vault_body(identity={"type": "SystemAssigned"})
    assert (await client.call("PUT", vault_path(outside), system, headers=OWNER.headers())).status == 201
    switched = await client.call(
        "PATCH", vault_path(outside), {"identity": user_assigned(TEAM_A_IDENTITY)}, headers=OPERATOR.headers()
    )
    assert (switched.status, switched.code) == (403, "UserErrorIdentityNotBoundToVault")
