"""Linked checks through the router, with App Service Authentication on, on Azurite and the
Compute emulator: protecting a disk needs the caller's own read access to it, a restore the
caller's own disk-write access to the target resource group, asked of ARM with the caller's
ARM token (``X-MS-TOKEN-AAD-ACCESS-TOKEN``). The app identity's rights stay necessary too; a
principal holding app roles but no Azure rights gets ``LinkedAuthorizationFailed`` and nothing
is stored."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backup.adapters.caller_rights import ArmCallerRights
from backup.adapters.compute import ComputeGateway
from backup.api.examples import RESTORE
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from tests.integration.api.conftest import DEFAULT_POLICY, T0, Answer, Api, vault_body, vault_path
from tests.integration.api.test_instances import (
    TOKEN,
    Env,
    instance_body,
    instance_env,
    instance_path,
    make_vault,
    seed,
)
from tests.integration.api.test_scoped_roles import Principal

pytestmark = pytest.mark.integration

ALICE = "c1111111-0000-4000-8000-0000000000a1"
"""Reader on the source disks' group and Disk Restore Operator on the restore group."""
BOB = "c1111111-0000-4000-8000-0000000000b2"
"""App roles, but no Azure rights anywhere."""
RESTORE_GROUP = "rg-restore"


class Caller:
    def __init__(self, object_id: str, token: str | None) -> None:
        self.principal = Principal(object_id, object_id=object_id, app_roles=("BackupOwner",))
        self.token = token

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = self.principal.headers()
        chosen = token if token is not None else self.token
        if chosen is not None:
            headers["X-MS-TOKEN-AAD-ACCESS-TOKEN"] = chosen
        return headers


@pytest.fixture
async def env(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> AsyncIterator[tuple[Env, dict[str, Caller]]]:
    subscription, other = str(uuid.uuid4()), str(uuid.uuid4())
    world = seed(subscription, other)
    world["subscriptions"][0]["resourceGroups"].append({"name": RESTORE_GROUP, "location": "westus"})
    world["roleAssignments"] += [
        {
            "principalId": ALICE,
            "role": "Reader",
            "scope": f"/subscriptions/{subscription}/resourceGroups/rg-src",
        },
        {
            "principalId": ALICE,
            "role": "Disk Restore Operator",
            "scope": f"/subscriptions/{subscription}/resourceGroups/{RESTORE_GROUP}",
        },
    ]
    admin = compute_emulator.admin
    admin.reset(world)
    tokens = {principal: admin.add_principal(principal) for principal in (ALICE, BOB)}
    clock = ManualClock(T0)
    admin.set_clock_offset((T0 - datetime.now(UTC)).total_seconds())
    gateway = ComputeGateway(
        AsyncStaticTokenCredential(TOKEN),
        endpoint=compute_emulator.url,
        ca_bundle=compute_emulator.ca_bundle,
        retry_total=0,
        polling_interval=0,
    )
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        arm_endpoint=compute_emulator.url,
        arm_ca_bundle=compute_emulator.ca_bundle,
    )
    runtime = Runtime.from_settings(
        settings,
        clock=clock,
        auth_enabled=True,
        retry_after_seconds=0,
        compute=gateway,
        caller_rights=ArmCallerRights(settings, retry_total=0),
    )
    try:
        callers = {name: Caller(oid, tokens[oid]) for name, oid in (("alice", ALICE), ("bob", BOB))}
        yield Env(Api(runtime), clock, compute_emulator, subscription, other), callers
    finally:
        await runtime.close()


async def _call(
    env: Env, caller: Caller, method: str, path: str, body: Any, token: str | None = None
) -> Answer:
    return await env.api.call(method, path, body, headers=caller.headers(token))


async def _vault(env: Env, owner: Caller) -> VaultRef:
    vault = VaultRef(env.subscription, "rg-src", "vault-" + uuid.uuid4().hex[:8])
    assert (await _call(env, owner, "PUT", vault_path(vault), vault_body())).status == 201
    policy = await _call(
        env, owner, "PUT", vault_path(vault) + "/backupPolicies/p1", {"properties": DEFAULT_POLICY}
    )
    assert policy.status in (200, 201), policy.body
    return vault


