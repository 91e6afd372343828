"""Async Table and Queue clients for the product's own state, built lazily and shared.

Deployed, the app reaches storage with its managed identity through the identity-based
``AzureWebJobsStorage__*`` settings (service URIs + client id); offline, Azurite's
connection string. Nothing here does I/O until a client is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.queue import BinaryBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from backup.adapters.tables.keys import BUDGET_PARTITION
from backup.names import VAULTS_TABLE

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline import PipelineRequest

    from backup.config import Settings

RequestHook = Callable[["PipelineRequest[Any]"], None]


class RequestCounter:
    """Counts HTTP requests that reach storage, retries included; benchmarks read it.

    ``by_endpoint`` is keyed by ``host:port``, which tells table requests from queue requests.
    """

    def __init__(self) -> None:
        self.total = 0
        self.by_method: dict[str, int] = {}
        self.by_endpoint: dict[str, int] = {}
        self.budget_ledger = 0
        """Of those, requests to the ARM budget's ledger rows (pacing's cost, told apart)."""

    def __call__(self, request: PipelineRequest[Any]) -> None:
        self.total += 1
        method = request.http_request.method
        self.by_method[method] = self.by_method.get(method, 0) + 1
        endpoint = urlsplit(request.http_request.url).netloc
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
        body = request.http_request.body
        if BUDGET_PARTITION in request.http_request.url or (
            isinstance(body, (str, bytes)) and BUDGET_PARTITION in str(body)
        ):
            self.budget_ledger += 1  # a point request names the row in its URL, a create in its body

    def reset(self) -> None:
        self.total = 0
        self.budget_ledger = 0
        self.by_method.clear()
        self.by_endpoint.clear()


class StorageClients:
    """One process's Table and Queue clients; tables and queues are created on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        credential: AsyncTokenCredential | None = None,
        request_hook: RequestHook | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self._settings = settings
        self._credential = credential
        self._client_options: dict[str, Any] = {"raw_request_hook": request_hook} if request_hook else {}
        if ca_bundle:
            # A CA to trust besides the system's (tests: Azurite over HTTPS with a throwaway CA).
            self._client_options["connection_verify"] = ca_bundle
        self._table_service: TableServiceClient | None = None
        self._queue_service: QueueServiceClient | None = None
        self._tables: dict[str, TableClient] = {}
        self._queues: dict[str, QueueClient] = {}
        self._lock = asyncio.Lock()

    def _table_service_client(self) -> TableServiceClient:
        if self._table_service is None:
            settings = self._settings
            if settings.storage_connection_string:
                self._table_service = TableServiceClient.from_connection_string(
                    settings.storage_connection_string, **self._client_options
                )
            elif settings.table_service_uri:
                self._table_service = TableServiceClient(
                    endpoint=settings.table_service_uri, credential=self._identity(), **self._client_options
                )
            else:
                raise RuntimeError("no table storage configured: set AzureWebJobsStorage__tableServiceUri")
        return self._table_service

    def _queue_service_client(self) -> QueueServiceClient:
        if self._queue_service is None:
            settings = self._settings
            if settings.storage_connection_string:
                self._queue_service = QueueServiceClient.from_connection_string(
                    settings.storage_connection_string, **self._client_options
                )
            elif settings.queue_service_uri:
                self._queue_service = QueueServiceClient(
                    account_url=settings.queue_service_uri,
                    credential=self._identity(),
                    **self._client_options,
                )
            else:
                raise RuntimeError("no queue storage configured: set AzureWebJobsStorage__queueServiceUri")
        return self._queue_service

    def _identity(self) -> AsyncTokenCredential:
        if self._credential is None:
            from azure.identity.aio import DefaultAzureCredential

            client_id = self._settings.storage_client_id or self._settings.managed_identity_client_id
            self._credential = DefaultAzureCredential(managed_identity_client_id=client_id)
        return self._credential

    async def table(self, name: str) -> TableClient:
        if name not in self._tables:
            async with self._lock:
                if name not in self._tables:
                    service = self._table_service_client()
                    with contextlib.suppress(ResourceExistsError):
                        await service.create_table(name)
                    self._tables[name] = service.get_table_client(name)
        return self._tables[name]

    async def queue(self, name: str) -> QueueClient:
        if name not in self._queues:
            async with self._lock:
                if name not in self._queues:
                    # The Functions queue trigger expects base64 message bodies.
                    client = self._queue_service_client().get_queue_client(
                        name,
                        message_encode_policy=TextBase64EncodePolicy(),
                        message_decode_policy=BinaryBase64DecodePolicy(),
                    )
                    with contextlib.suppress(ResourceExistsError):
                        await client.create_queue()
                    self._queues[name] = client
        return self._queues[name]

    async def ping(self) -> None:
        """One small read of the vault registry: proves the account answers and the app may read it."""
        table = await self.table(VAULTS_TABLE)
        async for _ in table.list_entities(results_per_page=1, select=["PartitionKey"]):
            break

    async def close(self) -> None:
        for table in self._tables.values():
            await table.close()
        for queue in self._queues.values():
            await queue.close()
        if self._table_service is not None:
            await self._table_service.close()
        if self._queue_service is not None:
            await self._queue_service.close()
        self._tables.clear()
        self._queues.clear()
        self._table_service = self._queue_service = None
