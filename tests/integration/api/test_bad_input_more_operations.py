"""Bad input to the operations beside the resources (checkNameAvailability, checkFeatureSupport,
sync, validateForModifyBackup, findRestorableTimeRanges, the jobs export), through the router
against Azurite: each answers a 4xx with an ARM error body naming the problem, and every stored
row stays exactly as it was (the corpus of ``test_bad_input_corpus.py``, for these calls)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backup.domain.instance import VaultRef
from tests.integration.api.conftest import SUB, Api, vault_path
from tests.integration.api.test_bad_input_corpus import (
    DISK,
    Case,
    everything_stored,
    instance,
    prepared,
)

pytestmark = pytest.mark.integration
__all__ = ["prepared"]  # the fixture, imported for pytest

PROVIDER = f"/subscriptions/{SUB}/providers/Microsoft.DataProtection"
NAME_CHECK = (
    f"/subscriptions/{SUB}/resourceGroups/rg-corpus/providers/Microsoft.DataProtection/locations/westus"
)
FEATURES = f"{PROVIDER}/locations/westus/checkFeatureSupport"
OPERATION_ID = "c3VifHJnfHZhdWx0fDAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"
"""Well formed, but names no operation of the test's vault."""


def properties(vault: VaultRef, **changes: Any) -> dict[str, Any]:
    """The corpus's valid instance properties, with ``changes`` (``a__b`` is ``a.b``) applied."""
    body: dict[str, Any] = instance(vault)["properties"]
    changed = copy.deepcopy(body)
    for dotted, value in changes.items():
        node = changed
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return changed


