"""Purge: remove soft-deleted instances for good once their soft-delete period has ended.

For each such instance: the snapshots behind its recovery points (only those custody verifies,
through :mod:`backup.services.snapshot_deletion`), one RetentionDeletion job per point, the
snapshots of a backup that was still running when it was deleted, its recovery point, expiry,
instance and plan rows, and last its datasource claim, so the disk can be protected again. Run
by the retention timer (:mod:`backup.services.maintenance`); safe to rerun.

In an immutable vault custody holds every point until its expiry: a held point keeps its
snapshot and its rows, and the instance stays soft-deleted (its purge retried by every run)
until the last one has expired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from backup.domain.clock import Clock
from backup.domain.custody import DeletionTerms, judge
from backup.domain.instance import BackupInstance
from backup.domain.jobs import Job
from backup.domain.limits import RECOVERY_POINTS_PER_TABLE_TRANSACTION
from backup.domain.models import ProtectionState, RecoveryPoint, RecoveryPointState
from backup.domain.records import Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.snapshots import SnapshotTags
from backup.errors import BackupError, ConcurrencyError, NotFoundError
from backup.ports import ArmGateway, VaultStore
from backup.services.protection.claims import DatasourceClaims
from backup.services.snapshot_deletion import (
    SnapshotFate,
    delete_point_snapshot,
    deletion_job,
    deletion_terms,
)
from backup.telemetry import Telemetry

_log = logging.getLogger(__name__)


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)
    """Ids of the instances removed for good."""
    snapshots_deleted: int = 0
    not_ours: list[str] = field(default_factory=list)
    """Snapshots of purged points (or tagged as the instance's) that custody did not verify: left alone."""
    errors: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Ids of the instances kept soft-deleted because their vault holds some of their points."""


class InstancePurger:
    def __init__(
        self, store: VaultStore, compute: ArmGateway, clock: Clock, *, telemetry: Telemetry | None = None
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry
        self._claims = DatasourceClaims(store, clock)

    async def purge_due(self) -> PurgeResult:
        """Remove soft-deleted instances whose period ended: their snapshots (only ours), their
        recovery point, expiry and instance rows, and their datasource claim; one
        RetentionDeletion job per recovery point. For the retention timer; safe to rerun."""
        result = PurgeResult()
        now = self._clock.now()
        for vault in await self._store.list_vaults():
            terms: DeletionTerms | None = None
            for row in await self._store.list_instances(vault, state=ProtectionState.SOFT_DELETED):
                instance = row.value
                if instance.purge_at is None or instance.purge_at > now:
                    continue
                try:
                    terms = terms or await deletion_terms(self._store, vault, now)
                    await self._purge(row, result, terms)
                except BackupError as error:
                    _log.warning("purge of %s stopped: %s %s", instance.id, error.code, error.message)
                    result.errors.append(f"{instance.id}: {error.code}")
        return result

    async def _purge(
        self, current: Versioned[BackupInstance], result: PurgeResult, terms: DeletionTerms
    ) -> None:
        instance = current.value
        points = await self._store.list_recovery_points(instance.vault, instance.name, include_deleted=True)
        held = 0
        for start in range(0, len(points), RECOVERY_POINTS_PER_TABLE_TRANSACTION):
            chunk = points[start : start + RECOVERY_POINTS_PER_TABLE_TRANSACTION]
            jobs = []
            removed = []
            for point in chunk:
                fate, job = await self._delete_point_snapshot(instance, point, result, terms)
                if fate is SnapshotFate.HELD:
                    held += 1
                    continue
                removed.append(point)
                if job is not None:
                    jobs.append(job)
            if removed:
                await self._store.delete_recovery_points(instance.vault, removed, jobs)
            for job in jobs:
                if self._telemetry is not None:
                    self._telemetry.job_finished(job)
        deleted, unrecorded_held = await self._delete_unrecorded_snapshots(instance, result, terms)
        result.snapshots_deleted += deleted
        held += unrecorded_held
        if held:
            _log.info(
                "purge of %s postponed: the vault holds %d of its points until they expire", instance.id, held
            )
            result.held.append(instance.id)
            return
        try:
            await self._store.delete_instance(current)
        except ConcurrencyError:
            # A backup that was running when the instance was deleted recorded a point since we
            # read it; the next purge removes that one too.
            _log.info("purge of %s postponed: the instance changed while purging", instance.id)
            return
        await self._claims.release(instance.disk_id, instance.vault, instance.name)
        result.purged.append(instance.id)

    async def _delete_point_snapshot(
        self, instance: BackupInstance, point: RecoveryPoint, result: PurgeResult, terms: DeletionTerms
    ) -> tuple[SnapshotFate | None, Job | None]:
        """Delete the snapshot behind one point if it is ours and not held; its fate and the job to record."""
        if point.state is RecoveryPointState.DELETING:
            return None, None  # retention already deleted its snapshot and recorded a job
        started = self._clock.now()
        job = deletion_job(
            instance, point, started=started, id_time=instance.purge_at or started, why="purge"
        )
        fate, snapshot_id = await delete_point_snapshot(
            self._compute.for_identity(instance.identity),
            instance,
            point,
            terms=terms,
            telemetry=self._telemetry,
            path="purge",
        )
        if fate is SnapshotFate.HELD:
            return fate, None
        if fate is SnapshotFate.NOT_OURS:
            result.not_ours.append(snapshot_id)
            return fate, None
        if fate is SnapshotFate.DELETED:
            result.snapshots_deleted += 1
        return fate, job.completed(self._clock.now())

    async def _delete_unrecorded_snapshots(
        self, instance: BackupInstance, result: PurgeResult, terms: DeletionTerms
    ) -> tuple[int, int]:
        """Our snapshots of this instance that no recovery point row names (a backup that was
        running at deletion time): found by their tags in the snapshot resource group, deleted
        only if custody verifies them as this instance's and does not hold them. How many were
        deleted, and how many are held."""
        compute = self._compute.for_identity(instance.identity)
        try:
            snapshots = await compute.list_snapshots(
                ResourceGroupId.parse(instance.snapshot_resource_group_id)
            )
        except NotFoundError:
            return 0, 0
        deleted = held = 0
        for snapshot in snapshots:
            tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
            if (
                tags is None
                or tags.vault_id.casefold() != instance.vault.id.casefold()
                or tags.instance.casefold() != instance.name.casefold()
                or snapshot.id in result.not_ours  # refused behind a recorded point just now
            ):
                continue
            verdict = judge(snapshot, instance, terms=terms)
            if verdict.verified and verdict.holds:
                held += 1  # the vault holds it until its expiry; the instance stays until then
                continue
            if not verdict.may_delete:
                _log.error("not deleting %s of purged %s: %s", snapshot.id, instance.id, verdict.detail)
                result.not_ours.append(snapshot.id)
                if self._telemetry is not None:
                    self._telemetry.lookalike_snapshot(instance.vault.id, "purge", snapshot.id, verdict)
                continue
            await compute.delete_snapshot(ComputeResourceId.snapshot(snapshot.id))
            deleted += 1
        return deleted, held
