"""The ingredients of ``live_read_rows_per_rp_list_after_one_year_hourly`` at a small scale.

The bench's own builder and measurement (``bench/history.py``) on Azurite: 200 hourly backups at
24-hour retention leave 24 live points and 176 retired by retention's store calls. Listing them
through the API (pages of 10) must scan key ranges that hold exactly the 24 live rows, while the
176 deleted points are still kept, out of those ranges, for audit.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backup.adapters.storage import StorageClients
from backup.adapters.tables import keys
from backup.adapters.tables.store import VaultStore
from backup.config import Settings
from backup.domain.instance import VaultRef
from backup.domain.models import RecoveryPointState
from bench.history import INSTANCE, measure_history
from localdev.azurite import AzuriteEndpoints

pytestmark = pytest.mark.integration


async def test_listing_a_long_history_through_the_api_scans_only_live_rows(azurite: AzuriteEndpoints) -> None:
    vault = VaultRef("44444444-0000-4000-8000-000000000004", "rg-" + uuid.uuid4().hex[:8], "history-vault")
    figures = await measure_history(
        azurite,
        points=200,
        interval=timedelta(hours=1),
        retention=timedelta(hours=24),
        page_size=10,
        vault=vault,
    )

    assert figures.deleted_points == 176
    assert figures.live_points == figures.listed_points == 24
    assert figures.pages == 3
    assert figures.rows_in_scanned_ranges == 24
    assert figures.rows_per_live_point == 1.0
    partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
    live_lower, live_upper = keys.kind_range(keys.RECOVERY_POINT, INSTANCE)
    assert figures.scanned_ranges
    for scanned in figures.scanned_ranges:
        assert scanned.partition == partition
        assert live_lower <= scanned.lower < scanned.upper <= live_upper

    clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
    try:
        everything = await VaultStore(clients).list_recovery_points(vault, INSTANCE, include_deleted=True)
    finally:
        await clients.close()
    assert len(everything) == 200
    assert sum(point.state is RecoveryPointState.DELETING for point in everything) == 176
