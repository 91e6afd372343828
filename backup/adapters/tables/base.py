"""The table plumbing every store shares: transactions, queries, point reads, lost races.

A write that lost a race raises :class:`ConcurrencyError` (412: the row changed since it was
read, or is gone) or :class:`ConflictError` (409: the row already exists) and changes nothing;
an overloaded or unreachable service raises :class:`TransientError`, so callers retry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from backup.adapters.storage import StorageClients
from backup.adapters.tables import keys
from backup.adapters.tables.codecs import Entity
from backup.domain.instance import VaultRef
from backup.errors import ConcurrencyError, ConflictError, TransientError
from backup.names import VAULT_DATA_TABLE, VAULTS_TABLE

Operation = tuple[Any, ...]
"""One operation of an entity-group transaction, as ``TableClient.submit_transaction`` takes it."""

MAX_BATCH = 100
"""Azure's limit of operations in one entity-group transaction."""


class RowsRead:
    """How many table rows this process has read (every row a query yields, every point read).

    Benchmarks read it to state a listing's cost in rows rather than seconds; nothing in the
    product depends on it.
    """

    count = 0

    @classmethod
    def add(cls, rows: int = 1) -> None:
        cls.count += rows


def etag_of(entity: Any) -> str:
    """The ETag azure-data-tables keeps on a read entity (``TableEntity.metadata``)."""
    return str(entity.metadata["etag"])


def if_unchanged(etag: str) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def merge_op(entity: Entity, etag: str | None) -> Operation:
    """Merge the entity's columns into the row: only if unchanged since read, or (no ETag) always."""
    if etag is None:
        return ("upsert", entity, {"mode": UpdateMode.MERGE})
    return ("update", entity, {"mode": UpdateMode.MERGE, **if_unchanged(etag)})


def replace_op(entity: Entity, etag: str) -> Operation:
    """Replace the whole row, only if unchanged since read."""
    return ("update", entity, {"mode": UpdateMode.REPLACE, **if_unchanged(etag)})


def upsert_op(entity: Entity) -> Operation:
    """Write the whole row whatever is there (rows whose content is derived, such as jobs)."""
    return ("upsert", entity, {"mode": UpdateMode.REPLACE})


def delete_op(row: str, etag: str | None = None) -> Operation:
    if etag is None:
        return ("delete", {"RowKey": row})
    return ("delete", {"RowKey": row}, if_unchanged(etag))


def race_error(error: HttpResponseError) -> Exception:
    """The domain error for a refused table request, or the error itself when it is not a race."""
    status = error.status_code
    if status == 412:
        return ConcurrencyError("The entity changed since it was read; read it again and retry.")
    if status == 409:
        return ConflictError("The entity already exists.", code="EntityAlreadyExists")
    if status == 404:
        return ConcurrencyError("The entity was deleted since it was read.", code="EntityGone")
    if status in (429, 500, 502, 503, 504) or status is None:
        return TransientError(f"Table Storage is unavailable: {error.message}", code="StorageUnavailable")
    return error


class TableStore:
    """Access to the ``vaultdata`` table (and the ``vaults`` registry) for one family of rows."""

    def __init__(self, clients: StorageClients) -> None:
        self._clients = clients

    @staticmethod
    def partition(vault: VaultRef) -> str:
        return keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)

    async def _data(self) -> Any:
        return await self._clients.table(VAULT_DATA_TABLE)

    async def _registry(self) -> Any:
        return await self._clients.table(VAULTS_TABLE)

    async def _transact(self, partition: str, operations: Sequence[Operation]) -> list[Mapping[str, Any]]:
        """One entity-group transaction; a lost race raises, and nothing of it is written."""
        for _, entity, *_ in operations:
            entity["PartitionKey"] = partition
        table = await self._data()
        try:
            return list(await table.submit_transaction(list(operations)))
        except TableTransactionError as error:
            raise race_error(error) from error
        except HttpResponseError as error:
            raise race_error(error) from error

    async def _write(self, partition: str, operation: Operation) -> str:
        """A single-row transaction; returns the row's new ETag."""
        results = await self._transact(partition, [operation])
        return str(results[0]["etag"])

    async def _query(
        self,
        filter_text: str,
        parameters: Mapping[str, Any],
        *,
        select: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Entity]:
        """Rows matching an OData filter; values are bound as ``@name`` parameters, never formatted in.

        ``page_size`` asks the service for that many rows a round trip (``$top``): a caller that
        stops after n rows passes about n, so a short page costs one short request, not 1,000 rows.
        """
        table = await self._data()
        options: dict[str, Any] = {"parameters": dict(parameters)}
        if select is not None:
            options["select"] = list(select)
        if page_size is not None:
            options["results_per_page"] = max(1, min(1000, page_size))
        async for entity in table.query_entities(filter_text, **options):
            RowsRead.add()
            yield entity

    async def _range(
        self,
        partition: str,
        lower: str,
        upper: str,
        *,
        select: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Entity]:
        """Rows with ``lower <= RowKey < upper``, in key order."""
        async for entity in self._query(
            "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper",
            {"pk": partition, "lower": lower, "upper": upper},
            select=select,
            page_size=page_size,
        ):
            yield entity

    async def _point(self, partition: str, row: str) -> Entity | None:
        table = await self._data()
        try:
            entity: Entity = await table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        RowsRead.add()
        return entity