def cases(vault: VaultRef) -> list[Case]:
    names = NAME_CHECK + "/checkNameAvailability"
    sync = "/backupInstances/bi-a/sync"
    modify = "/backupInstances/bi-a/validateForModifyBackup"
    ranges = "/backupInstances/bi-a/findRestorableTimeRanges"
    return [
        Case("names-not-json", "POST", names, raw=b"{name"),
        Case("names-array", "POST", names, body=[]),
        Case(
            "names-no-name",
            "POST",
            names,
            body={"type": "Microsoft.DataProtection/BackupVaults"},
            code="MissingProperty",
            target="name",
        ),
        Case("names-name-number", "POST", names, body={"name": 5}, target="name"),
        Case(
            "names-foreign-type",
            "POST",
            names,
            body={"name": "v", "type": "Microsoft.Storage/storageAccounts"},
            target="type",
        ),
        Case(
            "features-no-object-type",
            "POST",
            FEATURES,
            body={"featureType": "DataSourceType"},
            code="MissingProperty",
            target="objectType",
        ),
        Case(
            "features-wrong-object-type",
            "POST",
            FEATURES,
            body={"objectType": "Bogus"},
            code="UnsupportedObjectType",
            target="objectType",
        ),
        Case(
            "features-unknown-feature-type",
            "POST",
            FEATURES,
            body={"objectType": "FeatureValidationRequest", "featureType": "Everything"},
            code="InvalidPropertyValue",
            target="featureType",
        ),
        Case(
            "features-name-number",
            "POST",
            FEATURES,
            body={"objectType": "FeatureValidationRequest", "featureName": 7},
            target="featureName",
        ),
        Case(
            "sync-unknown-type",
            "POST",
            sync,
            body={"syncType": "Sometimes"},
            code="InvalidPropertyValue",
            target="syncType",
        ),
        Case("sync-type-number", "POST", sync, body={"syncType": 1}, target="syncType"),
        Case("sync-array", "POST", sync, body=["Default"]),
        Case(
            "sync-no-instance",
            "POST",
            "/backupInstances/bi-none/sync",
            body={"syncType": "Default"},
            status=404,
            code="ResourceNotFound",
        ),
        Case(
            "modify-no-instance-body",
            "POST",
            modify,
            body={},
            code="MissingProperty",
            target="backupInstance",
        ),
        Case(
            "modify-other-disk",
            "POST",
            modify,
            body={
                "backupInstance": properties(
                    vault, dataSourceInfo__resourceID=DISK.replace("disk-a", "disk-b")
                )
            },
            code="UserErrorDatasourceChangeNotAllowed",
            target="properties.dataSourceInfo.resourceID",
        ),
        Case(
            "modify-other-policy",
            "POST",
            modify,
            body={
                "backupInstance": properties(vault, policyInfo__policyId=f"{vault.id}/backupPolicies/none")
            },
            code="UserErrorPolicyNotFound",
        ),
        Case(
            "modify-no-such-instance",
            "POST",
            "/backupInstances/bi-none/validateForModifyBackup",
            body={"backupInstance": properties(vault)},
            status=404,
            code="ResourceNotFound",
        ),
        Case(
            "ranges-no-store", "POST", ranges, body={}, code="MissingProperty", target="sourceDataStoreType"
        ),
        Case(
            "ranges-vault-store",
            "POST",
            ranges,
            body={"sourceDataStoreType": "VaultStore"},
            code="UserErrorInvalidSourceDataStore",
            target="sourceDataStoreType",
        ),
        Case(
            "ranges-unknown-store",
            "POST",
            ranges,
            body={"sourceDataStoreType": "Attic"},
            code="InvalidPropertyValue",
            target="sourceDataStoreType",
        ),
        Case(
            "ranges-bad-time",
            "POST",
            ranges,
            body={"sourceDataStoreType": "OperationalStore", "startTime": "yesterday"},
            code="InvalidPropertyValue",
            target="startTime",
        ),
        Case(
            "ranges-time-without-offset",
            "POST",
            ranges,
            body={"sourceDataStoreType": "OperationalStore", "endTime": "2026-11-26T00:00:00"},
            code="InvalidPropertyValue",
            target="endTime",
        ),
        Case(
            "ranges-end-before-start",
            "POST",
            ranges,
            body={
                "sourceDataStoreType": "OperationalStore",
                "startTime": "2026-11-26T00:00:00Z",
                "endTime": "2026-11-25T00:00:00Z",
            },
            code="InvalidPropertyValue",
            target="endTime",
        ),
        Case(
            "export-without-identity-storage",
            "POST",
            "/exportBackupJobs",
            status=409,
            code="UserErrorJobsExportNeedsIdentityStorage",
        ),
        Case(
            "export-result-unknown",
            "GET",
            f"/backupJobs/operations/{OPERATION_ID}",
            status=404,
            code="OperationNotFound",
            target="operationId",
        ),
        Case(
            "export-result-not-an-id",
            "GET",
            "/backupJobs/operations/not-ours",
            status=404,
            code="OperationNotFound",
            target="operationId",
        ),
        Case(
            "operations-no-api-version",
            "GET",
            "/providers/Microsoft.DataProtection/operations",
            query="api-version=",
            code="MissingApiVersionParameter",
        ),
    ]


_CASES = cases(VaultRef(SUB, "rg-corpus", "vault-corpus"))


@pytest.mark.parametrize("index", range(len(_CASES)), ids=[case.name for case in _CASES])
async def test_bad_input_is_refused_with_an_arm_error_and_changes_nothing(
    prepared: Api, vault: VaultRef, index: int
) -> None:
    api = prepared
    case = cases(vault)[index]
    absolute = case.path.startswith(("/subscriptions/", "/providers/"))
    path = case.path if absolute else vault_path(vault) + case.path
    before = await everything_stored(api)
    answer = await api.call(
        case.method,
        path,
        case.body,
        raw=case.raw,
        query=case.query,
        api_version=None if case.query else "2026-06-01",
    )
    assert 400 <= answer.status < 500, (case.name, answer.status, answer.body)
    assert (answer.status, answer.code) == (case.status, case.code), (case.name, answer.body)
    error = answer.body["error"]
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    if case.target is not None:
        assert error.get("target") == case.target, (case.name, error)
    assert await everything_stored(api) == before
