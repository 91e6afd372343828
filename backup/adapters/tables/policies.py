"""Backup policies: one row per policy (``p|{policy}``), its Azure JSON kept verbatim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import TableStore, delete_op, etag_of, replace_op
from backup.domain.instance import VaultRef
from backup.domain.records import Versioned


class PolicyStore(TableStore):
    async def put_policy(
        self, vault: VaultRef, name: str, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        """Create the policy (ConflictError when it exists) or, with ``etag``, replace it if unchanged."""
        entity = codecs.policy_entity(name, document)
        return await self._write(
            self.partition(vault), ("create", entity) if etag is None else replace_op(entity, etag)
        )

    async def get_policy(self, vault: VaultRef, name: str) -> tuple[str, Versioned[Mapping[str, Any]]] | None:
        """The policy (any case of ``name``) with its name as it was first spelled."""
        entity = await self._point(self.partition(vault), keys.policy_key(name))
        if entity is None:
            return None
        return codecs.policy_name_from(entity), Versioned(codecs.document_from(entity), etag_of(entity))

    async def list_policies(self, vault: VaultRef) -> list[tuple[str, str, Versioned[Mapping[str, Any]]]]:
        """``(row_key, name, document)`` of every policy of the vault, by RowKey."""
        lower, upper = keys.kind_range(keys.POLICY)
        return [
            (
                str(entity["RowKey"]),
                codecs.policy_name_from(entity),
                Versioned(codecs.document_from(entity), etag_of(entity)),
            )
            async for entity in self._range(self.partition(vault), lower, upper)
        ]

    async def delete_policy(self, vault: VaultRef, name: str, etag: str) -> None:
        await self._transact(self.partition(vault), [delete_op(keys.policy_key(name), etag)])
