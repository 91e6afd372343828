"""Datasource claims: which vault and instance protect a disk, across all vaults.

Claims live in their own partition (``_datasources``, RowKey = sha256 of the lower-cased disk
id), so "is this disk protected anywhere?" is one point read and two vaults racing for one disk
collide on the insert. They cannot share a transaction with the instance row, so the services
claim before creating the instance and check a claim against the instance it names whenever
they read it.
"""

from __future__ import annotations

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import TableStore, delete_op, etag_of, replace_op
from backup.domain.instance import VaultRef
from backup.domain.records import DatasourceClaim, Versioned
from backup.errors import ConcurrencyError


class DatasourceClaimStore(TableStore):
    async def get_datasource_claim(self, disk_id: str) -> Versioned[DatasourceClaim] | None:
        entity = await self._point(keys.DATASOURCE_PARTITION, keys.datasource_claim_key(disk_id))
        if entity is None:
            return None
        return Versioned(codecs.claim_from(entity), etag_of(entity))

    async def put_datasource_claim(self, claim: DatasourceClaim, etag: str | None = None) -> str:
        """Insert a claim (ConflictError when one exists) or, with ``etag``, take over a stale one
        (ConcurrencyError when it changed since it was read)."""
        entity = codecs.claim_entity(claim)
        return await self._write(
            keys.DATASOURCE_PARTITION, ("create", entity) if etag is None else replace_op(entity, etag)
        )

    async def release_datasource_claim(self, disk_id: str, vault: VaultRef, instance: str) -> None:
        """Delete the disk's claim if it still names this vault's instance; anything else is left."""
        current = await self.get_datasource_claim(disk_id)
        if current is None or not current.value.names(vault, instance):
            return
        try:
            await self._transact(
                keys.DATASOURCE_PARTITION, [delete_op(keys.datasource_claim_key(disk_id), current.etag)]
            )
        except ConcurrencyError:
            return  # taken over or released meanwhile: no longer ours to release
