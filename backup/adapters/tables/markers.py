"""App-wide markers in the ``_system`` partition: when a once-a-day job last ran."""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.data.tables import UpdateMode

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import TableStore, etag_of


class MarkerStore(TableStore):
    async def claim_marker(self, name: str, now: datetime, every: timedelta) -> bool:
        """Claim a periodic job (at most once per ``every`` across all instances of the app)."""
        table = await self._data()
        row = await self._point(keys.SYSTEM_PARTITION, name)
        if row is not None and codecs.aware(row["LastRun"]) > now - every:
            return False
        entity = {"PartitionKey": keys.SYSTEM_PARTITION, "RowKey": name, "LastRun": now}
        try:
            if row is None:
                await table.create_entity(entity)
            else:
                await table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=etag_of(row),
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, HttpResponseError):
            return False  # another instance claimed it first
        return True