def _linked_failure(answer: Answer, *words: str) -> None:
    assert (answer.status, answer.code) == (403, "LinkedAuthorizationFailed"), answer.body
    for word in words:
        assert word in answer.body["error"]["message"], answer.body


async def test_protecting_a_disk_needs_the_callers_own_read_access_to_it(
    env: tuple[Env, dict[str, Caller]],
) -> None:
    world, callers = env
    alice, bob = callers["alice"], callers["bob"]
    vault = await _vault(world, alice)
    body = instance_body(world, vault, world.disk("disk-a"))
    # Bob holds BackupOwner in the app but cannot read the disk himself.
    refused = await _call(world, bob, "PUT", instance_path(vault, "disk-a"), body)
    _linked_failure(refused, "Microsoft.Compute/disks/read", "disk-a")
    validate = await _call(
        world,
        bob,
        "POST",
        vault_path(vault) + "/validateForBackup",
        {"backupInstance": body["properties"]},
    )
    _linked_failure(validate, "Microsoft.Compute/disks/read")
    # Without his ARM token, or with Alice's, it is refused too: the check fails closed.
    _linked_failure(await _call(world, bob, "PUT", instance_path(vault, "disk-a"), body, token=""), "token")
    borrowed = await _call(world, bob, "PUT", instance_path(vault, "disk-a"), body, token=alice.token)
    _linked_failure(borrowed, ALICE)
    assert (await _call(world, alice, "GET", instance_path(vault, "disk-a"), None)).status == 404
    # Alice may read the disk: protected (the app's own roles are checked as before).
    created = await _call(world, alice, "PUT", instance_path(vault, "disk-a"), body)
    assert created.status == 201, created.body


