"""A vault's identity as answered: the principals its ARM calls are made as, or none when the
identity's token does not say; never what an older stored document held."""

from __future__ import annotations

from typing import Any

from backup.domain.arm import ArmPrincipal
from backup.services.vault_identity import VaultIdentities
from tests.service.conftest import SUB, Env

APP = ArmPrincipal(
    "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "72f988bf-86f1-41af-91ab-2d7cd011db47", "app-client"
)
OWN = ArmPrincipal(
    "6e7f8091-a2b3-4c4d-9e5f-60718293a4b5", "72f988bf-86f1-41af-91ab-2d7cd011db47", "own-client"
)
IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/own"
)
DETACHED = IDENTITY.replace("/own", "/detached")
# What vaults stored before principals were read from tokens: a made-up id and an all-zero tenant.
STALE = {
    "principalId": "0b9a3d48-5c1e-5f27-8a64-2d3e4f5a6b7c",
    "tenantId": "00000000-0000-0000-0000-000000000000",
}


def vault(identity: dict[str, Any]) -> dict[str, Any]:
    return {"id": "/subscriptions/x/vault", "location": "eastus", "identity": identity, "properties": {}}


async def test_a_system_assigned_vault_shows_the_apps_principal(env: Env) -> None:
    env.arm.set_principal(None, APP)
    # The root's instance, as the API's handlers get it.
    shown = await env.runtime.vault_identities.shown(vault({"type": "SystemAssigned", **STALE}))
    assert shown["identity"] == {
        "type": "SystemAssigned",
        "principalId": APP.object_id,
        "tenantId": APP.tenant_id,
    }
    assert shown["properties"] == {}


async def test_without_a_principal_in_the_token_no_principal_id_is_shown(env: Env) -> None:
    env.arm.set_principal(None, None)
    shown = await VaultIdentities(env.compute).shown(vault({"type": "SystemAssigned", **STALE}))
    assert shown["identity"] == {"type": "SystemAssigned"}


async def test_user_assigned_identities_show_their_own_principals(env: Env) -> None:
    env.arm.set_principal(None, APP)
    env.arm.attach_identity(IDENTITY)
    env.arm.set_principal(IDENTITY, OWN)
    both = {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {IDENTITY: {}, DETACHED: {}}}
    shown = await VaultIdentities(env.compute).shown(vault(both))
    assert shown["identity"] == {
        "type": "SystemAssigned,UserAssigned",
        "principalId": APP.object_id,
        "tenantId": APP.tenant_id,
        "userAssignedIdentities": {
            IDENTITY: {"principalId": OWN.object_id, "clientId": OWN.client_id},
            # Not attached to the app: nobody calls ARM as it here, so there is no principal to show.
            DETACHED: {},
        },
    }
    # A user-assigned vault shows no top-level principal: that is the system-assigned one's.
    only_own = await VaultIdentities(env.compute).shown(
        vault({"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}})
    )
    assert only_own["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {IDENTITY: {"principalId": OWN.object_id, "clientId": OWN.client_id}},
    }


async def test_vaults_without_an_identity_are_answered_as_stored(env: Env) -> None:
    env.arm.set_principal(None, APP)
    identities = VaultIdentities(env.compute)
    assert await identities.shown({"location": "eastus"}) == {"location": "eastus"}
    assert (await identities.shown(vault({"type": "None"})))["identity"] == {"type": "None"}
