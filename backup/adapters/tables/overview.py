"""The overview's per-vault summary (``c|overview``): one row per vault, rewritten whole by the
overview step, read with one point read per vault by the overview call."""

from __future__ import annotations

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import TableStore, upsert_op
from backup.domain.instance import VaultRef
from backup.domain.overview import VaultOverview


class OverviewStore(TableStore):
    async def put_vault_overview(self, summary: VaultOverview) -> None:
        # A summary is derived from the vault's rows, so the newest computation simply wins.
        await self._write(self.partition(summary.vault), upsert_op(codecs.vault_overview_entity(summary)))

    async def get_vault_overview(self, vault: VaultRef) -> VaultOverview | None:
        entity = await self._point(self.partition(vault), keys.overview_key())
        return None if entity is None else codecs.vault_overview_from(vault, entity)