async def test_a_restore_needs_the_callers_own_disk_write_on_the_target_group(
    env: tuple[Env, dict[str, Caller]],
) -> None:
    world, callers = env
    alice, bob = callers["alice"], callers["bob"]
    vault = await _vault(world, alice)
    assert (
        await _call(
            world,
            alice,
            "PUT",
            instance_path(vault, "disk-a"),
            instance_body(world, vault, world.disk("disk-a")),
        )
    ).status == 201
    request = copy.deepcopy(RESTORE)
    group = f"/subscriptions/{world.subscription}/resourceGroups/{RESTORE_GROUP}"
    request["restoreTargetInfo"]["datasourceInfo"]["resourceID"] = (
        f"{group}/providers/Microsoft.Compute/disks/restored"
    )
    request["restoreTargetInfo"]["datasourceInfo"]["resourceName"] = "restored"
    request["restoreTargetInfo"]["restoreLocation"] = "westus"
    request["restoreTargetInfo"]["datasourceInfo"]["resourceLocation"] = "westus"
    path = instance_path(vault, "disk-a")
    refused = await _call(world, bob, "POST", path + "/restore", request)
    _linked_failure(refused, "Microsoft.Compute/disks/write", RESTORE_GROUP)
    validate = await _call(
        world,
        bob,
        "POST",
        path + "/validateRestore",
        {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": request},
    )
    _linked_failure(validate, "Microsoft.Compute/disks/write")
    # Alice passes the linked check; the app's own rights are still necessary, and the app holds
    # no role on the restore group: refused by the app's check, in Azure's words. Nothing started.
    allowed = await _call(world, alice, "POST", path + "/restore", request)
    assert (allowed.status, allowed.code) == (403, "UserErrorNotEnoughPermissionOnTargetRG"), allowed.body
    jobs = await _call(world, alice, "GET", vault_path(vault) + "/backupJobs", None)
    assert [job for job in jobs.body["value"] if job["properties"]["operation"] == "Restore"] == []


async def test_a_key_holder_without_sign_in_is_not_asked_for_an_arm_token(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> None:
    # Documented: a function key without App Service Authentication is an admin credential.
    async with instance_env(azurite, compute_emulator) as world:
        vault = VaultRef(world.subscription, "rg-key", "vault-key")
        await make_vault(world, vault)
        answer = await world.api.call("PUT", instance_path(vault, "disk-a"), instance_body(world, vault))
        assert answer.status == 201, answer.body


async def test_a_vault_goes_only_in_a_resource_group_that_exists_and_the_caller_may_read(
    env: tuple[Env, dict[str, Caller]],
) -> None:
    world, callers = env
    alice, bob = callers["alice"], callers["bob"]
    # Bob (BackupOwner in the app, no Azure rights) cannot put a vault in rg-src.
    refused = await _call(
        world, bob, "PUT", vault_path(VaultRef(world.subscription, "rg-src", "v-bob")), vault_body()
    )
    _linked_failure(refused, "Microsoft.Resources/subscriptions/resourceGroups/read", "rg-src")
    # A resource group that does not exist: 404, whoever asks.
    nowhere = await _call(
        world, alice, "PUT", vault_path(VaultRef(world.subscription, "rg-nowhere", "v")), vault_body()
    )
    assert (nowhere.status, nowhere.code) == (404, "ResourceGroupNotFound"), nowhere.body
    assert (
        await _call(world, alice, "GET", vault_path(VaultRef(world.subscription, "rg-src", "v-bob")), None)
    ).status == 404
    created = await _call(
        world, alice, "PUT", vault_path(VaultRef(world.subscription, "rg-src", "v-alice")), vault_body()
    )
    assert created.status == 201, created.body


async def test_a_vaults_scope_limits_bound_what_a_key_holder_may_protect_and_restore_into(
    azurite: AzuriteEndpoints, compute_emulator: EmulatorServer
) -> None:
    # A function key has no Azure rights to check: the owner's per-vault limits are the bound.
    async with instance_env(azurite, compute_emulator) as world:
        vault = VaultRef(world.subscription, "rg-key", "vault-limited")
        await make_vault(world, vault)
        limits_path = "/x" + vault_path(vault) + "/scopeLimits"
        assert (await world.api.call("GET", limits_path)).body == {}
        east = f"/subscriptions/{world.subscription}/resourceGroups/rg-east"
        limits = {"datasourceScopes": [east], "restoreTargetScopes": [east]}
        stored = await world.api.call("PUT", limits_path, limits)
        assert (stored.status, stored.body) == (200, limits)
        assert (await world.api.call("GET", limits_path)).body == limits

        outside = await world.api.call("PUT", instance_path(vault, "disk-a"), instance_body(world, vault))
        assert (outside.status, outside.code) == (403, "UserErrorOutsideVaultScopeLimits"), outside.body
        assert "rg-east" in outside.body["error"]["message"]
        assert (await world.api.call("GET", instance_path(vault, "disk-a"))).status == 404
        validate = await world.api.call(
            "POST",
            vault_path(vault) + "/validateForBackup",
            {"backupInstance": instance_body(world, vault)["properties"]},
        )
        assert validate.code == "UserErrorOutsideVaultScopeLimits"

        # Restores into a group outside restoreTargetScopes are refused before anything else.
        await world.api.call("PUT", limits_path, {"restoreTargetScopes": [east]})
        protected = await world.api.call("PUT", instance_path(vault, "disk-a"), instance_body(world, vault))
        assert protected.status == 201, protected.body
        request = copy.deepcopy(RESTORE)
        source_group = f"/subscriptions/{world.subscription}/resourceGroups/rg-src"
        request["restoreTargetInfo"]["datasourceInfo"]["resourceID"] = (
            f"{source_group}/providers/Microsoft.Compute/disks/copy"
        )
        request["restoreTargetInfo"]["datasourceInfo"]["resourceName"] = "copy"
        restore = await world.api.call("POST", instance_path(vault, "disk-a") + "/restore", request)
        assert (restore.status, restore.code) == (403, "UserErrorOutsideVaultScopeLimits"), restore.body

        bad = await world.api.call("PUT", limits_path, {"datasourceScopes": [vault_path(vault)]})
        assert bad.status == 400
        unknown = await world.api.call("PUT", limits_path, {"sources": []})
        assert (unknown.status, unknown.body["error"]["target"]) == (400, "sources")
        assert (await world.api.call("GET", limits_path)).body == {"restoreTargetScopes": [east]}
