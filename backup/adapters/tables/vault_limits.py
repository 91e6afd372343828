"""A vault's scope limits (``l|scopes``), one row in its partition, written whole by an owner
(deleting the vault empties the partition, the limits with it)."""

from __future__ import annotations

import json

from backup.adapters.tables import keys
from backup.adapters.tables.base import TableStore, upsert_op
from backup.domain.instance import VaultRef
from backup.domain.vault_limits import VaultLimits


class VaultLimitsStore(TableStore):
    async def put_vault_limits(self, vault: VaultRef, limits: VaultLimits) -> None:
        entity = {"RowKey": keys.vault_limits_key(), "LimitsJson": json.dumps(limits.to_json())}
        await self._write(self.partition(vault), upsert_op(entity))

    async def get_vault_limits(self, vault: VaultRef) -> VaultLimits | None:
        entity = await self._point(self.partition(vault), keys.vault_limits_key())
        return None if entity is None else VaultLimits.parse(json.loads(str(entity["LimitsJson"])))
