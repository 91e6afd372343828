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
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.limits import RECOVERY_POINTS_PER_TABLE_TRANSACTION
from backup.domain.models import RecoveryPoint
from backup.domain.records import ExpiryEntry, Versioned
from backup.domain.retention import select_expired
from backup.errors import BackupError, ConcurrencyError
from backup.ports import ArmGateway, VaultStore
from backup.services.etag_retry import raising, write_with_retry
from backup.services.snapshot_deletion import SnapshotFate, delete_point_snapshot, deletion_job
from backup.telemetry import RETENTION_DELETION_SPAN, Telemetry

_log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)
    kept_newest: int = 0
    skipped_in_use: int = 0
    not_ours: list[str] = field(default_factory=list)
    """Snapshots behind expired points that custody did not verify: reported, never deleted."""
    already_gone: int = 0
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
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry
        self._gate = asyncio.Semaphore(concurrency)

    async def sweep(self) -> SweepResult:
        result = SweepResult()
        for vault in await self._store.list_vaults():
            await self.sweep_vault(vault, result)
        return result

    async def sweep_vault(self, vault: VaultRef, result: SweepResult) -> None:
        now = self._clock.now()
        by_instance: dict[str, list[ExpiryEntry]] = defaultdict(list)
        for entry in await self._store.expired(vault, now):
            by_instance[entry.instance].append(entry)
        await asyncio.gather(
            *(self._sweep_instance(vault, name, entries, result) for name, entries in by_instance.items())
        )

    async def _sweep_instance(
        self, vault: VaultRef, name: str, entries: list[ExpiryEntry], result: SweepResult
    ) -> None:
        async with self._gate:
            try:
                await self._sweep_instance_unguarded(vault, name, entries, result)
            except BackupError as error:
                # One instance's trouble (a revoked role, throttling) must not stop the sweep;
                # its points stay and the next sweep tries again.
                _log.warning("retention of %s stopped: %s %s", name, error.code, error.message)
                result.errors.append(f"{name}: {error.code}")

    async def _sweep_instance_unguarded(
        self, vault: VaultRef, name: str, entries: list[ExpiryEntry], result: SweepResult
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

        for start in range(0, len(deletable), RECOVERY_POINTS_PER_TABLE_TRANSACTION):
            chunk = deletable[start : start + RECOVERY_POINTS_PER_TABLE_TRANSACTION]
            removed: list[tuple[RecoveryPoint, ExpiryEntry | None]] = []
            jobs: list[Job] = []
            for point in chunk:
                job = await self._delete_snapshot(current.value, point, result)
                if job is not None:
                    removed.append((point, points[point.id][1]))
                    jobs.append(job)
            if removed:
                current = await self._record(vault, name, current, removed, jobs)
                result.deleted.extend(point.id for point, _ in removed)
                self._telemetry.recovery_points_deleted(vault.id, name, len(removed))

    async def _delete_snapshot(
        self, instance: BackupInstance, point: RecoveryPoint, result: SweepResult
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
                self._compute.for_identity(instance.identity), instance, point, telemetry=self._telemetry
            )
            if fate is SnapshotFate.NOT_OURS:
                result.not_ours.append(snapshot_id)
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
    ) -> Versioned[BackupInstance]:
        on_demand = sum(1 for point, _ in removed if point.is_on_demand)

        async def write(latest: Versioned[BackupInstance]) -> Versioned[BackupInstance]:
            updated = latest.value.after_deletions(len(removed), on_demand)
            saved = await self._store.record_deletions(
                latest, updated, removed, jobs, deleted_at=self._clock.now()
            )
            for job in jobs:
                self._telemetry.job_finished(job)
            return saved

        return await write_with_retry(
            write,
            lambda: self._store.get_instance(vault, name),
            current=current,
            gone=raising(lambda: ConcurrencyError(f"The backup instance '{name}' was deleted meanwhile.")),
            exhausted=raising(lambda: ConcurrencyError(f"could not record retention deletions of {name}")),
        )
