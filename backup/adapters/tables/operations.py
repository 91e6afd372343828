"""Long-running API operations (``o|{operationId}``) that ARM clients poll."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import Operation, TableStore, etag_of, replace_op, upsert_op
from backup.domain.instance import VaultRef
from backup.domain.records import Versioned


class OperationStore(TableStore):
    async def put_operation(
        self,
        vault: VaultRef,
        operation_id: str,
        document: Mapping[str, Any],
        *,
        status: str,
        create: bool = False,
        etag: str | None = None,
    ) -> str:
        """Write an operation record: insert, replace-if-unchanged, or upsert."""
        if not operation_id or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in operation_id):
            raise ValueError("operation ids are URL-safe base64 without padding")
        entity = codecs.operation_entity(operation_id, document, status)
        operation: Operation
        if create:
            operation = ("create", entity)
        elif etag is not None:
            operation = replace_op(entity, etag)
        else:
            operation = upsert_op(entity)
        return await self._write(self.partition(vault), operation)

    async def get_operation(self, vault: VaultRef, operation_id: str) -> Versioned[Mapping[str, Any]] | None:
        entity = await self._point(self.partition(vault), keys.operation_key(operation_id))
        if entity is None:
            return None
        return Versioned(codecs.document_from(entity), etag_of(entity))
