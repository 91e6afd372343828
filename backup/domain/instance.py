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

from backup.domain.limits import PLATFORM_SNAPSHOTS_PER_DISK
from backup.domain.models import BackupInstanceHealth, ProtectionState, RetentionTag

SNAPSHOT_BURST_LIMIT = 7
"""Incremental snapshots the platform allows per disk in :data:`SNAPSHOT_BURST_WINDOW`."""
SNAPSHOT_BURST_WINDOW = timedelta(minutes=5)


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
    document: Mapping[str, Any] = field(default_factory=dict)
    """The instance's ``properties`` as the client sent them, returned unchanged by the API."""

    @property
    def id(self) -> str:
        return f"{self.vault.id}/backupInstances/{self.name}"

    def snapshot_burst_room(self, now: datetime) -> bool:
        recent = [moment for moment in self.recent_snapshot_times if now - moment < SNAPSHOT_BURST_WINDOW]
        return len(recent) < SNAPSHOT_BURST_LIMIT

    def snapshot_quota_room(self) -> bool:
        return self.live_recovery_points < PLATFORM_SNAPSHOTS_PER_DISK

    def after_snapshot(
        self,
        at: datetime,
        *,
        earned: frozenset[RetentionTag],
        on_demand: bool,
    ) -> BackupInstance:
        tagged = dict(self.last_tagged_at)
        for tag in earned:
            if tag not in tagged or at > tagged[tag]:
                tagged[tag] = at
        recent = tuple(sorted((*self.recent_snapshot_times, at))[-SNAPSHOT_BURST_LIMIT:])
        return replace(
            self,
            health=self.health.after_success(at),
            last_tagged_at=tagged,
            recent_snapshot_times=recent,
            live_recovery_points=self.live_recovery_points + 1,
            live_on_demand_points=self.live_on_demand_points + (1 if on_demand else 0),
            datasource_missing_since=None,
        )

    def after_failure(self, code: str, message: str) -> BackupInstance:
        return replace(self, health=self.health.after_failure(code, message))
