"""Files for callers to download (the jobs export), in a blob container of the app's storage.

Each file is one blob under :data:`EXPORTS_CONTAINER`, readable through a user-delegation SAS:
the app's identity asks Blob storage for a delegation key (its ``Storage Blob Data Owner`` role
on the account allows it) and signs a read-only, HTTPS-only SAS for that blob alone, valid for
:data:`SAS_LIFETIME`. No account key is read or used: a storage account whose keys are disabled
serves the same, and revoking the identity's role revokes every SAS it signed.

SAS and key times are the storage service's own clock (real time), not the product's injected
clock, which a demo runs faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobSasPermissions, ContentSettings, generate_blob_sas
from azure.storage.blob.aio import BlobServiceClient

from backup.errors import TransientError
from backup.ports import PublishedFile

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

EXPORTS_CONTAINER = "job-exports"
SAS_LIFETIME = timedelta(hours=24)
_CLOCK_SKEW = timedelta(minutes=5)
"""A SAS starts this much before now, so a storage clock slightly behind ours accepts it."""


class BlobFilePublisher:
    def __init__(
        self, account_url: str, credential: AsyncTokenCredential, *, ca_bundle: str | None = None
    ) -> None:
        options: dict[str, Any] = {"connection_verify": ca_bundle} if ca_bundle else {}
        self._service = BlobServiceClient(account_url, credential=credential, **options)
        self._container_ready = False
        self._lock = asyncio.Lock()

    async def publish(self, name: str, content: bytes, content_type: str) -> PublishedFile:
        try:
            container = self._service.get_container_client(EXPORTS_CONTAINER)
            await self._ensure_container()
            blob = container.get_blob_client(name)
            await blob.upload_blob(
                content, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
            now = datetime.now(UTC)
            starts, expires = now - _CLOCK_SKEW, now + SAS_LIFETIME
            key = await self._service.get_user_delegation_key(starts, expires)
        except AzureError as error:
            raise TransientError(
                f"The export could not be written to the app's storage ({type(error).__name__}); try again."
            ) from error
        account = self._service.account_name
        if account is None:
            raise TransientError("The app's blob endpoint names no storage account.")
        token = generate_blob_sas(
            account,
            EXPORTS_CONTAINER,
            name,
            user_delegation_key=key,
            permission=BlobSasPermissions(read=True),
            start=starts,
            expiry=expires,
            protocol="https",
        )
        return PublishedFile(url=blob.url, sas_token=token, expires_at=expires)

    async def _ensure_container(self) -> None:
        if self._container_ready:
            return
        async with self._lock:
            if not self._container_ready:
                with contextlib.suppress(ResourceExistsError):
                    await self._service.create_container(EXPORTS_CONTAINER)
                self._container_ready = True

    async def close(self) -> None:
        await self._service.close()
