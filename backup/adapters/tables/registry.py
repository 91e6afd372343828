"""The ``vaults`` table: which vaults exist, each with its Azure JSON document.

One partition per subscription, so listing a subscription is one partition query and listing
a resource group a RowKey prefix range inside it. Deleting a vault also empties its
``vaultdata`` partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import (
    MAX_BATCH,
    RowsRead,
    TableStore,
    delete_op,
    etag_of,
    race_error,
    upsert_op,
)
from backup.adapters.tables.codecs import instance_index_marker
from backup.domain.instance import VaultRef
from backup.domain.records import Versioned
from backup.errors import ConflictError

T = TypeVar("T")


class VaultRegistry(TableStore):
    async def register_vault(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        entity = codecs.vault_entity(vault, document)
        registry = await self._registry()
        try:
            if etag is None:
                result = await registry.create_entity(entity)
            else:
                result = await registry.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except ResourceExistsError as error:
            raise ConflictError(
                f"Vault '{vault.name}' already exists.", code="EntityAlreadyExists"
            ) from error
        except HttpResponseError as error:
            raise race_error(error) from error
        if etag is None:
            # A new vault's partition is empty (deleting a vault empties it), so every instance it
            # will hold is written with its index rows: its index is complete from the start.
            await self._transact(self.partition(vault), [upsert_op(instance_index_marker())])
        return str(result["etag"])

    async def get_vault(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None:
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        registry = await self._registry()
        try:
            entity = await registry.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        RowsRead.add()
        return Versioned(codecs.document_from(entity), etag_of(entity))

    async def list_vaults(self) -> list[VaultRef]:
        registry = await self._registry()
        return [
            _counted(codecs.vault_ref_from(entity))
            async for entity in registry.list_entities(select=["SubscriptionId", "ResourceGroup", "Name"])
        ]

    async def list_vault_documents(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
        """Vault documents of one subscription (optionally one resource group), by RowKey.

        One partition query; with a resource group, a RowKey prefix range inside it.
        Returns ``(row_key, document)`` pairs; the row key is the paging key.
        """
        registry = await self._registry()
        partition = keys.validated_subscription(subscription_id)
        if resource_group is None:
            filter_text, parameters = "PartitionKey eq @pk", {"pk": partition}
        else:
            prefix = keys.validated_name(resource_group, what="resourceGroup") + ":"
            filter_text = "PartitionKey eq @pk and RowKey ge @lower and RowKey lt @upper"
            parameters = {"pk": partition, "lower": prefix, "upper": prefix[:-1] + chr(ord(":") + 1)}
        rows = [
            _counted((str(entity["RowKey"]), Versioned(codecs.document_from(entity), etag_of(entity))))
            async for entity in registry.query_entities(filter_text, parameters=parameters)
        ]
        return sorted(rows, key=lambda row: row[0])

    async def delete_vault(self, vault: VaultRef, etag: str) -> None:
        """Remove the vault from the registry (if unchanged since read), then everything in its partition."""
        partition, row = keys.vault_registry_key(vault.subscription_id, vault.resource_group, vault.name)
        registry = await self._registry()
        try:
            await registry.delete_entity(
                partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceNotFoundError:
            return
        except HttpResponseError as error:
            raise race_error(error) from error
        data_partition = self.partition(vault)
        row_keys = [
            str(entity["RowKey"])
            async for entity in self._query("PartitionKey eq @pk", {"pk": data_partition}, select=["RowKey"])
        ]
        for start in range(0, len(row_keys), MAX_BATCH):
            batch = row_keys[start : start + MAX_BATCH]
            await self._transact(data_partition, [delete_op(key) for key in batch])


def _counted(row: T) -> T:
    """Registry rows count in :class:`RowsRead` like ``vaultdata`` rows (the listings' benches)."""
    RowsRead.add()
    return row
