"""A backup instance: one disk, one policy, one snapshot resource group, and its health.

Besides what the API shows, an instance keeps the few facts each backup needs so that a
backup reads one row and nothing else: when each retention tag was last earned, when its
recent snapshots were taken (the platform allows 7 per disk per 5 minutes), and how many
recovery points are live (500 per disk, 50 of them on-demand).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from backup.domain.arm import DiskInfo
from backup.domain.limits import PLATFORM_SNAPSHOTS_PER_DISK, SNAPSHOT_BURST_LIMIT, SNAPSHOT_BURST_WINDOW
from backup.domain.models import BackupInstanceHealth, ProtectionState, RecoveryPoint, RetentionTag
from backup.errors import NotFoundError

RESUMABLE_STATES = frozenset({ProtectionState.PROTECTION_STOPPED, ProtectionState.BACKUP_SCHEDULES_SUSPENDED})
STOPPABLE_STATES = frozenset(
    {
        ProtectionState.PROTECTION_CONFIGURED,
        ProtectionState.PROTECTION_ERROR,
        ProtectionState.PROTECTION_STOPPED,
        ProtectionState.BACKUP_SCHEDULES_SUSPENDED,
        ProtectionState.RETENTION_SCHEDULES_SUSPENDED,
        ProtectionState.UPDATING_PROTECTION,
    }
)
"""States from which protection may be stopped or backups suspended."""


DISK_FACTS_REFRESH_PERIOD = timedelta(hours=24)
"""How old the disk facts an instance keeps may grow before a backup reads the disk again
(one GET). A deleted or changed disk shows up sooner, in the snapshot PUT's own answer."""


class TransitionRefused(Exception):
    """The instance's state does not allow the change asked for."""

    def __init__(self, state: ProtectionState, target: ProtectionState) -> None:
        super().__init__(f"{state.value} cannot become {target.value}")
        self.state = state
        self.target = target


@dataclass(frozen=True)
class VaultRef:
    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DataProtection/backupVaults/{self.name}"
        )


