"""Immutable vaults and multi-user authorization through the router, against Azurite and the Compute
emulator: the vault setting changes Azure forbids (409, nothing written), what an immutable vault
refuses to delete, the soft-delete period each vault gives, and every critical operation of a
vault linked to a resource guard, with and without an approval, signed-in principals told apart
by Easy Auth's principal header."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from localdev.compute_emulator.tokens import Principal as EmulatorPrincipal
from localdev.compute_emulator.tokens import access_token
from tests.integration.api.conftest import DEFAULT_POLICY, SUB, T0, Answer, vault_body, vault_path
from tests.integration.api.test_instances import APP, Env, back_up, instance_body, instance_env, instance_path

pytestmark = pytest.mark.integration

ADMIN = "security-admin@contoso.com"
OPERATOR = "backup-operator@contoso.com"
SECURITY_REFUSED = "UserErrorSecuritySettingsChangeNotAllowed"
IMMUTABLE = "UserErrorImmutableVaultOperationNotAllowed"
LINKED = "LinkedAuthorizationFailed"


def principal(name: str) -> dict[str, str]:
    """Easy Auth's headers for a signed-in BackupOperator named ``name``: its principal, and the
    token store's ARM token that linked checks ask ARM with. Every name here signs in as the
    emulator principal that holds the test's Azure rights (MUA tells requesters apart by name)."""
    claims = [
        {"typ": "roles", "val": "BackupOperator"},
        {"typ": "name", "val": name},
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": APP},
    ]
    encoded = base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
    return {
        "X-MS-CLIENT-PRINCIPAL": encoded,
        "X-MS-TOKEN-AAD-ACCESS-TOKEN": access_token(EmulatorPrincipal(APP)),
    }


@pytest.fixture
async def env(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Env]:
    async with instance_env(azurite, compute_emulator) as prepared:
        yield prepared


def security(soft: str = "On", days: int = 14, lock: str = "Disabled") -> dict[str, Any]:
    return {
        "securitySettings": {
            "softDeleteSettings": {"state": soft, "retentionDurationInDays": days},
            "immutabilitySettings": {"state": lock},
        }
    }


def secured_vault(**settings: Any) -> dict[str, Any]:
    body = vault_body()
    body["properties"].update(security(**settings))
    return body


def short_policy() -> dict[str, Any]:
    policy: dict[str, Any] = copy.deepcopy(DEFAULT_POLICY)
    for rule in policy["policyRules"]:
        for store in rule.get("lifecycles", []):
            store["deleteAfter"]["duration"] = "P1D"
    return policy


async def make_vault(env: Env, vault: VaultRef, **settings: Any) -> None:
    """The vault and its two policies, made by the function key's holder with sign-in off (creating
    a vault is an owner's act, and its resource group is not one the emulator knows)."""
    signed_in, env.api.context.auth_enabled = env.api.context.auth_enabled, False
    try:
        answer = await env.api.call("PUT", vault_path(vault), secured_vault(**settings))
        assert answer.status == 201, answer.body
        for name, policy in (("p1", DEFAULT_POLICY), ("short", short_policy())):
            put = await env.api.call(
                "PUT", vault_path(vault) + f"/backupPolicies/{name}", {"properties": policy}
            )
            assert put.status == 200, put.body
    finally:
        env.api.context.auth_enabled = signed_in


async def patch_security(
    env: Env, vault: VaultRef, headers: dict[str, str] | None = None, **settings: Any
) -> Answer:
    return await env.api.call(
        "PATCH", vault_path(vault), {"properties": security(**settings)}, headers=headers
    )


async def undelete(env: Env, vault: VaultRef, headers: dict[str, str] | None = None) -> None:
    """Bring a deleted instance back: Azurite outlives a test, and another test's purge must not
    find this one due."""
    answer = await env.api.call(
        "POST", vault_path(vault) + "/deletedBackupInstances/bi/undelete", headers=headers
    )
    assert answer.status == 202, answer.body


# --- vault settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "change", "reason"),
    [
        ({"lock": "Locked"}, {"lock": "Unlocked"}, "Locked"),
        ({"lock": "Locked"}, {"lock": "Disabled"}, "Locked"),
        ({"soft": "AlwaysOn"}, {"soft": "On"}, "AlwaysOn"),
        ({"lock": "Unlocked"}, {"soft": "Off", "days": 0, "lock": "Unlocked"}, "turned off"),
        ({"days": 30, "lock": "Unlocked"}, {"days": 14, "lock": "Unlocked"}, "shortened"),
    ],
)
async def test_vault_changes_azure_forbids_are_refused_and_change_nothing(
    env: Env, vault: VaultRef, initial: dict[str, Any], change: dict[str, Any], reason: str
) -> None:
    await make_vault(env, vault, **initial)
    before = await env.api.rows(vault)
    for method, body in (
        ("PATCH", {"properties": security(**change)}),
        ("PUT", secured_vault(**change)),
    ):
        answer = await env.api.call(method, vault_path(vault), body)
        assert (answer.status, answer.code) == (409, SECURITY_REFUSED), answer.body
        assert reason in answer.body["error"]["message"]
    assert await env.api.rows(vault) == before


