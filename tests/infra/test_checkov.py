"""checkov over infra/: no failed check, no parse error, no skip without a reason, and as many
passed checks as the storage account and function app are known to produce."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.infra._tools import CHECKOV_VERSION, INFRA_DIR

pytestmark = pytest.mark.infra

# Passed checks per resource observed with checkov 3.3.30 (2026-11) on this template; a drop
# means a resource stopped being recognised (a parse or conversion regression) or lost a setting.
# Role assignments, identities, queues, tables, alerts and Log Analytics produce no checkov checks
# in this version, so the role assignments are covered by tests/infra/test_roles.py instead.
MIN_PASSED = {
    "Microsoft.Storage/storageAccounts.storage": 5,  # CKV_AZURE_3, 36, 43, 44, 206
    "Microsoft.Storage/storageAccounts/blobServices/containers.deploymentContainer": 1,  # CKV_AZURE_34
    "Microsoft.Web/sites.functionApp": 14,  # HTTPS only, TLS 1.2, FTPS off, HTTP/2, identity, CORS, ...
    "Microsoft.Web/sites/config.auth": 2,  # CKV_AZURE_56 (auth platform), CKV_AZURE_70 (HTTPS)
    # The private-networking module (core/network/network.bicep), checked as a file of its own.
    "Microsoft.Network/virtualNetworks.vnet": 2,  # CKV_AZURE_182, 183
    "Microsoft.Network/networkSecurityGroups.appNsg": 3,  # CKV_AZURE_9, 10, 160
    "Microsoft.Network/networkSecurityGroups.endpointNsg": 3,
}
MIN_RESOURCES = 64  # what checkov 3.3.30 counts in infra/ today (modules included)

SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(CKV2?_[A-Z]+_\d+):(\S.*)")


def test_checkov_is_the_pinned_version(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["checkov_version"] == CHECKOV_VERSION


def test_checkov_parses_every_file(checkov_report: dict[str, Any]) -> None:
    # checkov exits 0 when a file does not parse: the summary is the only trace of it.
    assert checkov_report["summary"]["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")


def test_no_check_crashes(checkov_report: dict[str, Any]) -> None:
    # A check that raises is logged and dropped, which would pass silently.
    assert "Failed to run check" not in checkov_report["stderr"], checkov_report["stderr"][-3000:]


def test_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']} {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_every_skip_is_an_inline_comment_with_a_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"].get("skipped_checks", [])
    comments: dict[str, set[str]] = {}
    for path in INFRA_DIR.rglob("*.bicep"):
        for check_id, reason in SKIP_COMMENT.findall(path.read_text()):
            assert len(reason.strip()) >= 20, f"{path}: skip of {check_id} needs a real reason"
            comments.setdefault(path.relative_to(INFRA_DIR).as_posix(), set()).add(check_id)
    for check in skipped:
        relative = check["file_path"].lstrip("/")
        assert check["check_id"] in comments.get(relative, set()), (
            f"{check['check_id']} on {check['resource']} is skipped without an inline comment in {relative}"
        )


def test_enough_checks_passed(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    passed = Counter(c["resource"] for c in checkov_report["results"]["passed_checks"])
    short = {r: (passed[r], n) for r, n in MIN_PASSED.items() if passed[r] < n}
    assert not short, f"passed checks below the observed minimum (got, want): {short}"
    assert summary["passed"] >= sum(MIN_PASSED.values())
    assert summary["resource_count"] >= MIN_RESOURCES
