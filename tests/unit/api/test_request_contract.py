"""The request side of the contract: every request body the docs show and every example the OpenAPI
document publishes is accepted by its declared shape (and the README sends the published examples),
and every pattern the router enforces on a path is the one the document publishes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30WriteValidator

from backup.api import openapi
from backup.api.examples import REQUEST_EXAMPLES
from backup.api.router import PARAM_PATTERNS, PARAM_VALIDATORS
from backup.domain.instance import VaultRef
from backup.domain.vault_limits import VaultLimits
from backup.errors import ValidationError
from backup.shapes.arm import ResourceGuardOperationRequest
from backup.shapes.backup_instance import parse_backup_instance
from backup.shapes.common import decode, member_object
from backup.shapes.instance_operations import parse_find_restorable_time_ranges, parse_sync_request
from backup.shapes.on_demand import parse_trigger_backup_request
from backup.shapes.policy import parse_backup_policy
from backup.shapes.provider import parse_check_name_availability, parse_feature_validation
from backup.shapes.resource_guard import (
    parse_approval,
    parse_guard_patch,
    parse_guard_proxy,
    parse_resource_guard,
    parse_unlock_delete,
)
from backup.shapes.restore import parse_restore_request, parse_validate_restore_request
from backup.shapes.role_assignment import parse_role_assignment_request
from backup.shapes.vault import check_vault_patch, parse_vault

REPO_ROOT = Path(__file__).parents[3]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("**/*.md"))]
SUB = "00000000-0000-0000-0000-0000000000aa"
VAULT = VaultRef(SUB, "rg-backup", "demo-vault")
DISKS = f"/subscriptions/{SUB}/resourceGroups/rg-prod-vms/providers/Microsoft.Compute/disks"
# What the walkthrough's shell variables stand for, so its bodies become plain JSON.
SHELL_VALUES = {
    "$SUB": SUB,
    "$RP": "0123456789abcdef0123456789abcdef",
    "$disk": "vm-web-01-data",
    "$DISKS/$disk": f"{DISKS}/vm-web-01-data",
    "${VAULT#$API}": VAULT.id,
    "$SNAPSHOTS": f"/subscriptions/{SUB}/resourceGroups/rg-backup-snapshots-eastus",
}
# A curl -d '...' or post_job "URL" '...' body, with the URL it goes to.
_REQUEST = re.compile(
    r"""(?:-X (?:PUT|POST) |post_job )"(?P<url>[^"]+)"(?: -H '[^']*')?(?: -d)?\s*(?:\\\n\s*)?"""
    r"""'(?P<body>\{.*?\})'(?=\s|\)|$)""",
    re.S,
)
_SPLICE = re.compile(r"'(\$[^']*)'")


