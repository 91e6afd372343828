"""exportBackupJobs for real: the jobs written to a blob of Azurite (``--oauth basic``, so the app's
identity can ask for a user-delegation key), read back through the SAS the operation result
gives, driven by the official SDK through the local Functions host. Azurite checks the SAS's
signature against the delegation key it issued: a tampered SAS, or the SAS used on another
blob, is refused."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from backup.adapters.file_publisher import EXPORTS_CONTAINER, BlobFilePublisher
from backup.bootstrap import Runtime, use_runtime
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.azurite import STORAGE_AUDIENCE, Azurite, AzuriteEndpoints, fake_entra_token
from localdev.functions_host import FunctionsHost
from tests.hosting import project_host
from tests.integration.api.conftest import SUB, T0, Api, vault_path
from tests.integration.api.test_jobs_points_operations import seed_backups
from tests.integration.api.test_through_host_and_sdk import sdk

pytestmark = pytest.mark.integration


class EntraTokens:
    """An async token credential standing in for the app's managed identity (Entra-shaped JWTs)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(fake_entra_token(STORAGE_AUDIENCE), int(time.time()) + 3600)

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def blob_azurite() -> Iterator[AzuriteEndpoints]:
    with Azurite(oauth=True) as endpoints:
        yield endpoints


def download(endpoints: AzuriteEndpoints, url: str, sas: str) -> bytes:
    """What a caller holding only the URL and the SAS gets (no credential of its own)."""
    client = BlobClient.from_blob_url(f"{url}?{sas}", connection_verify=endpoints.ca_bundle)
    return client.download_blob().readall()


async def test_a_published_file_reads_through_its_user_delegation_sas_only(
    blob_azurite: AzuriteEndpoints,
) -> None:
    publisher = BlobFilePublisher(blob_azurite.blob_url, EntraTokens(), ca_bundle=blob_azurite.ca_bundle)
    try:
        first = await publisher.publish("a/first.json", b"[1]", "application/json")
        second = await publisher.publish("a/second.json", b"[2]", "application/json")
    finally:
        await publisher.close()
    assert first.url == f"{blob_azurite.blob_url}/{EXPORTS_CONTAINER}/a/first.json"
    query = parse_qs(first.sas_token)
    assert query["sp"] == ["r"]  # read only
    assert query["spr"] == ["https"]
    assert {"skoid", "sktid", "skt", "ske"} <= set(query)  # signed by a delegation key, not the account key
    assert await asyncio.to_thread(download, blob_azurite, first.url, first.sas_token) == b"[1]"
    assert await asyncio.to_thread(download, blob_azurite, second.url, second.sas_token) == b"[2]"
    with pytest.raises(HttpResponseError) as elsewhere:
        await asyncio.to_thread(download, blob_azurite, second.url, first.sas_token)
    assert elsewhere.value.status_code == 403
    tampered = first.sas_token.replace("sp=r", "sp=rw")
    with pytest.raises(HttpResponseError) as forged:
        await asyncio.to_thread(download, blob_azurite, first.url, tampered)
    assert forged.value.status_code == 403


@pytest.fixture
async def exporting_host(
    azurite: AzuriteEndpoints, blob_azurite: AzuriteEndpoints
) -> AsyncIterator[tuple[FunctionsHost, Api]]:
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=azurite.connection_string),
        clock=ManualClock(T0),
        auth_enabled=False,
        retry_after_seconds=0,
        page_size=3,
    ).replacing(
        files=BlobFilePublisher(blob_azurite.blob_url, EntraTokens(), ca_bundle=blob_azurite.ca_bundle)
    )
    use_runtime(runtime)
    try:
        async with project_host(azurite.connection_string) as host:
            yield host, Api(runtime)
    finally:
        use_runtime(None)
        await runtime.close()


async def test_the_sdk_exports_the_vaults_jobs_and_reads_them_through_the_sas(
    exporting_host: tuple[FunctionsHost, Api], blob_azurite: AzuriteEndpoints
) -> None:
    host, api = exporting_host
    vault = VaultRef(SUB, "rg-export-" + uuid.uuid4().hex[:6], "vault-export")
    seeded = await seed_backups(api, vault, 4)  # 4 backups: more jobs than one page (3)

    def scenario() -> None:
        client = sdk(host)
        locations: list[str] = []

        def initial_location(response: Any) -> None:
            location = response.http_response.headers.get("Location")
            if location and not locations:
                locations.append(location)

        assert (
            client.export_jobs.begin_trigger(
                vault.resource_group, vault.name, raw_response_hook=initial_location
            ).result()
            is None
        )
        [location] = locations
        path = urlsplit(location).path
        assert path.lower().startswith(f"/api{vault_path(vault)}/backupJobs/operations/".lower())
        operation_id = path.rsplit("/", 1)[1]
        result = client.export_jobs_operation_result.get(vault.resource_group, vault.name, operation_id)
        assert result is not None
        assert result.blob_url is not None
        assert result.blob_sas_key is not None
        assert result.excel_file_blob_url is not None
        assert result.excel_file_blob_sas_key is not None
        assert result.excel_file_blob_url.endswith("_ExcelFile.csv")
        sheet = download(blob_azurite, result.excel_file_blob_url, result.excel_file_blob_sas_key)
        assert sheet.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(sheet.decode("utf-8-sig"))))
        assert rows[0][:3] == ["Job id", "Operation", "Status"]
        assert sorted(row[0] for row in rows[1:]) == sorted(job.id for _, job in seeded)
        exported = json.loads(download(blob_azurite, result.blob_url, result.blob_sas_key))
        listed = [job.as_dict() for job in client.jobs.list(vault.resource_group, vault.name)]
        assert [job["name"] for job in exported] == [job["name"] for job in listed]
        assert sorted(job["name"] for job in exported) == sorted(job.id for _, job in seeded)
        assert exported[0]["properties"]["operation"] == listed[0]["properties"]["operation"]

        with pytest.raises(HttpResponseError) as unknown:
            client.export_jobs_operation_result.get(vault.resource_group, "other-vault", operation_id)
        assert unknown.value.status_code == 404

    await asyncio.to_thread(scenario)


async def test_without_an_identity_for_blob_storage_the_export_is_refused(api: Api) -> None:
    vault = VaultRef(SUB, "rg-" + uuid.uuid4().hex[:8], "vault-no-export")
    await seed_backups(api, vault, 1)
    answer = await api.call("POST", vault_path(vault) + "/exportBackupJobs")
    assert answer.status == 409
    assert answer.code == "UserErrorJobsExportNeedsIdentityStorage"
    missing = await api.call(
        "POST", vault_path(VaultRef(SUB, vault.resource_group, "absent")) + "/exportBackupJobs"
    )
    assert missing.status == 404
