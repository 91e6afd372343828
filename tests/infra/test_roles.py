"""Every role assignment grants a known built-in role, is named guid(scope, principal, role) and
never hard-codes the deployer's principal type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra import _bicep
from tests.infra._tools import INFRA_DIR

pytestmark = pytest.mark.infra

# Built-in role definition ids. Source: Microsoft Learn, "Azure built-in roles"
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles, storage, monitor and compute
# sections), the same ids the azd Flex templates' rbac.bicep (Azure-Samples/functions-quickstart-
# python-azd, infra/app/rbac.bicep) and Azure Backup's disk backup quickstart Bicep use.
BUILT_IN_ROLES = {
    "StorageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "StorageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "StorageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "MonitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "DiskBackupReader": "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24",
    "DiskSnapshotContributor": "7efff54f-a5b4-42b5-a1c5-5411624893ce",
    "DiskRestoreOperator": "b50d9833-a0cb-478e-945f-707fcc997c13",
}
KNOWN_IDS = set(BUILT_IN_ROLES.values())
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


def role_ids(tree: dict[str, Any], relative: str, expression: Any, loop: dict[str, Any] | None) -> set[str]:
    """The role definition ids an expression can take: a literal, roles.X from builtin-roles.json,
    a loop item over a list of those, or a parameter with @allowed."""
    bicep_file = INFRA_DIR / relative
    if isinstance(expression, str) and _bicep.GUID.fullmatch(expression):
        return {expression}
    accessed = _bicep.property_access(expression)
    if accessed:
        table = _bicep.load_json_var(tree, bicep_file, accessed[0])
        assert table is not None, f"{relative}: {accessed[0]} is not loadJsonContent(...)"
        return {table[accessed[1]]}
    if isinstance(expression, str):
        if loop and expression == loop["item_name"]:
            items = _bicep.resolve(tree, loop["array_name"])
            assert isinstance(items, list), (
                f"{relative}: loop over {loop['array_name']} is not a literal list"
            )
            return set().union(*(role_ids(tree, relative, item, None) for item in items))
        allowed = _bicep.allowed_values(tree, expression)
        if allowed is not None:
            return set(allowed)
        resolved = _bicep.resolve(tree, expression)
        if resolved is not expression:
            return role_ids(tree, relative, resolved, loop)
    raise AssertionError(f"{relative}: cannot tell which role {expression!r} grants")


def assignments(bicep: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]:
    found = []
    for relative, tree in bicep.items():
        for name, resource in _bicep.resources_of_type(tree, ROLE_ASSIGNMENT):
            found.append(
                (relative, name, _bicep.unwrap(resource["config"]), _bicep.loop_of(resource["config"]))
            )
    return found


def test_builtin_roles_file_matches_the_table() -> None:
    table = json.loads((INFRA_DIR / "core/security/builtin-roles.json").read_text())
    table.pop("//", None)
    assert table == BUILT_IN_ROLES


def test_there_are_role_assignments(bicep: dict[str, Any]) -> None:
    # app identity on storage (3) and App Insights, deployer likewise, one per remote scope kind.
    assert len(assignments(bicep)) >= 6


@pytest.mark.parametrize("field", ["roleDefinitionId", "name", "principalType"])
def test_every_assignment(bicep: dict[str, Any], field: str) -> None:
    for relative, name, body, loop in assignments(bicep):
        tree = bicep[relative]
        properties = body["properties"]
        if field == "roleDefinitionId":
            call = _bicep.function_call(properties["roleDefinitionId"], "subscription_resource_id")
            assert call is not None, f"{relative}:{name}: roleDefinitionId is not subscriptionResourceId(...)"
            assert call["resource_type"] == "Microsoft.Authorization/roleDefinitions", f"{relative}:{name}"
            granted = role_ids(tree, relative, call["resource_name_1"], loop)
            assert granted, f"{relative}:{name} grants nothing"
            assert granted <= KNOWN_IDS, f"{relative}:{name} grants {granted - KNOWN_IDS}"
        elif field == "name":
            guid = _bicep.function_call(body["name"], "guid")
            assert guid is not None, f"{relative}:{name} is not named guid(...)"
            arguments = [guid[key] for key in guid]
            assert len(arguments) == 3, f"{relative}:{name}: guid(scope, principal, role)"
            assert arguments[1] == properties["principalId"], f"{relative}:{name}: principal in the name"
            assert (
                arguments[2]
                == _bicep.function_call(properties["roleDefinitionId"], "subscription_resource_id")[
                    "resource_name_1"
                ]
            ), f"{relative}:{name}: role in the name"  # type: ignore[index]
        else:
            principal_type = properties["principalType"]
            assert principal_type in ("ServicePrincipal", "deployerPrincipalType"), (
                f"{relative}:{name}: principalType {principal_type!r} (never a hard-coded 'User')"
            )


def test_module_role_arguments_are_known(bicep: dict[str, Any]) -> None:
    checked = 0
    for relative, tree in bicep.items():
        for name, module in tree.get("modules", {}).items():
            params = _bicep.unwrap(module["config"]).get("params", {})
            if "roleDefinitionId" in params:
                granted = role_ids(
                    tree, relative, params["roleDefinitionId"], _bicep.loop_of(module["config"])
                )
                assert granted <= KNOWN_IDS, f"{relative}:{name} passes {granted - KNOWN_IDS}"
                checked += 1
    assert checked == 6, "reader, snapshot and restore roles, each at resource group and subscription scope"


def test_every_guid_in_infra_is_a_known_role() -> None:
    for path in INFRA_DIR.rglob("*.bicep"):
        unknown = set(_bicep.GUID.findall(path.read_text())) - KNOWN_IDS
        assert not unknown, f"{path}: {unknown}"


def test_app_identity_roles(bicep: dict[str, Any]) -> None:
    tree = bicep["app/rbac.bicep"]
    granted = set()
    for _name, resource in _bicep.resources_of_type(tree, ROLE_ASSIGNMENT):
        body = _bicep.unwrap(resource["config"])
        if body["properties"]["principalId"] == "appPrincipalId":
            call = _bicep.function_call(body["properties"]["roleDefinitionId"], "subscription_resource_id")
            granted |= role_ids(
                tree, "app/rbac.bicep", call["resource_name_1"], _bicep.loop_of(resource["config"])
            )  # type: ignore[index]
    assert granted == {
        BUILT_IN_ROLES["StorageBlobDataOwner"],
        BUILT_IN_ROLES["StorageQueueDataContributor"],
        BUILT_IN_ROLES["StorageTableDataContributor"],
        BUILT_IN_ROLES["MonitoringMetricsPublisher"],
    }
