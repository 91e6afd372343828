"""The retention timer's use case: sweep expired recovery points, purge soft-deleted instances
whose period ended, and once a day rebuild recovery points from snapshot tags.

The timer (``apply-retention``) and the CLI's ``retention`` command both run :meth:`Maintenance.run`,
so the two do the same work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from backup.domain.clock import Clock
from backup.ports import VaultStore
from backup.services.protection import InstancePurger, PurgeResult
from backup.services.reconcile import Reconciler, ReconcileReport
from backup.services.retention import RetentionSweeper, SweepResult

_log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(days=1)
"""Reconciliation lists every snapshot resource group: once a day across all app instances."""
RECONCILE_MARKER = "reconcile"


@dataclass(frozen=True)
class MaintenanceReport:
    sweep: SweepResult
    purge: PurgeResult
    reconcile: ReconcileReport | None
    """``None`` when another run already reconciled within :data:`RECONCILE_EVERY`."""


class Maintenance:
    def __init__(
        self,
        store: VaultStore,
        clock: Clock,
        sweeper: RetentionSweeper,
        purger: InstancePurger,
        reconciler: Reconciler,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sweeper = sweeper
        self._purger = purger
        self._reconciler = reconciler

    async def run(self) -> MaintenanceReport:
        """Prune every tick; rebuild missing recovery points once a day (a shared marker row decides)."""
        sweep = await self._sweeper.sweep()
        _log.info(
            "retention deleted %d recovery points (%d not ours, %d errors)",
            len(sweep.deleted),
            len(sweep.not_ours),
            len(sweep.errors),
        )
        purge = await self._purger.purge_due()
        _log.info("purged %d soft-deleted instances", len(purge.purged))
        report: ReconcileReport | None = None
        if await self._store.claim_marker(RECONCILE_MARKER, self._clock.now(), RECONCILE_EVERY):
            report = await self._reconciler.reconcile()
            _log.info("reconciliation recovered %d recovery points", len(report.recovered))
        return MaintenanceReport(sweep, purge, report)
