"""What the operations beside the resources answer to Microsoft's own REST examples, beyond their
shape (``test_rest_examples.py`` checks every example's shape): a free name, the feature list,
the provider's own read operation, a sync that succeeds, the restorable range of a recovery point,
and the jobs export, which needs a storage account that signs user-delegation SAS (an Azurite with
Entra sign-in here; the shared stack uses a connection string, so only this test covers it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from backup.adapters.file_publisher import BlobFilePublisher
from backup.domain.instance import VaultRef
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from tests.integration.api.conftest import SUB, Answer, Api, vault_path
from tests.integration.api.example_shapes import load_example, shape_mismatches
from tests.integration.api.test_instances import Env, instance_body, instance_env, make_vault, record_point
from tests.integration.api.test_job_export import EntraTokens, blob_azurite

pytestmark = pytest.mark.integration
__all__ = ["blob_azurite"]  # the fixture, imported for pytest


def example(name: str) -> dict[str, Any]:
    return load_example(name)


def answered(example_document: Mapping[str, Any], status: int, answer: Answer) -> None:
    """Our answer has the example's status, headers, and every property of its body with the
    same JSON type and Azure's enum values (the comparator the contract test uses)."""
    assert answer.status == status, answer.body
    expected = example_document["responses"][str(status)]
    if "body" in expected:
        assert shape_mismatches(expected["body"], answer.body) == []
    for header in expected.get("headers", {}):
        assert header.lower() in {name.lower() for name in answer.headers}, f"no {header} header"


@pytest.fixture
async def env(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Env]:
    async with instance_env(azurite, compute_emulator) as prepared:
        yield prepared


async def test_provider_examples(env: Env) -> None:
    api = env.api
    names = example("VaultCRUD/CheckBackupVaultsNameAvailability.json")
    group = "rg-" + uuid.uuid4().hex[:8]
    answer = await api.call(
        "POST",
        f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.DataProtection/locations/"
        f"{names['parameters']['location']}/checkNameAvailability",
        names["parameters"]["parameters"],
    )
    answered(names, 200, answer)
    assert answer.body["nameAvailable"] is True

    features = example("CheckfeatureSupport.json")
    answer = await api.call(
        "POST",
        f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/locations/"
        f"{features['parameters']['location']}/checkFeatureSupport",
        features["parameters"]["parameters"],
    )
    answered(features, 200, answer)
    assert answer.body["objectType"] == "FeatureValidationResponse"
    assert answer.body["featureType"] == "DataSourceType"

    operations = example("Operations/List.json")
    answer = await api.call("GET", "/providers/Microsoft.DataProtection/operations")
    answered(operations, 200, answer)
    assert {item["origin"] for item in answer.body["value"]} == {"user"}
    published = {item["name"] for item in operations["responses"]["200"]["body"]["value"]}
    # The operations both serve go by Azure's names (getBackupStatus is one this API lacks).
    assert published - {item["name"] for item in answer.body["value"]} == {
        "Microsoft.DataProtection/locations/getBackupStatus/action"
    }


async def test_backup_instance_examples(env: Env) -> None:
    api = env.api
    vault = fresh_vault()
    await make_vault(env, vault)
    instance = "bi-" + uuid.uuid4().hex[:6]
    assert (
        await api.call("PUT", f"{vault_path(vault)}/backupInstances/{instance}", instance_body(env, vault))
    ).status == 201

    sync = example("BackupInstanceOperations/SyncBackupInstance.json")
    answer = await api.call(
        "POST", f"{vault_path(vault)}/backupInstances/{instance}/sync", sync["parameters"]["parameters"]
    )
    answered(sync, 202, answer)
    status = await api.call("GET", urlsplit(answer.headers["Azure-AsyncOperation"]).path.removeprefix("/api"))
    assert status.body["status"] == "Succeeded"

    ranges = example("BackupInstanceOperations/FindRestorableTimeRanges.json")
    # One recovery point inside the example's window, so the answer has a range to compare.
    taken = datetime(2021, 2, 23, 18, 33, 51, tzinfo=UTC)
    await record_point(env, vault, instance, taken, taken, "example")
    answer = await api.call(
        "POST",
        f"{vault_path(vault)}/backupInstances/{instance}/findRestorableTimeRanges",
        ranges["parameters"]["parameters"],
    )
    answered(ranges, 200, answer)
    assert answer.body["type"] == ranges["responses"]["200"]["body"]["type"]
    assert answer.body["id"] == instance
    properties = answer.body["properties"]
    assert properties["objectType"] == "AzureBackupFindRestorableTimeRangesResponse"
    assert properties["restorableTimeRanges"] == [
        {
            "startTime": "2021-02-23T18:33:51Z",
            "endTime": "2021-02-23T18:33:51Z",
            "objectType": "RestorableTimeRange",
        }
    ]


async def test_export_examples(env: Env, blob_azurite: AzuriteEndpoints) -> None:
    runtime = env.api.runtime.replacing(
        files=BlobFilePublisher(blob_azurite.blob_url, EntraTokens(), ca_bundle=blob_azurite.ca_bundle)
    )
    api = Api(runtime)
    try:
        vault = fresh_vault()
        await make_vault(env, vault)
        trigger = example("JobCRUD/TriggerExportJobs.json")
        answer = await api.call("POST", f"{vault_path(vault)}/exportBackupJobs")
        answered(trigger, 202, answer)
        location = urlsplit(answer.headers["Location"]).path.removeprefix("/api")
        assert location.lower().startswith(f"{vault_path(vault)}/backupJobs/operations/".lower())

        result = example("JobCRUD/GetExportJobsOperationResult.json")
        answered(result, 200, await api.call("GET", location))
    finally:
        exports = runtime.__dict__.get("exports")
        if exports is not None:
            await exports.close()


def fresh_vault() -> VaultRef:
    return VaultRef(SUB, "rg-ex-" + uuid.uuid4().hex[:6], "vault-examples")
