"""The overview's summary row (``c|overview``), held to one contract by the fake and by the real
adapter on Azurite: ``None`` before the first write, a whole round trip, the newest write wins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backup.domain.instance import VaultRef
from backup.domain.overview import OverviewFigures, VaultOverview
from tests.contracts.test_vault_store_contract import T0


def _summary(vault: VaultRef, **changes: Any) -> VaultOverview:
    figures = OverviewFigures(
        instances=7,
        protected=5,
        by_health={"Healthy": 4, "Inactive": 2, "Unhealthy": 1},
        by_state={"ProtectionConfigured": 5, "ProtectionStopped": 2},
        recovery_points=321,
        oldest_point_at=T0 - timedelta(days=30),
        points_of_unknown_age=1,
        oldest_last_backup_at=T0 - timedelta(hours=26),
        oldest_last_backup_instance=f"{vault.id}/backupInstances/disk-b",
        never_backed_up=1,
        failed_jobs_24h=12,
    )
    for name, value in changes.items():
        figures = OverviewFigures(**{**figures.__dict__, name: value})
    return VaultOverview(vault, T0, figures)


async def test_a_vault_has_no_summary_until_one_is_written(store: Any, vault: VaultRef) -> None:
    assert await store.get_vault_overview(vault) is None


async def test_a_summary_round_trips_whole(store: Any, vault: VaultRef) -> None:
    summary = _summary(vault)
    await store.put_vault_overview(summary)
    assert await store.get_vault_overview(vault) == summary


async def test_a_summary_without_times_round_trips_with_none(store: Any, vault: VaultRef) -> None:
    summary = _summary(
        vault, oldest_point_at=None, oldest_last_backup_at=None, oldest_last_backup_instance=None
    )
    await store.put_vault_overview(summary)
    assert await store.get_vault_overview(vault) == summary


async def test_the_newest_summary_replaces_the_last(store: Any, vault: VaultRef) -> None:
    await store.put_vault_overview(_summary(vault))
    newer = _summary(vault, instances=8, by_health={"Healthy": 8})
    await store.put_vault_overview(newer)
    assert await store.get_vault_overview(vault) == newer
