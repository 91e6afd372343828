"""Scoped roles through the router on Azurite, with App Service Authentication on: principals
holding roles at a vault, a resource group, a subscription (stored role assignments, by object id
or by group) or everywhere (an app role in the token), against every kind of route, lists
included. Nothing of a vault leaks to a principal without a role on it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from backup.adapters.tables.base import RowsRead
from backup.bootstrap import Runtime
from backup.config import Settings
from backup.domain.access import ROLE_DEFINITION_IDS, Role
from backup.domain.clock import ManualClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, ProtectionState
from backup.domain.records import DatasourceClaim, PlanState
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator.tokens import Principal as EmulatorPrincipal
from localdev.compute_emulator.tokens import access_token
from tests.fakes.caller_rights import FakeCallerRights
from tests.fakes.compute import FakeArm
from tests.integration.api.conftest import (
    APP_PRINCIPAL,
    DEFAULT_POLICY,
    T0,
    Answer,
    Api,
    vault_body,
    vault_path,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Principal:
    name: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    app_roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def headers(self) -> dict[str, str]:
        claims = [
            {"typ": "name", "val": self.name},
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": self.object_id},
            *({"typ": "roles", "val": role} for role in self.app_roles),
            *({"typ": "groups", "val": group} for group in self.groups),
        ]
        encoded = base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
        # The token store's ARM token for this principal (linked checks ask ARM with it).
        return {"X-MS-CLIENT-PRINCIPAL": encoded, "X-MS-TOKEN-AAD-ACCESS-TOKEN": self.arm_token}

    @property
    def arm_token(self) -> str:
        return access_token(EmulatorPrincipal(self.object_id))


@dataclass
class World:
    api: Api
    subscription: str
    a: VaultRef
    a2: VaultRef
    b: VaultRef
    owner: Principal
    principals: dict[str, Principal]

    async def call(self, who: Principal, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        return await self.api.call(method, path, body, headers=who.headers(), **options)

    def vault(self, key: str) -> VaultRef:
        return {"A": self.a, "A2": self.a2, "B": self.b}[key]


def assignments_path(scope: str, name: str | None = None) -> str:
    path = scope + "/providers/Microsoft.Authorization/roleAssignments"
    return path if name is None else f"{path}/{name}"


def grant_body(role: Role, principal_id: str, principal_type: str = "User") -> dict[str, Any]:
    definition = f"/providers/Microsoft.Authorization/roleDefinitions/{ROLE_DEFINITION_IDS[role]}"
    return {
        "properties": {
            "roleDefinitionId": definition,
            "principalId": principal_id,
            "principalType": principal_type,
        }
    }


async def _seed(api: Api, vault: VaultRef) -> None:
    instance = BackupInstance(
        vault=vault,
        name=f"{vault.name}-disk",
        disk_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/{vault.name}",
        disk_location="westus",
        policy_name="default",
        policy_document=DEFAULT_POLICY,
        snapshot_resource_group_id=f"/subscriptions/{vault.subscription_id}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    await api.context.store.create_instance(instance, PlanState(instance.name, DEFAULT_POLICY, active=True))
    await api.context.store.put_datasource_claim(DatasourceClaim(instance.disk_id, vault, instance.name, T0))
    await api.context.store.put_job(
        Job.for_instance(
            instance, id=job_id(T0, vault.id), operation=JobOperation.ON_DEMAND_BACKUP, start_time=T0
        )
    )


GROUP = str(uuid.uuid4())
AZURE_OWNER = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
"""Azure's built-in Owner: not one of this app's roles."""
VISIBLE = {
    "owner": {"A", "A2", "B"},
    "alice": {"A"},
    "rob": {"A", "A2"},
    "rita": {"A", "A2", "B"},
    "bob": {"B"},
    "member": {"B"},
    "nobody": set(),
}
OPERATES = {"owner": {"A", "A2", "B"}, "alice": {"A"}, "bob": {"B"}}
RESTORES = {"owner": {"A", "A2", "B"}, "rob": {"A", "A2"}, "bob": {"B"}}
OWNS = {"owner": {"A", "A2", "B"}, "bob": {"B"}}


def caller_rights(subscription: str, readers: list[Principal]) -> FakeCallerRights:
    """The caller's own Azure rights, at our port: the subscription's resource groups exist, and
    ``readers`` may read them (vault creation's linked check; its real ARM side is tested in
    test_linked_checks.py against the emulator)."""
    arm = FakeArm(ManualClock(T0))
    for group in ("rg-a", "rg-b"):
        arm.add_group(f"/subscriptions/{subscription}/resourceGroups/{group}")
    for reader in readers:
        arm.grant(reader.object_id, "Reader", f"/subscriptions/{subscription}")
    return FakeCallerRights(arm, {reader.arm_token: reader.object_id for reader in readers})


@pytest.fixture
async def world(azurite: AzuriteEndpoints) -> AsyncIterator[World]:
    subscription = str(uuid.uuid4())  # fresh: this test's vaults are the subscription's only ones
    owner = Principal("owner@example.com", app_roles=("BackupOwner",))
    principals = {
        "owner": owner,
        "alice": Principal("alice@example.com"),
        "rob": Principal("rob@example.com"),
        "rita": Principal("rita@example.com"),
        "bob": Principal("bob@example.com"),
        "member": Principal("member@example.com", groups=(GROUP,)),
        "nobody": Principal("nobody@example.com"),
    }
    runtime = Runtime.from_settings(
        Settings(
            storage_connection_string=azurite.connection_string, arm_static_token=access_token(APP_PRINCIPAL)
        ),
        clock=ManualClock(T0),
        auth_enabled=True,
        retry_after_seconds=0,
        page_size=100,
        caller_rights=caller_rights(subscription, [owner, principals["bob"]]),
    )
    api = Api(runtime)
    a, a2, b = (
        VaultRef(subscription, "rg-a", "vault-a"),
        VaultRef(subscription, "rg-a", "vault-a2"),
        VaultRef(subscription, "rg-b", "vault-b"),
    )
    world = World(api, subscription, a, a2, b, owner, principals)
    for vault in (a, a2, b):
        assert (await world.call(owner, "PUT", vault_path(vault), vault_body())).status == 201
        await _seed(api, vault)
    sub_scope = f"/subscriptions/{subscription}"
    grants = [
        (vault_path(a), Role.OPERATOR, principals["alice"].object_id, "User"),
        (f"{sub_scope}/resourceGroups/rg-a", Role.RESTORE_OPERATOR, principals["rob"].object_id, "User"),
        (sub_scope, Role.READER, principals["rita"].object_id, "User"),
        (vault_path(b), Role.OWNER, principals["bob"].object_id, "User"),
        (vault_path(b), Role.READER, GROUP, "Group"),
    ]
    for scope, role, principal_id, kind in grants:
        answer = await world.call(
            owner, "PUT", assignments_path(scope, str(uuid.uuid4())), grant_body(role, principal_id, kind)
        )
        assert answer.status == 201, answer.body
    yield world
    await runtime.close()


def _names(answer: Answer) -> set[str]:
    return {
        item["id"].split("/backupVaults/")[1].split("/")[0].upper().replace("VAULT-", "")
        for item in answer.body["value"]
    }


def _denied(answer: Answer) -> bool:
    return answer.status == 403 and answer.code == "AuthorizationFailed"


@pytest.mark.parametrize("who", sorted(VISIBLE))
async def test_each_principal_reaches_exactly_the_vaults_its_roles_cover(world: World, who: str) -> None:
    principal = world.principals[who]
    visible = VISIBLE[who]
    for key in ("A", "A2", "B"):
        vault = world.vault(key)
        path = vault_path(vault)
        instance = f"{path}/backupInstances/{vault.name}-disk"
        reads = [
            await world.call(principal, "GET", path),
            await world.call(principal, "GET", instance),
            await world.call(principal, "GET", f"{path}/backupJobs"),
            await world.call(principal, "GET", f"{path}/backupPolicies"),
            await world.call(principal, "GET", f"{instance}/recoveryPoints"),
        ]
        for answer in reads:
            assert (answer.status == 200) is (key in visible), (who, key, answer.status, answer.body)
            if key not in visible:
                assert _denied(answer)
                assert vault.name in answer.body["error"]["message"]

        policy = await world.call(
            principal, "PUT", f"{path}/backupPolicies/team-policy", {"properties": DEFAULT_POLICY}
        )
        assert (policy.status in (200, 201)) is (key in OPERATES.get(who, set())), (who, key, policy.body)
        assert policy.status in (200, 201) or _denied(policy)

        # An empty body: a principal allowed to restore gets past the role check to the body's 400.
        restore = await world.call(principal, "POST", f"{instance}/restore", {})
        expected = 400 if key in RESTORES.get(who, set()) else 403
        assert restore.status == expected, (who, key, restore.body)

        backup = await world.call(principal, "POST", f"{instance}/backup", {})
        assert (backup.status != 403) is (key in OPERATES.get(who, set())), (who, key, backup.body)


@pytest.mark.parametrize("who", sorted(VISIBLE))
async def test_lists_and_counts_show_only_the_vaults_a_principal_may_see(world: World, who: str) -> None:
    principal = world.principals[who]
    visible = VISIBLE[who]
    sub = f"/subscriptions/{world.subscription}"
    provider = "/providers/Microsoft.DataProtection"
    lists = [
        await world.call(principal, "GET", f"{sub}{provider}/backupVaults"),
        await world.call(principal, "GET", f"{sub}{provider}/backupInstances"),
    ]
    overview = await world.call(principal, "GET", f"/x{sub}/overview")
    if not visible:
        assert all(_denied(answer) for answer in [*lists, overview])
        return
    for answer in lists:
        assert answer.status == 200
        assert _names(answer) == visible, (who, answer.body)
    assert overview.status == 200
    assert {v["vaultName"].upper().replace("VAULT-", "") for v in overview.body["vaults"]} == visible
    assert overview.body["totals"]["instances"] == len(visible)

    for group, members in (("rg-a", {"A", "A2"}), ("rg-b", {"B"})):
        in_group = [
            await world.call(principal, "GET", f"{sub}/resourceGroups/{group}{provider}/backupVaults"),
            await world.call(principal, "GET", f"{sub}/resourceGroups/{group}{provider}/backupInstances"),
        ]
        group_overview = await world.call(principal, "GET", f"/x{sub}/resourceGroups/{group}/overview")
        shown = visible & members
        if not shown:
            assert all(_denied(answer) for answer in [*in_group, group_overview]), (who, group)
            continue
        for answer in in_group:
            assert _names(answer) == shown, (who, group, answer.body)
        assert {v["vaultName"].upper().replace("VAULT-", "") for v in group_overview.body["vaults"]} == shown

    disk_list = await world.call(
        principal,
        "GET",
        f"{sub}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/{world.b.name}{provider}/backupInstances",
    )
    if disk_list.status == 200:
        assert bool(disk_list.body["value"]) is ("B" in visible), (who, disk_list.body)
    else:
        assert _denied(disk_list)


async def test_creating_and_deleting_vaults_and_granting_roles_are_an_owners_acts(world: World) -> None:
    alice, bob, rita = (world.principals[n] for n in ("alice", "bob", "rita"))
    new_in_a = VaultRef(world.subscription, "rg-a", "vault-new")
    new_in_b = VaultRef(world.subscription, "rg-b", "vault-new")
    # An operator of vault A creates no vault, even in A's resource group; nor deletes A.
    assert _denied(await world.call(alice, "PUT", vault_path(new_in_a), vault_body()))
    assert _denied(await world.call(alice, "DELETE", vault_path(world.a)))
    # Bob owns vault B alone: a new vault next to it is not his to create.
    assert _denied(await world.call(bob, "PUT", vault_path(new_in_b), vault_body()))
    # But he updates B (an operator's act, implied) and grants roles on B, not on A.
    assert (await world.call(bob, "PUT", vault_path(world.b), vault_body(tags={"team": "b"}))).status == 200
    granted = await world.call(
        bob,
        "PUT",
        assignments_path(vault_path(world.b), str(uuid.uuid4())),
        grant_body(Role.OPERATOR, alice.object_id),
    )
    assert granted.status == 201
    assert granted.body["properties"]["scope"] == vault_path(world.b)
    assert _denied(
        await world.call(
            bob,
            "PUT",
            assignments_path(vault_path(world.a), str(uuid.uuid4())),
            grant_body(Role.OWNER, bob.object_id),
        )
    )
    assert _denied(
        await world.call(
            bob,
            "PUT",
            assignments_path(f"/subscriptions/{world.subscription}", str(uuid.uuid4())),
            grant_body(Role.OWNER, bob.object_id),
        )
    )
    # A reader at the subscription neither grants nor revokes.
    assert _denied(
        await world.call(
            rita,
            "PUT",
            assignments_path(vault_path(world.a), str(uuid.uuid4())),
            grant_body(Role.OWNER, rita.object_id),
        )
    )
    # Alice now operates B too; the grant holds from the next request on.
    policy = await world.call(
        alice, "PUT", vault_path(world.b) + "/backupPolicies/p", {"properties": DEFAULT_POLICY}
    )
    assert policy.status in (200, 201), policy.body
    # Bob revokes it: Alice is back to vault A alone.
    revoked = await world.call(bob, "DELETE", assignments_path(vault_path(world.b), granted.body["name"]))
    assert revoked.status == 200
    assert _denied(await world.call(alice, "GET", vault_path(world.b)))
    assert (
        await world.call(bob, "DELETE", assignments_path(vault_path(world.b), granted.body["name"]))
    ).status == 204
    # The bootstrap owner (an app role) creates and deletes vaults anywhere.
    assert (await world.call(world.owner, "PUT", vault_path(new_in_a), vault_body())).status == 201
    grant_on_new = assignments_path(vault_path(new_in_a), str(uuid.uuid4()))
    assert (
        await world.call(world.owner, "PUT", grant_on_new, grant_body(Role.OWNER, alice.object_id))
    ).status == 201
    assert (await world.call(alice, "GET", vault_path(new_in_a))).status == 200
    assert (await world.call(world.owner, "DELETE", vault_path(new_in_a))).status == 200
    # Its grants went with it: a namesake created later does not inherit them.
    assert (await world.call(world.owner, "PUT", vault_path(new_in_a), vault_body())).status == 201
    assert _denied(await world.call(alice, "GET", vault_path(new_in_a)))
    assert (await world.call(world.owner, "GET", grant_on_new)).status == 404


async def test_role_assignments_list_what_applies_at_a_scope_to_those_who_may_read_there(
    world: World,
) -> None:
    alice, rita, nobody = (world.principals[n] for n in ("alice", "rita", "nobody"))
    at_a = await world.call(alice, "GET", assignments_path(vault_path(world.a)))
    assert at_a.status == 200
    listed = {
        (item["properties"]["roleDefinitionName"], item["properties"]["scope"]) for item in at_a.body["value"]
    }
    sub = f"/subscriptions/{world.subscription}"
    assert listed == {
        ("BackupOperator", vault_path(world.a)),
        ("RestoreOperator", f"{sub}/resourceGroups/rg-a"),
        ("BackupReader", sub),
    }
    only_alice = await world.call(
        rita,
        "GET",
        assignments_path(vault_path(world.a)),
        query=f"$filter=principalId eq '{alice.object_id}'",
    )
    assert [item["properties"]["principalId"] for item in only_alice.body["value"]] == [alice.object_id]
    # Alice holds a role on vault A only: the subscription's list is not hers to read, nor B's.
    assert _denied(await world.call(alice, "GET", assignments_path(sub)))
    assert _denied(await world.call(alice, "GET", assignments_path(vault_path(world.b))))
    assert _denied(await world.call(nobody, "GET", assignments_path(vault_path(world.a))))
    one = next(item for item in at_a.body["value"] if item["properties"]["scope"] == vault_path(world.a))
    got = await world.call(alice, "GET", one["id"])
    assert (got.status, got.body) == (200, one)


async def test_role_assignment_requests_that_are_wrong_are_400s_that_change_nothing(world: World) -> None:
    owner, alice = world.owner, world.principals["alice"]
    scope = vault_path(world.a)
    before = (await world.call(owner, "GET", assignments_path(scope))).body
    name = str(uuid.uuid4())
    cases = [
        ({"properties": {"principalId": alice.object_id}}, "RoleDefinitionDoesNotExist"),
        (
            grant_body(Role.READER, alice.object_id)
            | {
                "properties": {
                    "roleDefinitionId": AZURE_OWNER,
                    "principalId": alice.object_id,
                }
            },
            "RoleDefinitionDoesNotExist",
        ),
        (grant_body(Role.READER, "alice@example.com"), "InvalidPrincipalId"),
        (grant_body(Role.READER, alice.object_id, "Robot"), "InvalidPrincipalType"),
        ({"roleDefinitionId": "x"}, "InvalidRequestContent"),
    ]
    for body, code in cases:
        answer = await world.call(owner, "PUT", assignments_path(scope, name), body)
        assert (answer.status, answer.code) == (400, code), answer.body
    bad_name = await world.call(
        owner, "PUT", assignments_path(scope, "not-a-guid"), grant_body(Role.READER, alice.object_id)
    )
    assert (bad_name.status, bad_name.code) == (400, "InvalidRoleAssignmentName")
    # The same grant again under a new name, or another grant under an existing name: 409.
    existing = next(item for item in before["value"] if item["properties"]["scope"] == scope)
    again = await world.call(
        owner, "PUT", assignments_path(scope, str(uuid.uuid4())), grant_body(Role.OPERATOR, alice.object_id)
    )
    assert (again.status, again.code) == (409, "RoleAssignmentExists")
    changed = await world.call(
        owner, "PUT", assignments_path(scope, existing["name"]), grant_body(Role.OWNER, alice.object_id)
    )
    assert (changed.status, changed.code) == (409, "RoleAssignmentUpdateNotPermitted")
    assert (await world.call(owner, "GET", assignments_path(scope))).body == before
    # The same PUT again is the stored assignment, unchanged.
    same = await world.call(
        owner, "PUT", assignments_path(scope, existing["name"]), grant_body(Role.OPERATOR, alice.object_id)
    )
    assert (same.status, same.body) == (200, existing)


async def test_another_vaults_operation_status_is_not_found(world: World) -> None:
    bob, alice = world.principals["bob"], world.principals["alice"]
    instance = f"{vault_path(world.b)}/backupInstances/{world.b.name}-disk"
    answer = await world.call(bob, "POST", f"{instance}/suspendBackups", None)
    assert answer.status == 202, answer.body
    status_url = answer.headers["Azure-AsyncOperation"]
    path = status_url.split("/api", 1)[1].split("?")[0]
    assert (await world.call(bob, "GET", path)).status == 200
    assert "/locations/" in path  # a subscription-level URL, which alice may ask at all
    hidden = await world.call(alice, "GET", path)
    # Vault B's operation, to a principal without a role on B: as if it did not exist.
    assert (hidden.status, hidden.code) == (404, "OperationNotFound")
    assert world.b.name not in json.dumps(hidden.body)


async def test_a_narrow_principals_list_reads_only_what_its_grants_reach(world: World) -> None:
    # Twenty more vaults next to hers in rg-a: Alice's lists read her one
    # vault's registry row (and its instances), not theirs; the owner's read them all.
    others = [VaultRef(world.subscription, "rg-a", f"vault-other-{i:02d}") for i in range(20)]
    for vault in others:
        assert (await world.call(world.owner, "PUT", vault_path(vault), vault_body())).status == 201
    sub = f"/subscriptions/{world.subscription}/providers/Microsoft.DataProtection"
    alice = world.principals["alice"]
    for path in (
        f"{sub}/backupVaults",
        f"{sub}/backupInstances",
        f"/x/subscriptions/{world.subscription}/overview",
    ):
        before = RowsRead.count
        answer = await world.call(alice, "GET", path)
        alice_rows = RowsRead.count - before
        assert answer.status == 200, answer.body
        before = RowsRead.count
        assert (await world.call(world.owner, "GET", path)).status == 200
        owner_rows = RowsRead.count - before
        assert alice_rows <= 6, (path, alice_rows)
        assert owner_rows >= len(others), (path, owner_rows)