@dataclass(frozen=True)
class BackupInstance:
    vault: VaultRef
    name: str
    disk_id: str
    disk_location: str
    policy_name: str
    policy_document: Mapping[str, Any]
    snapshot_resource_group_id: str
    protection_state: ProtectionState
    health: BackupInstanceHealth = field(default_factory=BackupInstanceHealth)
    last_tagged_at: Mapping[RetentionTag, datetime] = field(default_factory=dict)
    recent_snapshot_times: tuple[datetime, ...] = ()
    live_recovery_points: int = 0
    live_on_demand_points: int = 0
    recent_on_demand_requests: tuple[datetime, ...] = ()
    datasource_missing_since: datetime | None = None
    last_attempted_slot: datetime | None = None
    """The newest scheduled slot that ended, as a recovery point, a failed job or a skip."""
    document: Mapping[str, Any] = field(default_factory=dict)
    """The instance's ``properties`` as the client sent them, returned unchanged by the API."""
    deleted_at: datetime | None = None
    """When "stop protection and delete data" soft-deleted the instance (``SoftDeleted``)."""
    purge_at: datetime | None = None
    """When a soft-deleted instance's snapshots and rows are removed for good."""
    identity: str | None = None
    """The vault's own user-assigned identity (ARM resource id) that ARM calls for this
    instance are made as; ``None`` means the app's identity."""
    disk_facts: DiskInfo | None = None
    """What a snapshot PUT and its tags need of the disk (id, location, SKU, size, zone, tier,
    encryption set, unique id, tags), as last read: a backup does not GET the disk."""
    disk_facts_refreshed_at: datetime | None = None
    snapshot_reservations: Mapping[str, datetime] = field(default_factory=dict)
    """Snapshot creations reserved against the disk's 7-per-5-minutes rule before their PUT,
    by recovery point id (a duplicate message finds its reservation and takes no second one);
    a recorded point turns its reservation into one of ``recent_snapshot_times``."""
    stored_index: tuple[str, ...] | None = field(default=None, compare=False)
    """Storage bookkeeping, not part of the instance: the instance-index rows its stored row has
    (``None`` while the row predates the index), so the next write knows which to replace."""

    @property
    def id(self) -> str:
        return f"{self.vault.id}/backupInstances/{self.name}"

    def snapshot_burst_room(self, now: datetime) -> bool:
        taken = (*self.recent_snapshot_times, *self.snapshot_reservations.values())
        recent = [moment for moment in taken if now - moment < SNAPSHOT_BURST_WINDOW]
        return len(recent) < SNAPSHOT_BURST_LIMIT

    def holds_reservation(self, point_id: str) -> bool:
        return point_id in self.snapshot_reservations

    def with_snapshot_reserved(self, point_id: str, now: datetime) -> BackupInstance:
        """The instance with one snapshot creation held against the per-disk rate (written
        before the PUT, so concurrent backups of the disk, on-demand ones included, see it)."""
        if point_id in self.snapshot_reservations:
            return self
        kept = {
            held: at for held, at in self.snapshot_reservations.items() if now - at < SNAPSHOT_BURST_WINDOW
        }
        kept[point_id] = now
        return replace(self, snapshot_reservations=kept)

    def disk_facts_stale(self, now: datetime, period: timedelta = DISK_FACTS_REFRESH_PERIOD) -> bool:
        return (
            self.disk_facts is None
            or self.disk_facts_refreshed_at is None
            or now - self.disk_facts_refreshed_at >= period
        )

    def with_disk_facts(self, disk: DiskInfo, at: datetime) -> BackupInstance:
        return replace(self, disk_facts=disk, disk_facts_refreshed_at=at)

    def snapshot_quota_room(self) -> bool:
        return self.live_recovery_points < PLATFORM_SNAPSHOTS_PER_DISK

    def after_snapshot(
        self,
        at: datetime,
        *,
        earned: frozenset[RetentionTag],
        on_demand: bool,
        slot: datetime | None = None,
        tagged_at: datetime | None = None,
        point_id: str | None = None,
    ) -> BackupInstance:
        """The instance after a recovery point taken at ``at``.

        ``tagged_at`` is the time its retention tags were judged by (the slot of a scheduled
        backup, the request time of an on-demand one); it defaults to ``at``. Keeping that
        time, not the snapshot's, makes the next backup judge "first of the day" the same way.
        """
        tagged = dict(self.last_tagged_at)
        judged_at = tagged_at or at
        for tag in earned:
            if tag not in tagged or judged_at > tagged[tag]:
                tagged[tag] = judged_at
        recent = tuple(sorted((*self.recent_snapshot_times, at))[-SNAPSHOT_BURST_LIMIT:])
        reservations = {
            held: moment for held, moment in self.snapshot_reservations.items() if held != point_id
        }
        return replace(
            self,
            snapshot_reservations=reservations,
            health=replace(self.health.after_success(at), oldest_point_at=self._oldest_with(at)),
            last_tagged_at=tagged,
            recent_snapshot_times=recent,
            live_recovery_points=self.live_recovery_points + 1,
            live_on_demand_points=self.live_on_demand_points + (1 if on_demand else 0),
            datasource_missing_since=None,
            last_attempted_slot=self._attempted(slot),
            protection_state=(
                ProtectionState.PROTECTION_CONFIGURED
                if self.protection_state is ProtectionState.PROTECTION_ERROR
                else self.protection_state
            ),
        )

    def after_recovered_point(self, point: RecoveryPoint) -> BackupInstance:
        """A recovery point rebuilt from its snapshot's tags (reconciliation)."""
        recovered = self.after_snapshot(
            point.created_at,
            earned=point.earned_tags,
            on_demand=point.is_on_demand,
            slot=point.slot,
            tagged_at=point.slot or point.created_at,
        )
        # Reconciliation restores what was lost; it says nothing new about current health.
        return replace(
            recovered,
            health=replace(recovered.health, consecutive_failures=self.health.consecutive_failures),
            protection_state=self.protection_state,
            recent_snapshot_times=self.recent_snapshot_times,
        )

    def after_deletions(
        self, deleted: int, on_demand: int, *, oldest_remaining: datetime | None = None
    ) -> BackupInstance:
        """The counts after ``deleted`` points went; ``oldest_remaining`` is when the oldest live
        point left was taken (the caller read them; ``None`` when none is left)."""
        live = max(0, self.live_recovery_points - deleted)
        return replace(
            self,
            health=replace(self.health, oldest_point_at=oldest_remaining if live else None),
            live_recovery_points=live,
            live_on_demand_points=max(0, self.live_on_demand_points - on_demand),
        )

    def _oldest_with(self, at: datetime) -> datetime | None:
        """The oldest live point's time once a point taken at ``at`` joins them. Unknown (``None``)
        stays unknown while older points may exist (a row from before the column): the vault's
        index backfill sets it from the live points, or retention when it next deletes some."""
        oldest = self.health.oldest_point_at
        if self.live_recovery_points == 0:
            return at
        return None if oldest is None else min(oldest, at)

    def after_failure(self, code: str, message: str, slot: datetime | None = None) -> BackupInstance:
        """A failed backup; a protected instance shows ProtectionError until the next success."""
        return replace(
            self,
            health=self.health.after_failure(code, message),
            last_attempted_slot=self._attempted(slot),
            protection_state=(
                ProtectionState.PROTECTION_ERROR
                if self.protection_state is ProtectionState.PROTECTION_CONFIGURED
                else self.protection_state
            ),
        )

    @property
    def is_soft_deleted(self) -> bool:
        return self.protection_state is ProtectionState.SOFT_DELETED

    def with_protection_state(self, state: ProtectionState) -> BackupInstance:
        return replace(self, protection_state=state)

    def soft_deleted(self, at: datetime, purge_at: datetime) -> BackupInstance:
        """Stop protection and delete data: hidden from the API, kept until ``purge_at``."""
        if purge_at < at:
            raise ValueError("a soft-deleted instance cannot be purged before it was deleted")
        return replace(self, protection_state=ProtectionState.SOFT_DELETED, deleted_at=at, purge_at=purge_at)

    def with_transition(
        self, target: ProtectionState, *, resume_at_slot: datetime | None = None
    ) -> BackupInstance:
        """The instance after stop (``ProtectionStopped``), suspend (``BackupSchedulesSuspended``)
        or resume (``ProtectionConfigured``); itself when already there. A resume skips the slot
        that is due now (``resume_at_slot``), so it does not start with a catch-up backup.

        Raises :class:`TransitionRefused` when the current state does not allow the change.
        """
        state = self.protection_state
        if state is ProtectionState.SOFT_DELETED:
            raise TransitionRefused(state, target)
        if target is ProtectionState.PROTECTION_CONFIGURED:
            if state.takes_scheduled_backups:
                return self  # already protected: nothing to resume
            if state not in RESUMABLE_STATES:
                raise TransitionRefused(state, target)
            resumed = self.with_protection_state(target)
            return resumed.after_skip(resume_at_slot) if resume_at_slot is not None else resumed
        if state is target:
            return self
        if state not in STOPPABLE_STATES:
            raise TransitionRefused(state, target)
        return self.with_protection_state(target)

    def undeleted(self) -> BackupInstance:
        """Back from soft delete as Azure brings it back: protection stopped, data retained."""
        return replace(
            self, protection_state=ProtectionState.PROTECTION_STOPPED, deleted_at=None, purge_at=None
        )

    def after_skip(self, slot: datetime) -> BackupInstance:
        return replace(self, last_attempted_slot=self._attempted(slot))

    def _attempted(self, slot: datetime | None) -> datetime | None:
        if slot is None:
            return self.last_attempted_slot
        if self.last_attempted_slot is None:
            return slot
        return max(slot, self.last_attempted_slot)


def vault_of_document(document: Mapping[str, Any]) -> VaultRef | None:
    """The vault a stored vault document's ``id`` names, as spelled there; ``None`` if it names none."""
    parts = str(document.get("id", "")).split("/")
    if len(parts) != 9:
        return None
    return VaultRef(parts[2], parts[4], parts[8])


def instance_key(vault_id: str, instance: str) -> str:
    """The identity hashed into recovery point, snapshot and job ids of one instance."""
    return f"{vault_id}/backupInstances/{instance}".lower()


def instance_not_found(vault: VaultRef, name: str) -> NotFoundError:
    return NotFoundError(
        f"The backup instance '{name}' was not found in vault '{vault.name}'.",
        code="ResourceNotFound",
        target="backupInstanceName",
    )
