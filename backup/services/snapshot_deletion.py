"""Deleting the snapshot behind a recovery point, and only if custody verifies it.

Retention and the purge of soft-deleted instances both end a recovery point's life; both go
through :func:`delete_point_snapshot`, which reads the snapshot again and asks
:func:`backup.domain.custody.judge` whether it is this very recovery point of this instance
(its tags, its real source disk, its id) and whether the vault's terms hold it (an immutable
vault keeps a point until its expiry): a snapshot that fails is left alone and reported as a
look-alike, one that is held is left alone until its hold ends. The job that records the
deletion lives here too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from backup.domain.custody import DeletionTerms, immutability_hold, judge
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, RecoveryPoint
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.vault_security import VaultSecurity
from backup.ports import ArmGateway, VaultStore
from backup.telemetry import Telemetry

_log = logging.getLogger(__name__)


class SnapshotFate(StrEnum):
    DELETED = "Deleted"
    ALREADY_GONE = "AlreadyGone"
    NOT_OURS = "NotOurs"
    """Custody did not verify it as this recovery point of this instance: left alone, reported."""
    HELD = "Held"
    """Verified, but the vault holds it (immutable until its expiry): left alone for now."""


async def deletion_terms(store: VaultStore, vault: VaultRef, now: datetime) -> DeletionTerms:
    """The vault's deletion terms now, from its stored settings (a vault gone holds nothing)."""
    stored = await store.get_vault(vault)
    security = VaultSecurity.from_document(stored.value if stored is not None else None)
    return DeletionTerms(now=now, immutable=security.immutable)


def deletion_job(
    instance: BackupInstance, point: RecoveryPoint, *, started: datetime, id_time: datetime, why: str
) -> Job:
    """The RetentionDeletion job of one point; ``id_time`` and ``why`` make its id stable."""
    return Job.for_instance(
        instance,
        id=job_id(id_time, instance.vault.id, instance.name, why, point.id),
        operation=JobOperation.RETENTION_DELETION,
        start_time=started,
        recovery_point_id=point.id,
    )


async def delete_point_snapshot(
    compute: ArmGateway,
    instance: BackupInstance,
    point: RecoveryPoint,
    *,
    terms: DeletionTerms,
    telemetry: Telemetry | None = None,
    path: str = "retention",
) -> tuple[SnapshotFate, str]:
    """Delete the snapshot behind ``point`` if it still exists and custody verifies it is that point.

    A snapshot that fails verification is reported (``telemetry``, under ``path``) and kept.
    """
    if immutability_hold(point.expires_at, terms) is not None:
        # Custody would hold it whatever the snapshot says (the recorded expiry decides): no ARM
        # read for each held point on every purge run.
        return SnapshotFate.HELD, point.snapshot_id
    snapshot_id = ComputeResourceId.snapshot(point.snapshot_id)
    snapshot = await compute.get_snapshot(snapshot_id)
    if snapshot is None:
        return SnapshotFate.ALREADY_GONE, point.snapshot_id
    verdict = judge(snapshot, instance, recorded=point, terms=terms)
    if verdict.verified and verdict.holds:
        _log.info("keeping %s behind recovery point %s: %s", snapshot.id, point.id, "; ".join(verdict.holds))
        return SnapshotFate.HELD, snapshot.id
    if not verdict.may_delete:
        _log.error(
            "not deleting %s behind recovery point %s of %s: %s",
            snapshot.id,
            point.id,
            instance.name,
            verdict.detail,
        )
        if telemetry is not None:
            telemetry.lookalike_snapshot(instance.vault.id, path, snapshot.id, verdict)
        return SnapshotFate.NOT_OURS, snapshot.id
    await compute.delete_snapshot(snapshot_id)
    return SnapshotFate.DELETED, snapshot.id