async def test_vault_changes_that_strengthen_it_are_accepted(env: Env, vault: VaultRef) -> None:
    await make_vault(env, vault, soft="Off", days=0)
    for step in (
        {"lock": "Unlocked"},
        {"soft": "On", "lock": "Unlocked"},
        {"soft": "AlwaysOn", "days": 30, "lock": "Locked"},
    ):
        answer = await patch_security(env, vault, **step)
        assert answer.status == 200, answer.body
    settings = (await env.api.call("GET", vault_path(vault))).body["properties"]["securitySettings"]
    assert settings == security("AlwaysOn", 30, "Locked")["securitySettings"]


@pytest.mark.parametrize(
    ("soft", "days", "purge_after"), [("On", 30, timedelta(days=30)), ("Off", 0, timedelta(0))]
)
async def test_a_deleted_instance_is_kept_for_the_vaults_soft_delete_period(
    env: Env, vault: VaultRef, soft: str, days: int, purge_after: timedelta
) -> None:
    await make_vault(env, vault, soft=soft, days=days)
    assert (await env.api.call("PUT", instance_path(vault, "bi"), instance_body(env, vault))).status == 201
    assert (await env.api.call("DELETE", instance_path(vault, "bi"))).status == 202
    deleted = await env.api.call("GET", vault_path(vault) + "/deletedBackupInstances/bi")
    scheduled = deleted.body["properties"]["deletionInfo"]["scheduledPurgeTime"]
    assert scheduled == (T0 + purge_after).isoformat().replace("+00:00", "Z")
    await undelete(env, vault)


# --- what an immutable vault refuses ------------------------------------------------------------------


@pytest.mark.parametrize("lock", ["Unlocked", "Locked"])
async def test_an_immutable_vault_refuses_to_delete_points_or_shorten_their_retention(
    env: Env, vault: VaultRef, lock: str
) -> None:
    await make_vault(env, vault, lock=lock)
    assert (await env.api.call("PUT", instance_path(vault, "bi"), instance_body(env, vault))).status == 201
    await back_up(env, vault, "bi", T0)
    before = await env.api.rows(vault)

    deleted = await env.api.call("DELETE", instance_path(vault, "bi"))
    assert (deleted.status, deleted.code) == (409, IMMUTABLE), deleted.body
    shorter = await env.api.call("PUT", instance_path(vault, "bi"), instance_body(env, vault, policy="short"))
    assert (shorter.status, shorter.code) == (409, IMMUTABLE), shorter.body
    assert await env.api.rows(vault) == before
    assert (
        (await env.api.call("GET", instance_path(vault, "bi")))
        .body["properties"]["policyInfo"]["policyId"]
        .endswith("/p1")
    )

    stopped = await env.api.call(
        "POST", instance_path(vault, "bi") + "/stopProtection", {}
    )  # what Azure offers instead: stop and keep the data
    assert stopped.status == 202, stopped.body


# --- multi-user authorization -------------------------------------------------------------------------


def guard_group(vault: VaultRef) -> str:
    """The security team's resource group of this test (Azurite outlives a test)."""
    return f"/subscriptions/{SUB}/resourceGroups/sec-{vault.resource_group}"


def guard_path(vault: VaultRef, name: str = "guard") -> str:
    return guard_group(vault) + "/providers/Microsoft.DataProtection/resourceGuards/" + name


def guard_id(vault: VaultRef, name: str = "guard") -> str:
    return guard_path(vault, name)


def proxy_path(vault: VaultRef) -> str:
    return vault_path(vault) + "/backupResourceGuardProxies/DppResourceGuardProxy"


async def approve(env: Env, vault: VaultRef, granter: str, requester: str, minutes: int = 60) -> Answer:
    return await env.api.call(
        "POST",
        "/x" + guard_path(vault) + "/approvals",
        {"principalName": requester, "durationInMinutes": minutes},
        headers=principal(granter),
    )


