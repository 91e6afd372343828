"""The calls Azure has beside the resources, without storage: the roles they require, the
tenant-level ``/providers/...`` path, and the operations list derived from the routes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup.api.app import build_router
from backup.api.auth import Role
from backup.api.endpoints import instance_operations, job_export, provider
from backup.api.endpoints.provider import action_name, provider_operations
from backup.api.http import ApiRequest
from backup.api.openapi import OPERATIONS
from tests.unit.api.test_auth import principal
from tests.unit.api.test_router import BASE, SUB, context

VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-1/providers/Microsoft.DataProtection/backupVaults/vault-1"
ROLES = {
    ("GET", provider.OPERATIONS_LIST): Role.READER,
    ("POST", provider.CHECK_NAME_AVAILABILITY): Role.READER,
    ("POST", provider.CHECK_FEATURE_SUPPORT): Role.READER,
    ("POST", instance_operations.FIND_RESTORABLE_TIME_RANGES): Role.READER,
    ("POST", job_export.EXPORT_BACKUP_JOBS): Role.READER,
    ("GET", job_export.EXPORT_OPERATION_RESULT): Role.READER,
    ("POST", instance_operations.SYNC): Role.OPERATOR,
    ("POST", instance_operations.VALIDATE_FOR_MODIFY_BACKUP): Role.OPERATOR,
}
"""The role matrix of the calls this module covers: the checks and reads any role may make (the
jobs export shows what GET backupJobs shows);
sync changes an instance and validateForModifyBackup vets a change only an operator may make."""


def test_each_new_route_requires_its_role() -> None:
    routed = {(route.method, route.template): route.role for route in build_router().routes}
    assert {key: routed[key] for key in ROLES} == ROLES


async def call(method: str, path: str, *roles: str, body: str | None = None) -> tuple[int, Any]:
    headers = {"X-MS-CLIENT-PRINCIPAL": principal(*roles)}
    request = ApiRequest.build(method, f"{BASE}{path}?api-version=2026-06-01", headers=headers, body=body)
    response = await build_router().handle(request, context(auth_enabled=True))
    text = response.json_text()
    return response.status, json.loads(text) if text else None


@pytest.mark.parametrize("action", ["sync", "validateForModifyBackup"])
async def test_a_reader_cannot_sync_or_validate_a_modification(action: str) -> None:
    path = f"{VAULT}/backupInstances/bi-1/{action}"
    status, body = await call("POST", path, "BackupReader", "RestoreOperator", body="{}")
    assert status == 403
    assert "BackupOperator" in body["error"]["message"]


async def test_the_operations_list_is_served_at_the_tenant_level_path() -> None:
    status, body = await call("GET", "/providers/Microsoft.DataProtection/operations", "BackupReader")
    assert status == 200
    assert body["value"] == provider_operations()
    status, _ = await call("GET", "/providers/Microsoft.DataProtection/operations", "NoSuchRole")
    assert status == 403
    status, body = await call("GET", "/providers/Microsoft.DataProtection/somethingElse", "BackupReader")
    assert (status, body["error"]["code"]) == (404, "InvalidResourceType")


def test_action_names_follow_azure_rbac() -> None:
    names = {
        (route.method, route.template): action_name(route)
        for route in build_router().routes
        if not route.extension and provider.of_this_provider(route)
    }
    assert names[("POST", instance_operations.SYNC)] == (
        "Microsoft.DataProtection/backupVaults/backupInstances/sync/action"
    )
    assert names[("GET", provider.OPERATIONS_LIST)] == "Microsoft.DataProtection/operations/read"
    assert names[("POST", provider.CHECK_NAME_AVAILABILITY)] == (
        "Microsoft.DataProtection/locations/checkNameAvailability/action"
    )
    assert names[("POST", provider.CHECK_FEATURE_SUPPORT)] == (
        "Microsoft.DataProtection/subscriptions/providers/locations/checkFeatureSupport/action"
    )
    disk_list = next(t for m, t in names if m == "GET" and "Microsoft.Compute/disks" in t)
    assert names[("GET", disk_list)] == "Microsoft.DataProtection/backupInstances/read"


def test_the_operations_list_has_every_azure_route_and_no_extension() -> None:
    listed = provider_operations()
    azure_routes = [
        route for route in build_router().routes if not route.extension and provider.of_this_provider(route)
    ]
    authorization = [route for route in build_router().routes if not provider.of_this_provider(route)]
    assert authorization
    assert all("Microsoft.Authorization/roleAssignments" in r.template for r in authorization)
    assert len(listed) == len(azure_routes)
    summaries = {OPERATIONS[(r.method, r.template)].summary for r in azure_routes}
    assert {entry["display"]["operation"] for entry in listed} == summaries
    assert all(entry["name"].startswith("Microsoft.DataProtection/") for entry in listed)
    assert not any("overview" in entry["name"].lower() for entry in listed)
