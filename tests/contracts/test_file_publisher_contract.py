"""The file publisher's contract (``FilePublisher``, the jobs export's blobs), held by the
in-memory fake and by the real adapter on Azurite with ``--oauth basic`` (which issues
user-delegation keys and checks each SAS's signature): a published file reads back byte for
byte through its URL and token, its token reads nothing else, and publishing a name again
replaces the file."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from backup.adapters.file_publisher import BlobFilePublisher
from backup.ports import FilePublisher
from localdev.azurite import STORAGE_AUDIENCE, Azurite, AzuriteEndpoints, fake_entra_token
from tests.fakes.file_publisher import FakeFilePublisher


class EntraTokens:
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(fake_entra_token(STORAGE_AUDIENCE), int(time.time()) + 3600)

    async def close(self) -> None:
        pass


@dataclass
class Files:
    publisher: FilePublisher
    read: Callable[[str, str], Awaitable[bytes | None]]
    """What a holder of a URL and a token downloads; ``None`` when storage refuses."""


@pytest.fixture(scope="module")
def oauth_azurite() -> Iterator[AzuriteEndpoints]:
    with Azurite(oauth=True) as endpoints:
        yield endpoints


@pytest.fixture
async def files(adapter: str, request: pytest.FixtureRequest) -> AsyncIterator[Files]:
    if adapter == "fake":
        fake = FakeFilePublisher()

        async def read_fake(url: str, token: str) -> bytes | None:
            return fake.read(url, token)

        yield Files(fake, read_fake)
        return
    endpoints: AzuriteEndpoints = request.getfixturevalue("oauth_azurite")
    real = BlobFilePublisher(endpoints.blob_url, EntraTokens(), ca_bundle=endpoints.ca_bundle)

    def download(url: str, token: str) -> bytes | None:
        try:
            blob = BlobClient.from_blob_url(f"{url}?{token}", connection_verify=endpoints.ca_bundle)
            return blob.download_blob().readall()
        except HttpResponseError as refused:
            if refused.status_code not in (403, 404):
                raise
            return None

    async def read_real(url: str, token: str) -> bytes | None:
        return await asyncio.to_thread(download, url, token)

    yield Files(real, read_real)
    await real.close()


async def test_a_file_reads_back_through_its_url_and_token(files: Files) -> None:
    name = f"contract/{uuid.uuid4().hex}.json"
    published = await files.publisher.publish(name, b'[{"a": 1}]', "application/json")
    assert published.url.endswith("/" + name)
    assert published.expires_at > datetime.now(UTC) + timedelta(hours=1)
    assert await files.read(published.url, published.sas_token) == b'[{"a": 1}]'


async def test_a_token_reads_its_own_file_only(files: Files) -> None:
    first = await files.publisher.publish(f"contract/{uuid.uuid4().hex}", b"first", "text/plain")
    second = await files.publisher.publish(f"contract/{uuid.uuid4().hex}", b"second", "text/plain")
    assert await files.read(second.url, first.sas_token) is None
    assert await files.read(first.url, second.sas_token) is None
    assert await files.read(second.url, second.sas_token) == b"second"


async def test_publishing_a_name_again_replaces_the_file(files: Files) -> None:
    name = f"contract/{uuid.uuid4().hex}.csv"
    await files.publisher.publish(name, b"old", "text/csv")
    again = await files.publisher.publish(name, b"new", "text/csv")
    assert await files.read(again.url, again.sas_token) == b"new"
