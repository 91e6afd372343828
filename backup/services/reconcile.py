"""Reconciliation: the snapshots' tags are the second copy of the recovery points.

A crash between taking a snapshot and recording it (or lost tables) leaves a snapshot that
we pay for but no recovery point that would ever expire it. From the tags of the snapshots
in each snapshot resource group, missing recovery points are recreated, but only from
snapshots that custody verifies (:mod:`backup.domain.custody`: the instance its tags name
exists, its real source is that instance's disk, its point id and name are ones we derive).
Snapshots that look like ours but match no instance of the vault are reported as unmatched;
those that name an instance and fail verification are look-alikes: reported, counted, never
adopted or deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from backup.domain.arm import SnapshotInfo
from backup.domain.clock import Clock
from backup.domain.custody import CustodyVerdict, adoptable_point, judge
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import RecoveryPoint
from backup.domain.records import Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.snapshots import SnapshotTags, is_ours
from backup.errors import ConcurrencyError, ConflictError
from backup.ports import ArmGateway, VaultStore
from backup.services.etag_retry import write_with_retry
from backup.telemetry import RECONCILE_SPAN, Telemetry

_log = logging.getLogger(__name__)
FAILED_SNAPSHOT_GRACE = timedelta(hours=1)


@dataclass
class ReconcileReport:
    recovered: list[str] = field(default_factory=list)
    """Recovery point ids recreated from snapshot tags."""
    unmatched: list[str] = field(default_factory=list)
    """Snapshots tagged as ours (for this vault) that no instance or tag set explains."""
    discarded: list[str] = field(default_factory=list)
    """Our snapshots whose create ended Failed, deleted."""
    lookalikes: list[str] = field(default_factory=list)
    """Snapshots whose tags name an instance of the vault but that custody did not verify
    (another source disk, copied tags, a forged point id): never adopted or deleted."""


class Reconciler:
    def __init__(
        self, store: VaultStore, compute: ArmGateway, clock: Clock, telemetry: Telemetry | None = None
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._telemetry = telemetry or Telemetry()

    async def reconcile(self) -> ReconcileReport:
        report = ReconcileReport()
        for vault in await self._store.list_vaults():
            with self._telemetry.job_span(RECONCILE_SPAN, vault=vault.id):
                await self.reconcile_vault(vault, report)
        return report

    async def reconcile_vault(self, vault: VaultRef, report: ReconcileReport) -> None:
        instances = {
            pair[0].value.name.lower(): pair[0].value
            for pair in await self._store.instances_with_plans(vault)
            if pair[0] is not None
        }
        # Each snapshot resource group is read as an identity that may read it.
        groups = {
            (instance.snapshot_resource_group_id.lower(), (instance.identity or "").lower()): instance
            for instance in instances.values()
        }
        known: dict[str, dict[str, RecoveryPoint]] = {}
        seen: set[str] = set()
        for reader in groups.values():
            compute = self._compute.for_identity(reader.identity)
            for snapshot in await compute.list_snapshots(
                ResourceGroupId.parse(reader.snapshot_resource_group_id)
            ):
                if snapshot.id.lower() in seen:
                    continue
                seen.add(snapshot.id.lower())
                if not is_ours(snapshot.tags):
                    continue
                tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
                if tags is not None and tags.vault_id.lower() != vault.id.lower():
                    continue  # another vault's snapshot in a shared resource group
                owner = instances.get(tags.instance.lower()) if tags is not None else None
                if tags is None or owner is None:
                    report.unmatched.append(snapshot.id)
                    continue
                if owner.name.lower() not in known:
                    points = await self._store.list_recovery_points(vault, owner.name, include_deleted=True)
                    known[owner.name.lower()] = {point.id: point for point in points}
                recorded = known[owner.name.lower()].get(tags.recovery_point_id)
                if recorded is not None:
                    # Recorded already; a second snapshot wearing its tags is a look-alike.
                    verdict = judge(snapshot, owner, recorded=recorded)
                    if not verdict.verified:
                        self._lookalike(vault, snapshot, verdict, report)
                    continue
                if snapshot.provisioning_state != "Succeeded":
                    verdict = judge(snapshot, owner)
                    if not verdict.may_delete:
                        self._lookalike(vault, snapshot, verdict, report)
                        continue
                    await self._discard_failed(self._compute.for_identity(owner.identity), snapshot, report)
                    continue
                verdict, point = adoptable_point(snapshot, owner)
                if point is None:
                    if verdict.lookalike:
                        self._lookalike(vault, snapshot, verdict, report)
                    else:
                        report.unmatched.append(snapshot.id)
                    continue
                if await self._recover(vault, owner.name, point):
                    known[owner.name.lower()][point.id] = point
                    report.recovered.append(point.id)
        if report.unmatched:
            _log.warning(
                "%d snapshots look like ours but match nothing: %s", len(report.unmatched), report.unmatched
            )
        if report.lookalikes:
            _log.warning(
                "%d look-alike snapshots name an instance but are not its recovery points: %s",
                len(report.lookalikes),
                report.lookalikes,
            )

    def _lookalike(
        self, vault: VaultRef, snapshot: SnapshotInfo, verdict: CustodyVerdict, report: ReconcileReport
    ) -> None:
        report.lookalikes.append(snapshot.id)
        self._telemetry.lookalike_snapshot(vault.id, "reconcile", snapshot.id, verdict)

    async def _discard_failed(
        self, compute: ArmGateway, snapshot: SnapshotInfo, report: ReconcileReport
    ) -> None:
        """Our snapshot whose create ended Failed: no backup, but billed and counted against the 500."""
        created = snapshot.time_created or self._clock.now()
        if self._clock.now() - created < FAILED_SNAPSHOT_GRACE:
            return  # its create may still be retried by a redelivered message
        await compute.delete_snapshot(ComputeResourceId.snapshot(snapshot.id))
        report.discarded.append(snapshot.id)

    async def _recover(self, vault: VaultRef, name: str, point: RecoveryPoint) -> bool:
        async def write(current: Versioned[BackupInstance]) -> bool:
            updated = current.value.after_recovered_point(point)
            try:
                await self._store.recover_point(current, updated, point)
            except ConcurrencyError:  # before ConflictError, which it specialises
                raise
            except ConflictError:
                return False
            _log.info("recovered recovery point %s of %s from its snapshot tags", point.id, name)
            return True

        async def no() -> bool:
            return False

        return await write_with_retry(
            write, lambda: self._store.get_instance(vault, name), gone=no, exhausted=no
        )
