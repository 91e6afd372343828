"""Deleting the snapshot behind a recovery point, and only if it is ours.

Retention and the purge of soft-deleted instances both end a recovery point's life; both go
through :func:`delete_point_snapshot`, so the rule "delete only a snapshot whose tags name
this very recovery point of this instance" lives in one place, and so does the job that
records the deletion.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from backup.domain.instance import BackupInstance
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, RecoveryPoint
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.snapshots import SnapshotTags
from backup.ports import ArmGateway

_log = logging.getLogger(__name__)


class SnapshotFate(StrEnum):
    DELETED = "Deleted"
    ALREADY_GONE = "AlreadyGone"
    NOT_OURS = "NotOurs"
    """Its tags do not name this recovery point of this instance: left alone, reported."""


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
    compute: ArmGateway, instance: BackupInstance, point: RecoveryPoint
) -> tuple[SnapshotFate, str]:
    """Delete the snapshot behind ``point`` if it still exists and its tags say it is that point."""
    snapshot_id = ComputeResourceId.snapshot(point.snapshot_id)
    snapshot = await compute.get_snapshot(snapshot_id)
    if snapshot is None:
        return SnapshotFate.ALREADY_GONE, point.snapshot_id
    tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
    if (
        tags is None
        or tags.recovery_point_id != point.id
        or tags.instance.casefold() != instance.name.casefold()
    ):
        _log.error("not deleting %s: its tags do not identify it as recovery point %s", snapshot.id, point.id)
        return SnapshotFate.NOT_OURS, snapshot.id
    await compute.delete_snapshot(snapshot_id)
    return SnapshotFate.DELETED, snapshot.id
