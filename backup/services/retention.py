"""Retention: delete expired recovery points, and only snapshots that are ours and expired.

Per vault, one range query over the expiry index returns exactly the expired points (history
is never read; each index row is a copy of its point). For each instance with expired points:
one read of the instance, whose newest point's time decides the n+1 rule (the newest point is
never deleted while the instance is protected), then the snapshots are deleted and everything
is recorded in one entity-group transaction per instance (chunked at Azure's 100 operations).

A snapshot is deleted only when it still exists and custody verifies it is that recovery point
(:mod:`backup.domain.custody`: its tags, its real source disk); anything else is left alone and
reported. Recovery points that a
running restore uses are skipped.

A deleted point leaves the live range in the transaction that records its deletion (kept for
audit until :data:`~backup.domain.limits.DELETED_RECOVERY_POINT_AUDIT` after it expired; each
sweep removes what is past that, and moves points an older version left marked in the live
range), and keeps the job index (indexes a vault's older jobs once, removes stale status
markers). Two sweepers may meet on the same points: the one that records second finds them
already moved, recognises the other's work and stops there, without a retry or a warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from backup.domain.clock import Clock
from backup.domain.custody import DeletionTerms
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.limits import DELETED_RECOVERY_POINT_AUDIT, RECOVERY_POINTS_PER_TABLE_TRANSACTION
from backup.domain.models import RecoveryPoint
from backup.domain.records import ExpiryEntry, Versioned
from backup.domain.retention import select_expired
from backup.errors import BackupError, ConcurrencyError, ConflictError
from backup.ports import ArmGateway, VaultStore
from backup.services.etag_retry import raising, write_with_retry
from backup.services.snapshot_deletion import (
    SnapshotFate,
    delete_point_snapshot,
    deletion_job,
    deletion_terms,
)
from backup.telemetry import RETENTION_DELETION_SPAN, Telemetry

_log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)
    kept_newest: int = 0
    skipped_in_use: int = 0
    not_ours: list[str] = field(default_factory=list)
    """Snapshots behind expired points that custody did not verify: reported, never deleted."""
    held: int = 0
    """Points the vault holds (immutable, not yet expired by the store's record): kept."""
    already_gone: int = 0
    recorded_by_another: int = 0
    """Points another sweeper deleted and recorded first (a race lost, and nothing to redo)."""
    history_moved: int = 0
    """Deleted points an older version left in the live range, moved to the audit range."""
    history_purged: int = 0
    """Deleted points past their audit retention, removed."""
    jobs_indexed: int = 0
    """Jobs written before the job index existed, given their index rows (once per vault)."""
    stale_job_index_purged: int = 0
    """Stale markers that jobs' status changes left in the job index, removed."""
    instances_indexed: int = 0
    """Instance rows an older version wrote, given their instance-index rows (once per vault)."""
    errors: list[str] = field(default_factory=list)


class RetentionSweeper:
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        telemetry: Telemetry,
        *,
        concurrency: int = 8,
        audit_retention: timedelta = DELETED_RECOVERY_POINT_AUDIT,
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry
        self._gate = asyncio.Semaphore(concurrency)
        self._audit_retention = audit_retention

    async def sweep(self) -> SweepResult:
        result = SweepResult()
        for vault in await self._store.list_vaults():
            await self.sweep_vault(vault, result)
        return result

    async def sweep_vault(self, vault: VaultRef, result: SweepResult) -> None:
        now = self._clock.now()
        await self._keep_history(vault, result, self._store.move_legacy_tombstones(vault, now=now), "moved")
        await self._keep_history(vault, result, self._store.backfill_instance_index(vault), "indexed")
        by_instance: dict[str, list[ExpiryEntry]] = defaultdict(list)
        for entry in await self._store.expired(vault, now):
            by_instance[entry.instance].append(entry)
        terms = await deletion_terms(self._store, vault, now) if by_instance else None
        await asyncio.gather(
            *(
                self._sweep_instance(vault, name, entries, result, terms)
                for name, entries in by_instance.items()
                if terms is not None
            )
        )
        await self._keep_history(
            vault, result, self._store.purge_deleted_history(vault, now - self._audit_retention), "purged"
        )
        await self._keep_job_index(vault, result)

    async def _keep_job_index(self, vault: VaultRef, result: SweepResult) -> None:
        """Upkeep of the job index; its trouble must not stop the sweep (the next one retries, and
        listings scan the jobs until the vault's jobs are indexed)."""
        try:
            result.jobs_indexed += await self._store.index_legacy_jobs(vault)
            result.stale_job_index_purged += await self._store.purge_stale_job_index(vault)
        except BackupError as error:
            _log.warning("job index of %s not kept: %s %s", vault.id, error.code, error.message)
            result.errors.append(f"{vault.id}: {error.code}")

    async def _keep_history(
        self, vault: VaultRef, result: SweepResult, upkeep: Awaitable[int], what: str
    ) -> None:
        """Upkeep of the layout (deleted history, the instance index); its trouble must not stop
        the sweep (the next one retries)."""
        try:
            count = await upkeep
        except BackupError as error:
            _log.warning("deleted history of %s not %s: %s %s", vault.id, what, error.code, error.message)
            result.errors.append(f"{vault.id}: {error.code}")
            return
        if what == "moved":
            result.history_moved += count
        elif what == "indexed":
            result.instances_indexed += count
        else:
            result.history_purged += count

    async def _sweep_instance(
        self,
        vault: VaultRef,
        name: str,
        entries: list[ExpiryEntry],
        result: SweepResult,
        terms: DeletionTerms,
    ) -> None:
        async with self._gate:
            try:
                await self._sweep_instance_unguarded(vault, name, entries, result, terms)
            except BackupError as error:
                # One instance's trouble (a revoked role, throttling) must not stop the sweep;
                # its points stay and the next sweep tries again.
                _log.warning("retention of %s stopped: %s %s", name, error.code, error.message)
                result.errors.append(f"{name}: {error.code}")

    async def _sweep_instance_unguarded(
        self,
        vault: VaultRef,
        name: str,
        entries: list[ExpiryEntry],
        result: SweepResult,
        terms: DeletionTerms,
    ) -> None:
        current = await self._store.get_instance(vault, name)
        if current is None:
            return
        points = {entry.recovery_point_id: (entry.point, entry) for entry in entries}
        now = self._clock.now()
        candidates = [point for point, _ in points.values()]
        in_use = {
            point.id for point in candidates if point.in_use_until is not None and point.in_use_until > now
        }
        deletable = select_expired(
            candidates,
            now,
            current.value.protection_state,
            in_use,
            newest_created_at=current.value.health.last_successful_backup,
        )
        result.kept_newest += len(candidates) - len(deletable) - len(in_use)
        result.skipped_in_use += len(in_use)
        # The instance row keeps when its oldest live point was taken (how far back it can be
        # restored): one read of its live points per run, O(live), to say which is oldest after.
        live = await self._store.list_recovery_points(vault, name) if deletable else []
        gone: set[str] = set()

        for start in range(0, len(deletable), RECOVERY_POINTS_PER_TABLE_TRANSACTION):
            chunk = deletable[start : start + RECOVERY_POINTS_PER_TABLE_TRANSACTION]
            removed: list[tuple[RecoveryPoint, ExpiryEntry | None]] = []
            jobs: list[Job] = []
            for point in chunk:
                job = await self._delete_snapshot(current.value, point, result, terms)
                if job is not None:
                    removed.append((point, points[point.id][1]))
                    jobs.append(job)
            if removed:
                current, recorded = await self._record(
                    vault, name, current, removed, jobs, result, live, gone
                )
                gone.update(point.id for point, _ in recorded)
                result.deleted.extend(point.id for point, _ in recorded)
                if recorded:
                    self._telemetry.recovery_points_deleted(vault.id, name, len(recorded))

    async def _delete_snapshot(
        self, instance: BackupInstance, point: RecoveryPoint, result: SweepResult, terms: DeletionTerms
    ) -> Job | None:
        started = self._clock.now()
        job = deletion_job(instance, point, started=started, id_time=started, why="retention")
        with self._telemetry.job_span(
            RETENTION_DELETION_SPAN,
            vault=instance.vault.id,
            instance=instance.name,
            job_id=job.id,
            disk_id=instance.disk_id,
            job_type=job.operation.value,
        ):
            fate, snapshot_id = await delete_point_snapshot(
                self._compute.for_identity(instance.identity),
                instance,
                point,
                terms=terms,
                telemetry=self._telemetry,
            )
            if fate is SnapshotFate.NOT_OURS:
                result.not_ours.append(snapshot_id)
                return None
            if fate is SnapshotFate.HELD:
                result.held += 1
                return None
            if fate is SnapshotFate.ALREADY_GONE:
                result.already_gone += 1
            return self._telemetry.job_outcome(job.completed(self._clock.now()))

    async def _record(
        self,
        vault: VaultRef,
        name: str,
        current: Versioned[BackupInstance],
        removed: list[tuple[RecoveryPoint, ExpiryEntry | None]],
        jobs: list[Job],
        result: SweepResult,
        live: Sequence[RecoveryPoint],
        gone: set[str],
    ) -> tuple[Versioned[BackupInstance], list[tuple[RecoveryPoint, ExpiryEntry | None]]]:
        """Record the deletions; returns the instance and the deletions this sweeper recorded.

        ``live`` are the instance's live points as this run read them and ``gone`` those it has
        recorded deleted so far, from which the oldest point left is known.

        After a lost race the points are read again: those another sweeper already moved out of
        the live range are its work, done, and are dropped (with their jobs: it recorded its
        own). Only what is still live is written again, so two sweepers never retry each other."""
        pending = list(zip(removed, jobs, strict=True))
        raced = False

        async def write(
            latest: Versioned[BackupInstance],
        ) -> tuple[Versioned[BackupInstance], list[tuple[RecoveryPoint, ExpiryEntry | None]]]:
            nonlocal pending, raced
            if raced:
                pending = await self._still_live(vault, name, pending, result)
                if not pending:
                    return latest, []
            points = [deletion for deletion, _ in pending]
            on_demand = sum(1 for point, _ in points if point.is_on_demand)
            leaving = gone | {point.id for point, _ in points}
            oldest = min((point.created_at for point in live if point.id not in leaving), default=None)
            updated = latest.value.after_deletions(len(points), on_demand, oldest_remaining=oldest)
            try:
                saved = await self._store.record_deletions(
                    latest, updated, points, [job for _, job in pending], deleted_at=self._clock.now()
                )
            except ConflictError as error:
                # 412 (the instance changed), 404 (a point's live row is gone) or 409 (its audit
                # row exists): either way, read again before deciding anything.
                raced = True
                if isinstance(error, ConcurrencyError):
                    raise
                raise ConcurrencyError(error.message) from error
            for _, job in pending:
                self._telemetry.job_finished(job)
            return saved, points

        return await write_with_retry(
            write,
            lambda: self._store.get_instance(vault, name),
            current=current,
            gone=raising(lambda: ConcurrencyError(f"The backup instance '{name}' was deleted meanwhile.")),
            exhausted=raising(lambda: ConcurrencyError(f"could not record retention deletions of {name}")),
        )

    async def _still_live(
        self,
        vault: VaultRef,
        name: str,
        pending: list[tuple[tuple[RecoveryPoint, ExpiryEntry | None], Job]],
        result: SweepResult,
    ) -> list[tuple[tuple[RecoveryPoint, ExpiryEntry | None], Job]]:
        live = {point.id for point in await self._store.list_recovery_points(vault, name)}
        still = [deletion for deletion in pending if deletion[0][0].id in live]
        taken = len(pending) - len(still)
        if taken:
            result.recorded_by_another += taken
            _log.info(
                "retention of %s: %d of its expired points were already deleted and recorded by "
                "another sweeper",
                name,
                taken,
            )
        return still