async def guarded(env: Env, vault: VaultRef) -> None:
    """Easy Auth on; the admin owns a guard, the operator's vault (with one instance) is linked to it."""
    env.api.context.auth_enabled = True
    created = await env.api.call("PUT", guard_path(vault), {"location": "westus"}, headers=principal(ADMIN))
    assert created.status == 201, created.body
    assert {op["vaultCriticalOperation"] for op in created.body["properties"]["resourceGuardOperations"]} >= {
        "Microsoft.DataProtection/backupVaults/backupInstances/delete",
        "Microsoft.DataProtection/backupVaults/backupResourceGuardProxies/delete",
    }
    await make_vault(env, vault)
    put = await env.api.call(
        "PUT", instance_path(vault, "bi"), instance_body(env, vault), headers=principal(OPERATOR)
    )
    assert put.status == 201, put.body
    linked = await env.api.call(
        "PUT",
        proxy_path(vault),
        {"properties": {"resourceGuardResourceId": guard_id(vault)}},
        headers=principal(OPERATOR),
    )
    assert linked.status == 200, linked.body
    assert linked.body["properties"]["resourceGuardResourceId"] == guard_id(vault)
    shown = await env.api.call("GET", vault_path(vault), headers=principal(OPERATOR))
    assert shown.body["properties"]["isVaultProtectedByResourceGuard"] is True


async def critical_operation(env: Env, vault: VaultRef, name: str) -> Answer:
    """One critical operation, as the operator."""
    me = principal(OPERATOR)
    if name == "unlockDelete":
        requests = [guard_id(vault) + "/deleteBackupInstanceRequests/default"]
        return await env.api.call(
            "POST",
            proxy_path(vault) + "/unlockDelete",
            {"resourceGuardOperationRequests": requests},
            headers=me,
        )
    if name == "shorten retention":
        return await env.api.call(
            "PUT", instance_path(vault, "bi"), instance_body(env, vault, policy="short"), headers=me
        )
    if name == "disable immutability":
        return await patch_security(env, vault, me, lock="Disabled")
    if name == "disable soft delete":
        return await patch_security(env, vault, me, soft="Off", days=0, lock="Disabled")
    if name == "delete instance":
        return await env.api.call("DELETE", instance_path(vault, "bi"), headers=me)
    assert name == "unlink guard"
    return await env.api.call("DELETE", proxy_path(vault), headers=me)


async def test_every_critical_operation_needs_an_approval_by_another_holder(
    env: Env, vault: VaultRef
) -> None:
    await guarded(env, vault)
    before = await env.api.rows(vault)
    for name in (
        "unlockDelete",
        "shorten retention",
        "disable soft delete",
        "delete instance",
        "unlink guard",
    ):
        refused = await critical_operation(env, vault, name)
        assert (refused.status, refused.code) == (403, LINKED), (name, refused.body)
    assert await env.api.rows(vault) == before
    # Turning immutability on weakens nothing; turning it off is a critical operation.
    assert (await patch_security(env, vault, principal(OPERATOR), lock="Unlocked")).status == 200
    before = await env.api.rows(vault)
    refused = await critical_operation(env, vault, "disable immutability")
    assert (refused.status, refused.code) == (403, LINKED)
    assert await env.api.rows(vault) == before

    self_approved = await approve(env, vault, OPERATOR, OPERATOR)
    assert (self_approved.status, self_approved.code) == (403, LINKED)
    admin_for_self = await approve(env, vault, ADMIN, ADMIN)
    assert (admin_for_self.status, admin_for_self.code) == (403, LINKED)
    too_long = await approve(env, vault, ADMIN, OPERATOR, minutes=24 * 60 + 1)
    assert too_long.status == 400
    listed = await env.api.call("GET", "/x" + guard_path(vault) + "/approvals", headers=principal(ADMIN))
    assert listed.body == {"value": []}

    granted = await approve(env, vault, ADMIN, OPERATOR)
    assert granted.status == 200, granted.body
    assert (granted.body["principalName"], granted.body["grantedBy"]) == (OPERATOR, ADMIN)

    expected = {
        "unlockDelete": 200,
        "disable immutability": 200,
        "shorten retention": 200,
        "disable soft delete": 200,
        "delete instance": 202,
        "unlink guard": 200,
    }
    for name, status in expected.items():
        allowed = await critical_operation(env, vault, name)
        assert allowed.status == status, (name, allowed.body)
        if name == "unlockDelete":
            assert allowed.body["unlockDeleteExpiryTime"] == granted.body["expiresAt"]
    shown = await env.api.call("GET", vault_path(vault), headers=principal(OPERATOR))
    assert shown.body["properties"]["isVaultProtectedByResourceGuard"] is False
    assert shown.body["properties"]["securitySettings"]["softDeleteSettings"]["state"] == "Off"
    await undelete(env, vault, principal(OPERATOR))


