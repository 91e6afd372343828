"""The request side of the contract: every request body the docs show is accepted by its declared
shape, and every pattern the router enforces on a path is the one the OpenAPI document publishes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from backup.api import openapi
from backup.api.router import PARAM_PATTERNS, PARAM_VALIDATORS
from backup.domain.instance import VaultRef
from backup.errors import ValidationError
from backup.shapes.backup_instance import parse_backup_instance
from backup.shapes.policy import parse_backup_policy
from backup.shapes.restore import parse_restore_request

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


@pytest.mark.parametrize(("doc", "url", "body"), REQUESTS, ids=[f"{d}:{u}" for d, u, _ in REQUESTS])
def test_every_documented_request_body_validates_against_its_shape(doc: str, url: str, body: Any) -> None:
    if "/backupPolicies/" in url:
        parse_backup_policy(body["properties"])
    elif re.search(r"/backupInstances/[^/]+$", url):
        parse_backup_instance(body["properties"], VAULT)
    elif url.endswith("/restore"):
        parse_restore_request(body)
    elif url.endswith("/validateRestore"):
        parse_restore_request(body["restoreRequestObject"])
    else:
        pytest.skip(f"{url} has no declared shape yet (vault and on-demand backup bodies)")


def test_every_router_pattern_is_the_published_one() -> None:
    document = openapi.build_document()
    published = {
        name: parameter["schema"].get("pattern")
        for name, parameter in document["components"]["parameters"].items()
        if parameter["in"] == "path"
    }
    assert published == PARAM_PATTERNS
    assert set(PARAM_PATTERNS) == set(PARAM_VALIDATORS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vaultName", "-starts-with-a-dash"),
        ("vaultName", "v" * 151),
        ("resourceGroupName", "ends-with-a-dot."),
        ("backupPolicyName", "p\u00e9"),
        ("subscriptionId", "not-a-guid"),
    ],
)
def test_what_the_published_pattern_refuses_the_router_refuses(name: str, value: str) -> None:
    assert not re.search(PARAM_PATTERNS[name], value)
    with pytest.raises(ValidationError):
        PARAM_VALIDATORS[name](value)
