"""Vaults and policies through the router against Azurite: happy paths, conflicts, and refusals
that leave the stored state exactly as it was."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from tests.integration.api.conftest import APP_PRINCIPAL, DEFAULT_POLICY, SUB, Api, vault_body, vault_path

pytestmark = pytest.mark.integration


def policy_body() -> dict[str, Any]:
    return {"properties": copy.deepcopy(DEFAULT_POLICY)}


async def create_vault(api: Api, vault: VaultRef, **extra: Any) -> dict[str, Any]:
    answer = await api.call("PUT", vault_path(vault), vault_body(**extra))
    assert answer.status == 201, answer.body
    return dict(answer.body)


async def add_instance(api: Api, vault: VaultRef, name: str = "disk-a-instance", policy: str = "p1") -> None:
    disk = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/{name}"
    instance = BackupInstance(
        vault=vault,
        name=name,
        disk_id=disk,
        disk_location="westus",
        policy_name=policy,
        policy_document=DEFAULT_POLICY,
        snapshot_resource_group_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps",
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    await api.context.store.create_instance(instance, PlanState(name, DEFAULT_POLICY, active=True))


async def test_vault_create_get_update_list_delete(api: Api, vault: VaultRef) -> None:
    created = await create_vault(api, vault, tags={"env": "test"})
    assert created["id"] == vault.id
    assert created["type"] == "Microsoft.DataProtection/backupVaults"
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert created["properties"]["storageSettings"] == [
        {"datastoreType": "OperationalStore", "type": "LocallyRedundant"}
    ]
    assert created["identity"]["type"] == "SystemAssigned"
    # The principal the vault's ARM calls are made as: the object id and tenant in the app's token.
    assert created["identity"]["principalId"] == APP_PRINCIPAL.id
    assert created["identity"]["tenantId"] == APP_PRINCIPAL.tenant_id
    assert created["tags"] == {"env": "test"}
    # Soft delete on by default (as on Azure), no immutability: one of the two.
    assert (created["properties"]["secureScore"], created["properties"]["bcdrSecurityLevel"]) == (
        "Minimum",
        "Fair",
    )

    upper = VaultRef(vault.subscription_id, vault.resource_group.upper(), vault.name.upper())
    got = await api.call("GET", vault_path(upper))
    assert (got.status, got.body) == (200, created)

    updated = await api.call("PUT", vault_path(upper), vault_body(location="West US", tags={"env": "prod"}))
    assert updated.status == 200
    assert updated.body["id"] == vault.id  # the first spelling stays
    assert updated.body["tags"] == {"env": "prod"}
    assert updated.body["location"] == "westus"

    patched = await api.call("PATCH", vault_path(vault), {"tags": {"x": "y"}})
    assert patched.status == 200
    assert patched.body["tags"] == {"x": "y"}

    listed = await api.call(
        "GET",
        f"/subscriptions/{SUB}/resourceGroups/{vault.resource_group}/providers/Microsoft.DataProtection/backupVaults",
    )
    assert [item["name"] for item in listed.body["value"]] == [vault.name]

    deleted = await api.call("DELETE", vault_path(vault))
    assert deleted.status == 200
    assert await api.rows(vault) == []
    assert (await api.call("GET", vault_path(vault))).status == 404
    assert (await api.call("DELETE", vault_path(vault))).status == 204


async def test_vault_lists_page_with_next_link(api: Api, vault: VaultRef) -> None:
    names = [f"{vault.name}-{i}" for i in range(5)]
    for name in names:
        await create_vault(api, VaultRef(vault.subscription_id, vault.resource_group, name))
    path = vault_path(vault).rsplit("/", 1)[0]
    first = await api.call("GET", path)
    assert len(first.body["value"]) == 3
    next_link = first.body["nextLink"]
    assert next_link.startswith("http://testserver/api" + path + "?api-version=2026-06-01&%24skipToken=")
    second = await api.call("GET", path, query=next_link.split("&", 1)[1])
    assert "nextLink" not in second.body
    assert [v["name"] for v in first.body["value"] + second.body["value"]] == names
    in_subscription = await api.call(
        "GET", f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/backupVaults"
    )
    assert in_subscription.status == 200
    assert "nextLink" in in_subscription.body


async def test_policy_create_get_list_idempotent_update_delete(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    path = vault_path(vault) + "/backupPolicies/DiskPolicy1"
    created = await api.call("PUT", path, policy_body())
    assert created.status == 200
    # As sent, with the retention lifecycle's targetDataStoreCopySettings shown as Azure shows it.
    shown = copy.deepcopy(DEFAULT_POLICY)
    [lifecycle] = shown["policyRules"][1]["lifecycles"]
    assert "targetDataStoreCopySettings" not in lifecycle
    lifecycle["targetDataStoreCopySettings"] = []
    assert created.body == {
        "id": vault.id + "/backupPolicies/DiskPolicy1",
        "name": "DiskPolicy1",
        "type": "Microsoft.DataProtection/backupVaults/backupPolicies",
        "properties": shown,
    }
    assert (await api.call("GET", path.lower().replace(vault.name.lower(), vault.name))).body == created.body
    assert (await api.call("PUT", path, policy_body())).status == 200
    listed = await api.call("GET", vault_path(vault) + "/backupPolicies")
    assert listed.body == {"value": [created.body]}
    changed = policy_body()
    changed["properties"]["policyRules"][1]["lifecycles"][0]["deleteAfter"]["duration"] = "P14D"
    assert (await api.call("PUT", path, changed)).status == 200  # not in use: may change
    assert (await api.call("DELETE", path)).status == 200
    assert (await api.call("DELETE", path)).status == 204
    assert (await api.call("GET", path)).status == 404


async def test_a_policy_in_use_cannot_change_but_can_be_resent(api: Api, vault: VaultRef) -> None:
    await create_vault(api, vault)
    path = vault_path(vault) + "/backupPolicies/p1"
    assert (await api.call("PUT", path, policy_body())).status == 200
    await add_instance(api, vault, policy="P1")
    assert (await api.call("PUT", path, policy_body())).status == 200
    changed = policy_body()
    changed["properties"]["policyRules"][1]["lifecycles"][0]["deleteAfter"]["duration"] = "P14D"
    before = await api.rows(vault)
    refused = await api.call("PUT", path, changed)
    assert (refused.status, refused.code) == (409, "UserErrorPolicyInUse")
    assert "disk-a-instance" in refused.body["error"]["message"]
    assert "new policy" in refused.body["error"]["message"]
    assert await api.rows(vault) == before


def _deep(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    target: Any = body
    *parents, last = dotted.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return body


BAD_VAULT_PUTS: list[tuple[str, Any, bytes | None, int, str, str | None]] = [
    # (case, json body, raw body, status, code, target)
    ("malformed json", None, b'{"location": ', 400, "InvalidRequestContent", None),
    ("not an object", [1, 2], None, 400, "InvalidRequestContent", None),
    ("no location", {"properties": {"storageSettings": []}}, None, 400, "MissingProperty", "location"),
    ("location not a string", vault_body(location=5), None, 400, "InvalidRequestContent", "location"),
    ("no properties", {"location": "westus"}, None, 400, "MissingProperty", "properties"),
    (
        "properties not object",
        {"location": "westus", "properties": "x"},
        None,
        400,
        "InvalidRequestContent",
        "properties",
    ),
    (
        "no storage settings",
        {"location": "westus", "properties": {}},
        None,
        400,
        "MissingProperty",
        "properties.storageSettings",
    ),
    (
        "bad datastore",
        _deep(vault_body(), "properties.storageSettings.0.datastoreType", "Tape"),
        None,
        400,
        "InvalidPropertyValue",
        "properties.storageSettings[0].datastoreType",
    ),
    (
        "bad redundancy",
        _deep(vault_body(), "properties.storageSettings.0.type", 3),
        None,
        400,
        "InvalidPropertyValue",
        "properties.storageSettings[0].type",
    ),
    (
        "bad identity type",
        vault_body(identity={"type": "Magic"}),
        None,
        400,
        "InvalidPropertyValue",
        "identity.type",
    ),
    (
        "user identity without ids",
        vault_body(identity={"type": "UserAssigned"}),
        None,
        400,
        "MissingProperty",
        "identity.userAssignedIdentities",
    ),
    (
        "user identity bad id",
        vault_body(identity={"type": "UserAssigned", "userAssignedIdentities": {"/subscriptions/x": {}}}),
        None,
        400,
        "InvalidResourceId",
        "identity.userAssignedIdentities",
    ),
    ("tags not strings", vault_body(tags={"a": 1}), None, 400, "InvalidTag", "tags.a"),
    ("too many tags", vault_body(tags={f"t{i}": "v" for i in range(51)}), None, 400, "InvalidTag", "tags"),
    (
        "bad soft delete state",
        _deep(vault_body(), "properties.securitySettings", {"softDeleteSettings": {"state": "Maybe"}}),
        None,
        400,
        "InvalidPropertyValue",
        "properties.securitySettings.softDeleteSettings.state",
    ),
    (
        # No off-site copies exist here: a geo-redundant vault would promise one that never is.
        "geo-redundant storage",
        _deep(
            vault_body(),
            "properties.storageSettings",
            [{"datastoreType": "VaultStore", "type": "geoRedundant"}],
        ),
        None,
        400,
        "InvalidPropertyValue",
        "properties.storageSettings[0].type",
    ),
    ("oversize", None, b'{"location": "' + b"x" * 300_000 + b'"}', 413, "RequestEntityTooLarge", None),
]


@pytest.mark.parametrize(
    ("case", "body", "raw", "status", "code", "target"), BAD_VAULT_PUTS, ids=[c[0] for c in BAD_VAULT_PUTS]
)
async def test_bad_vault_puts_are_refused_and_change_nothing(
    api: Api,
    vault: VaultRef,
    case: str,
    body: Any,
    raw: bytes | None,
    status: int,
    code: str,
    target: str | None,
) -> None:
    created = await create_vault(api, vault)
    before = await api.rows(vault)
    answer = await api.call("PUT", vault_path(vault), body, raw=raw)
    assert (answer.status, answer.code) == (status, code), answer.body
    assert answer.body["error"]["message"]
    if target is not None:
        assert answer.body["error"]["target"] == target
    assert await api.rows(vault) == before
    assert (await api.call("GET", vault_path(vault))).body == created


def _policy_with(dotted: str, value: Any) -> dict[str, Any]:
    return _deep(policy_body(), dotted, value)


BAD_POLICY_PUTS: list[tuple[str, Any, int, str, str | None]] = [
    ("no properties", {"name": "x"}, 400, "MissingProperty", "properties"),
    ("properties not object", {"properties": []}, 400, "InvalidRequestContent", "properties"),
    (
        "blob datasource",
        _policy_with("properties.datasourceTypes", ["Microsoft.Storage/storageAccounts/blobServices"]),
        400,
        "UnsupportedDatasourceType",
        "properties.datasourceTypes[0]",
    ),
    (
        "wrong object type",
        _policy_with("properties.objectType", "Policy"),
        400,
        "UnsupportedObjectType",
        "properties.objectType",
    ),
    (
        "bad duration",
        _policy_with("properties.policyRules.1.lifecycles.0.deleteAfter.duration", "seven days"),
        400,
        "InvalidDuration",
        None,
    ),
    (
        "vault store",
        _policy_with("properties.policyRules.0.dataStore.dataStoreType", "VaultStore"),
        400,
        "UnsupportedDataStoreType",
        None,
    ),
    (
        "a copy to another data store",
        _policy_with(
            "properties.policyRules.1.lifecycles.0.targetDataStoreCopySettings",
            [
                {
                    "copyAfter": {"objectType": "ImmediateCopyOption"},
                    "dataStore": {"dataStoreType": "VaultStore"},
                }
            ],
        ),
        400,
        "UnsupportedDataStoreType",
        "properties.policyRules[1].lifecycles[0].targetDataStoreCopySettings",
    ),
    (
        "rules not a list",
        _policy_with("properties.policyRules", {}),
        400,
        "InvalidPropertyType",
        "properties.policyRules",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "code", "target"), BAD_POLICY_PUTS, ids=[c[0] for c in BAD_POLICY_PUTS]
)
async def test_bad_policy_puts_are_refused_and_change_nothing(
    api: Api, vault: VaultRef, case: str, body: Any, status: int, code: str, target: str | None
) -> None:
    await create_vault(api, vault)
    before = await api.rows(vault)
    answer = await api.call("PUT", vault_path(vault) + "/backupPolicies/p1", body)
    assert (answer.status, answer.code) == (status, code), answer.body
    if target is not None:
        assert answer.body["error"]["target"] == target
    assert await api.rows(vault) == before


async def test_refusals_that_touch_nothing(api: Api, vault: VaultRef) -> None:
    """Conflicts, bad ids and names, bad routes: a 4xx ARM error and an unchanged partition."""
    await create_vault(api, vault)
    assert (await api.call("PUT", vault_path(vault) + "/backupPolicies/p1", policy_body())).status == 200
    await add_instance(api, vault, policy="p1")
    before = await api.rows(vault)
    base = vault_path(vault)
    cases: list[tuple[str, str, Any, dict[str, Any], int, str]] = [
        ("DELETE", base, None, {}, 409, "UserErrorVaultHasBackupInstances"),
        ("DELETE", base + "/backupPolicies/p1", None, {}, 409, "UserErrorPolicyInUse"),
        ("PUT", base, vault_body(location="eastus"), {}, 400, "InvalidResourceLocation"),
        (
            "PUT",
            base + "/backupPolicies/p1",
            policy_body(),
            {"api_version": None},
            400,
            "MissingApiVersionParameter",
        ),
        (
            "PUT",
            base + "/backupPolicies/p1",
            policy_body(),
            {"api_version": "2020-01-01"},
            400,
            "InvalidApiVersionParameter",
        ),
        ("PUT", base + "/backupPolicies/-bad", policy_body(), {}, 400, "InvalidResourceName"),
        ("PUT", base.replace(SUB, "123"), vault_body(), {}, 400, "InvalidSubscriptionId"),
        ("PUT", base.replace(vault.resource_group, "rg."), vault_body(), {}, 400, "InvalidResourceGroupName"),
        ("PUT", base + "/backupWidgets/w", {}, {}, 404, "InvalidResourceType"),
        ("POST", base + "/backupPolicies/p1", {}, {}, 405, "MethodNotAllowed"),
        ("GET", base + "/backupJobs/not-a-guid", None, {}, 400, "InvalidJobId"),
        (
            "GET",
            base + "/backupInstances/disk-a-instance/recoveryPoints/xyz",
            None,
            {},
            400,
            "InvalidRecoveryPointId",
        ),
        (
            "GET",
            base + "/backupJobs",
            None,
            {"query": "$filter=color%20eq%20'red'"},
            400,
            "InvalidQueryParameterValue",
        ),
        ("GET", base + "/backupInstances/nope/recoveryPoints", None, {}, 404, "ResourceNotFound"),
        (
            "PUT",
            vault_path(VaultRef(SUB, vault.resource_group, "other")) + "/backupPolicies/p1",
            policy_body(),
            {},
            404,
            "ResourceNotFound",
        ),
    ]
    for method, path, body, options, status, code in cases:
        answer = await api.call(method, path, body, **options)
        assert (answer.status, answer.code) == (status, code), (method, path, answer.body)
        assert answer.body["error"]["message"]
    assert await api.rows(vault) == before
