"""What the product reads from Azure Resource Manager: disks, snapshots and permissions.

The ARM gateway (:mod:`backup.adapters.compute`) turns ARM's wire shapes into these.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from backup.domain.models import RecoveryPoint, RetentionTag
from backup.domain.snapshots import SnapshotTags, SourceDisk

# The built-in roles Azure Disk Backup's setup grants, as refusals name them.
DISK_BACKUP_READER = "Disk Backup Reader"
DISK_SNAPSHOT_CONTRIBUTOR = "Disk Snapshot Contributor"
DISK_RESTORE_OPERATOR = "Disk Restore Operator"

DISK_SKUS = (
    "Standard_LRS",
    "StandardSSD_LRS",
    "StandardSSD_ZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "PremiumV2_LRS",
    "UltraSSD_LRS",
)
"""The managed disk SKUs the product protects and restores to, spelled as ARM spells them."""
SUPPORTED_DISK_SKUS = frozenset(sku.casefold() for sku in DISK_SKUS)
"""The same, case-folded: ARM compares SKU names case-insensitively."""


@dataclass(frozen=True)
class ArmPrincipal:
    """Who ARM sees calling: the Entra service principal behind an ARM credential.

    Read from the ``oid``, ``tid`` and ``appid`` claims of the access token the credential gets
    for ARM; role assignments name ``object_id``, so it is what a vault's ``principalId`` shows.
    """

    object_id: str
    tenant_id: str
    client_id: str | None = None
    """The application (client) id, when the token says (``appid`` or ``azp``)."""


@dataclass(frozen=True)
class DiskInfo:
    id: str
    name: str
    location: str
    sku: str
    size_gb: int
    unique_id: str | None
    provisioning_state: str | None
    zone: str | None = None
    tier: str | None = None
    disk_encryption_set_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    source_resource_id: str | None = None
    """``creationData.sourceResourceId``: the snapshot a restored disk was created from."""

    @property
    def source(self) -> SourceDisk:
        return SourceDisk(
            id=self.id,
            location=self.location,
            sku=self.sku,
            size_gb=self.size_gb,
            zone=self.zone,
            tier=self.tier,
            disk_encryption_set_id=self.disk_encryption_set_id,
        )


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    name: str
    location: str
    tags: Mapping[str, str]
    incremental: bool
    provisioning_state: str | None
    time_created: datetime | None
    completion_percent: float | None
    source_resource_id: str | None
    source_unique_id: str | None

    @property
    def ready_for_restore(self) -> bool:
        """Premium SSD v2 and Ultra snapshots are unusable until their background copy finishes."""
        return self.provisioning_state == "Succeeded" and (
            self.completion_percent is None or self.completion_percent >= 100
        )


@dataclass(frozen=True)
class Permissions:
    """What one principal may do at one scope: the union of its role assignments there."""

    entries: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    def allows(self, action: str) -> bool:
        wanted = action.lower()
        return any(
            any(fnmatch.fnmatchcase(wanted, pattern.lower()) for pattern in actions)
            and not any(fnmatch.fnmatchcase(wanted, pattern.lower()) for pattern in not_actions)
            for actions, not_actions in self.entries
        )

    def missing(self, actions: tuple[str, ...]) -> list[str]:
        return [action for action in actions if not self.allows(action)]


def recovery_point_from_snapshot(snapshot: SnapshotInfo) -> RecoveryPoint | None:
    """The recovery point a snapshot's tags describe, or ``None`` if they describe none.

    It trusts the tags: to adopt a snapshot as a recovery point, use
    :func:`backup.domain.custody.adoptable_point`, which verifies the snapshot first.
    """
    tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
    if tags is None:
        return None
    try:
        earned = frozenset(RetentionTag(tag) for tag in tags.earned_tags) or frozenset({RetentionTag.DEFAULT})
        primary = RetentionTag(tags.retention_tag)
    except ValueError:
        return None
    if primary not in earned:
        return None
    return RecoveryPoint(
        id=tags.recovery_point_id,
        instance=tags.instance,
        slot=tags.slot,
        created_at=snapshot.time_created or tags.slot or tags.expires_at,
        retention_tag=primary,
        earned_tags=earned,
        expires_at=tags.expires_at,
        snapshot_id=snapshot.id,
    )


def normalize_location(location: str) -> str:
    """A region name as ARM compares it: ``West US`` and ``westus`` are one region."""
    return location.replace(" ", "").lower()
