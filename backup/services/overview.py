"""The overview's counts: recompute each vault's summary row from its instance rows (the timer,
every 5 minutes), and answer the overview of a subscription or resource group from those rows.

The answer reads the vault registry and one summary row per vault: O(vaults) rows, whatever the
number of instances or jobs. A vault that has no summary yet (new, or never reached by the
timer) is summarised on the spot, so its first overview is exact too; a summary older than
:data:`~backup.domain.overview.STALE_AFTER` is used but makes the answer say it is not exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from backup.domain.clock import Clock
from backup.domain.instance import VaultRef, vault_of_document
from backup.domain.models import JobStatus
from backup.domain.overview import FAILED_JOBS_WINDOW, Overview, VaultOverview, combine, summarize_vault
from backup.ports import VaultStore
from backup.telemetry import instance_health

_log = logging.getLogger(__name__)
T = TypeVar("T")

CONCURRENT_VAULTS = 16
"""Vaults read (or summarised) at once: the reads are independent point reads."""


async def count_failed_jobs(store: VaultStore, vault: VaultRef, since: datetime) -> int:
    """Jobs of the vault that started at or after ``since`` and failed.

    The one place that decides how: the job store's status index (``count_failed_since``,
    O(failed jobs in the window)) when the store has it, else the jobs of the window by their
    time-ordered keys with a status check (O(jobs in the window), once per vault per timer run).
    """
    indexed = getattr(store, "count_failed_since", None)
    if indexed is not None:
        return int(await indexed(vault, since))
    failed = 0
    async for job in store.jobs_page(vault, started_from=since):
        if job.status is JobStatus.FAILED and job.start_time >= since:
            failed += 1
    return failed


class OverviewService:
    def __init__(self, store: VaultStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def recompute(self, vault: VaultRef) -> VaultOverview:
        """Count the vault's visible instances and its failed jobs of the last 24 hours, and keep
        the result as the vault's summary row."""
        now = self._clock.now()
        rows = await self._store.list_instances(vault)
        instances = []
        for row in rows:
            instance = row.value
            if instance.is_soft_deleted:
                continue
            active = instance.protection_state.takes_scheduled_backups
            instances.append((instance, instance_health(instance, active=active)))
        failed = await count_failed_jobs(self._store, vault, now - FAILED_JOBS_WINDOW)
        summary = summarize_vault(vault, instances, failed, now)
        await self._store.put_vault_overview(summary)
        return summary

    async def recompute_all(self) -> int:
        """Every vault's summary; a vault that fails is logged and left for the next run.
        Returns how many vaults were summarised."""
        vaults = await self._store.list_vaults()
        results = await self._each(vaults, self.recompute, return_errors=True)
        done = 0
        for vault, result in zip(vaults, results, strict=True):
            if isinstance(result, BaseException):
                _log.warning("overview counts of vault %s not recomputed: %s", vault.id, result)
            else:
                done += 1
        _log.info("overview counts recomputed for %d of %d vaults", done, len(vaults))
        return done

    async def overview(self, subscription_id: str, resource_group: str | None = None) -> Overview:
        """The totals over the vaults of a subscription (or one resource group), from their
        summary rows; a vault without one is summarised now."""
        vaults = [
            vault
            for _, document in await self._store.list_vault_documents(subscription_id, resource_group)
            if (vault := vault_of_document(document.value)) is not None
        ]
        return await self.overview_of(vaults)

    async def overview_of(self, vaults: Sequence[VaultRef]) -> Overview:
        """The totals over exactly these vaults (the caller has decided which it may see)."""
        stored = await self._each(vaults, self._store.get_vault_overview)
        summaries: list[VaultOverview] = []
        missing: list[VaultRef] = []
        absent = [vault for vault, summary in zip(vaults, stored, strict=True) if summary is None]
        fresh = await self._each(absent, self.recompute, return_errors=True)
        computed = dict(zip(absent, fresh, strict=True))
        for vault, summary in zip(vaults, stored, strict=True):
            if summary is None:
                result = computed[vault]
                if isinstance(result, BaseException):
                    _log.warning("overview counts of vault %s could not be computed: %s", vault.id, result)
                    missing.append(vault)
                    continue
                summary = result
            if isinstance(summary, VaultOverview):
                summaries.append(summary)
        return combine(summaries, self._clock.now(), missing=missing)

    async def _each(
        self,
        vaults: Sequence[VaultRef],
        action: Callable[[VaultRef], Awaitable[T]],
        *,
        return_errors: bool = False,
    ) -> list[T | BaseException]:
        gate = asyncio.Semaphore(CONCURRENT_VAULTS)

        async def one(vault: VaultRef) -> T:
            async with gate:
                return await action(vault)

        return list(await asyncio.gather(*(one(vault) for vault in vaults), return_exceptions=return_errors))