async def test_an_approval_lapses_and_belongs_to_its_principal(env: Env, vault: VaultRef) -> None:
    await guarded(env, vault)
    assert (await approve(env, vault, ADMIN, "someone-else@contoso.com")).status == 200
    unlink = await env.api.call("DELETE", proxy_path(vault), headers=principal(OPERATOR))
    assert (unlink.status, unlink.code) == (403, LINKED)

    assert (await approve(env, vault, ADMIN, OPERATOR, minutes=30)).status == 200
    env.advance(timedelta(minutes=30))
    lapsed = await env.api.call("DELETE", instance_path(vault, "bi"), headers=principal(OPERATOR))
    assert (lapsed.status, lapsed.code) == (403, LINKED)


async def test_only_the_guards_holder_changes_or_deletes_it(env: Env, vault: VaultRef) -> None:
    await guarded(env, vault)
    excluded = {
        "location": "westus",
        "properties": {
            "vaultCriticalOperationExclusionList": [
                "Microsoft.DataProtection/backupVaults/backupInstances/delete"
            ]
        },
    }
    weakened = await env.api.call("PUT", guard_path(vault), excluded, headers=principal(OPERATOR))
    assert (weakened.status, weakened.code) == (403, LINKED)
    retagged = await env.api.call(
        "PATCH", guard_path(vault), {"tags": {"a": "b"}}, headers=principal(OPERATOR)
    )
    assert (retagged.status, retagged.code) == (403, LINKED)
    retagged = await env.api.call("PATCH", guard_path(vault), {"tags": {"a": "b"}}, headers=principal(ADMIN))
    assert (retagged.status, retagged.body["tags"]) == (200, {"a": "b"})
    removed = await env.api.call("DELETE", guard_path(vault), headers=principal(OPERATOR))
    assert (removed.status, removed.code) == (403, LINKED)
    unknown = await env.api.call(
        "PUT",
        guard_path(vault),
        {**excluded, "properties": {"vaultCriticalOperationExclusionList": ["x"]}},
        headers=principal(ADMIN),
    )
    assert unknown.status == 400
    disarming = {
        "vaultCriticalOperationExclusionList": [
            "Microsoft.DataProtection/backupVaults/write#reduceSoftDeleteSecurity"
        ]
    }
    refused = await env.api.call(
        "PUT", guard_path(vault), {**excluded, "properties": disarming}, headers=principal(ADMIN)
    )
    assert (refused.status, refused.code) == (400, "BMSUserErrorInvalidCriticalOperationExclusionList")

    # The holder excludes instance deletion: the operator may delete without an approval.
    assert (await env.api.call("PUT", guard_path(vault), excluded, headers=principal(ADMIN))).status == 200
    deleted = await env.api.call("DELETE", instance_path(vault, "bi"), headers=principal(OPERATOR))
    assert deleted.status == 202, deleted.body
    await undelete(env, vault, principal(OPERATOR))
    listed = await env.api.call(
        "GET",
        guard_group(vault) + "/providers/Microsoft.DataProtection/resourceGuards",
        headers=principal(OPERATOR),
    )
    assert [guard["name"] for guard in listed.body["value"]] == ["guard"]


async def test_a_vault_links_to_one_guard_that_must_exist(env: Env, vault: VaultRef) -> None:
    await guarded(env, vault)
    missing = await env.api.call(
        "PUT",
        vault_path(vault) + "/backupResourceGuardProxies/other",
        {"properties": {"resourceGuardResourceId": guard_id(vault, "nowhere")}},
        headers=principal(OPERATOR),
    )
    assert missing.status == 400
    bad_id = await env.api.call(
        "PUT",
        proxy_path(vault),
        {"properties": {"resourceGuardResourceId": "/not/a/guard"}},
        headers=principal(OPERATOR),
    )
    assert (bad_id.status, bad_id.code) == (400, "InvalidResourceId")
    assert (
        await env.api.call(
            "PUT", guard_path(vault, "guard-2"), {"location": "westus"}, headers=principal(ADMIN)
        )
    ).status == 201
    second = await env.api.call(
        "PUT",
        vault_path(vault) + "/backupResourceGuardProxies/second",
        {"properties": {"resourceGuardResourceId": guard_id(vault, "guard-2")}},
        headers=principal(OPERATOR),
    )
    assert second.status == 409
    listed = await env.api.call(
        "GET", vault_path(vault) + "/backupResourceGuardProxies", headers=principal(OPERATOR)
    )
    assert [proxy["name"] for proxy in listed.body["value"]] == ["DppResourceGuardProxy"]