def documented_requests() -> list[tuple[str, str, Any]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _REQUEST.finditer(text):
            body = _SPLICE.sub(lambda splice: SHELL_VALUES[splice[1]], match["body"])
            found.append((path.name, match["url"].split("?")[0], json.loads(body)))
    return found


REQUESTS = documented_requests()


def test_the_walkthrough_requests_are_found() -> None:
    urls = [url for _, url, _ in REQUESTS]
    assert any(url.endswith("/backupPolicies/every-4h") for url in urls)
    assert any(url.endswith("/backupInstances/$disk") for url in urls)
    assert any(url.endswith("/restore") for url in urls)
    assert any(url.endswith("/backup") for url in urls)
    assert "$VAULT" in urls


# The request body schema each operation publishes, with the shape's own parser.
PARSERS: dict[str, Callable[[Any], object]] = {
    "BackupVaultResource": parse_vault,
    "PatchResourceRequestInput": check_vault_patch,
    "BaseBackupPolicyResource": lambda body: parse_backup_policy(member_object(body, "properties")),
    "BackupInstanceResource": lambda body: parse_backup_instance(member_object(body, "properties"), VAULT),
    "ValidateForBackupRequest": lambda body: parse_backup_instance(
        member_object(body, "backupInstance"), VAULT, path="backupInstance"
    ),
    "ResourceGuardOperationRequest": lambda body: decode(body, ResourceGuardOperationRequest),
    "TriggerBackupRequest": parse_trigger_backup_request,
    "AzureBackupRecoveryPointBasedRestoreRequest": parse_restore_request,
    "ValidateRestoreRequestObject": parse_validate_restore_request,
    "SyncBackupInstanceRequest": parse_sync_request,
    "ValidateForModifyBackupRequest": lambda body: parse_backup_instance(
        member_object(body, "backupInstance"), VAULT, path="backupInstance"
    ),
    "AzureBackupFindRestorableTimeRangesRequest": parse_find_restorable_time_ranges,
    "CheckNameAvailabilityRequest": parse_check_name_availability,
    "FeatureValidationRequest": parse_feature_validation,
    "ResourceGuardResource": parse_resource_guard,
    "ResourceGuardProxyBaseResource": parse_guard_proxy,
    "UnlockDeleteRequest": parse_unlock_delete,
    "PatchResourceGuardInput": parse_guard_patch,
    "GuardApprovalRequest": parse_approval,
    "RoleAssignmentCreateParameters": parse_role_assignment_request,
    "VaultScopeLimits": VaultLimits.parse,
}


def body_schema_of(url: str) -> str:
    """The request body schema of a documented call, from its URL."""
    if "/backupPolicies/" in url:
        return "BaseBackupPolicyResource"
    if re.search(r"/backupInstances/[^/]+$", url):
        return "BackupInstanceResource"
    if url.endswith("/restore"):
        return "AzureBackupRecoveryPointBasedRestoreRequest"
    if url.endswith("/validateRestore"):
        return "ValidateRestoreRequestObject"
    if url.endswith("/backup"):
        return "TriggerBackupRequest"
    if re.search(r"/backupVaults/[^/]+$", url) or url == "$VAULT":
        return "BackupVaultResource"
    pytest.fail(f"{url} is a request body with no shape to check it against")


@pytest.mark.parametrize(("doc", "url", "body"), REQUESTS, ids=[f"{d}:{u}" for d, u, _ in REQUESTS])
def test_every_documented_request_body_validates_against_its_shape(doc: str, url: str, body: Any) -> None:
    PARSERS[body_schema_of(url)](body)


@pytest.mark.parametrize(("doc", "url", "body"), REQUESTS, ids=[f"{d}:{u}" for d, u, _ in REQUESTS])
def test_the_readme_sends_the_published_examples(doc: str, url: str, body: Any) -> None:
    if doc == "README.md":
        assert body == REQUEST_EXAMPLES[body_schema_of(url)][1]


def published_examples() -> list[tuple[str, str, Any]]:
    document = openapi.build_document()
    found = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            content = operation["requestBody"]["content"]["application/json"]
            schema = content["schema"]["$ref"].rsplit("/", 1)[1]
            assert content["examples"], f"{method.upper()} {template} publishes no example"
            for example in content["examples"].values():
                found.append((f"{method.upper()} {template}", schema, example["value"]))
    return found


EXAMPLES = published_examples()


def test_every_request_body_has_an_example() -> None:
    assert {schema for _, schema, _ in EXAMPLES} == set(PARSERS)


@pytest.mark.parametrize(("operation", "schema", "example"), EXAMPLES, ids=[o for o, _, _ in EXAMPLES])
def test_every_published_example_validates_against_its_shape_and_its_schema(
    operation: str, schema: str, example: Any
) -> None:
    PARSERS[schema](example)
    document = openapi.build_document()
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    errors = [error.message for error in OAS30WriteValidator(root).iter_errors(example)]
    assert errors == [], operation


def test_every_router_pattern_is_the_published_one() -> None:
    document = openapi.build_document()
    published = {
        name: parameter["schema"].get("pattern")
        for name, parameter in document["components"]["parameters"].items()
        if parameter["in"] == "path"
    }
    assert published == PARAM_PATTERNS
    assert set(PARAM_PATTERNS) == set(PARAM_VALIDATORS)


# Values each path parameter's validator is asked about: the published pattern must agree
# with the validator on every one (accept what it accepts, refuse what it refuses).
SAMPLES = {
    "subscriptionId": [
        "00000000-0000-4000-8000-000000000001",
        "ABCDEF01-0000-4000-8000-00000000000A",
        "not-a-guid",
        "00000000-0000-4000-8000-00000000001",
        "",
    ],
    "resourceGroupName": ["rg", "rg-a_b(c).d", "ends-with-a-dot.", "r" * 90, "r" * 91, "sp ace", ""],
    "vaultName": ["v", "vault-1.a_b", "-starts-with-a-dash", "v" * 150, "v" * 151, "p\u00e9", "a/b", ""],
    "backupPolicyName": ["Every-4h", "p\u00e9", ".dot", "p" * 151],
    "backupInstanceName": ["disk-a-instance", "a b", "_underscore", "i" * 150],
    "jobId": ["0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e", "0F1E2D3C-4B5A-4968-8778-695A4B3C2D1E", "nope"],
    "recoveryPointId": ["0" * 32, "ABCDEF" + "0" * 26, "0" * 31, "g" * 32],
    "location": ["eastus", "East US", "west-europe2", " eastus", "e" * 64, "e" * 65],
    "operationId": ["abc_DEF-123", "a" * 600, "a" * 601, "a.b", ""],
    "roleAssignmentName": [
        "3f2b8c1e-5a6d-4e7f-8091-a2b3c4d5e6f7",
        "3F2B8C1E-5A6D-4E7F-8091-A2B3C4D5E6F7",
        "x",
    ],
    "diskName": ["disk-a", "Disk_1.data_", "ends-with-a-dot.", "d" * 80, "d" * 81, "-dash", "a b", ""],
    "resourceGuardsName": ["guard-1", "g.a_b", "-dash", "g" * 150, "g" * 151, "a/b", ""],
    "resourceGuardProxyName": ["DppResourceGuardProxy", "p" * 151, "a b"],
}


def _accepts(validator: Any, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(PARAM_PATTERNS))
def test_the_published_pattern_and_the_router_agree_on_every_sample(name: str) -> None:
    samples = SAMPLES[name]
    verdicts = {
        value: (bool(re.search(PARAM_PATTERNS[name], value)), _accepts(PARAM_VALIDATORS[name], value))
        for value in samples
    }
    assert {value: published for value, (published, _) in verdicts.items()} == {
        value: router for value, (_, router) in verdicts.items()
    }
    assert any(router for _, router in verdicts.values()), "no sample the router accepts"
    assert not all(router for _, router in verdicts.values()), "no sample the router refuses"
