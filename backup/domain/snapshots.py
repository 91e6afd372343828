"""How a recovery point maps onto an Azure snapshot: its id, its name and its tags.

Names and ids are *derived*, never random: the same (instance, slot) always gives the same
recovery point id and the same snapshot name, so a retried or duplicated backup re-PUTs the
same snapshot (an idempotent update in ARM) instead of creating a second one.

Tags make every snapshot self-describing. With only the snapshots and their tags, the
recovery points can be rebuilt (reconciliation) and a restore can recreate the source disk
faithfully (SKU, zone, performance tier, encryption set).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from backup.domain.clock import MAX_INVERTED_MILLIS, epoch_millis, from_epoch_millis

MAX_SNAPSHOT_NAME = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

TAG_PREFIX = "adb-"
TAG_MANAGED_BY = "adb-managed-by"
MANAGED_BY_VALUE = "azure-disk-backup"
TAG_SCHEMA = "adb-schema"
SCHEMA_VERSION = "1"
TAG_VAULT = "adb-vault"
TAG_INSTANCE = "adb-instance"
TAG_POLICY = "adb-policy"
TAG_RECOVERY_POINT = "adb-recovery-point"
TAG_SLOT = "adb-slot"
TAG_RETENTION_TAG = "adb-retention-tag"
# Every tag the point earned (its expiry is the longest of them), so a point rebuilt from
# tags alone keeps exactly the retention it was owed.
TAG_EARNED_TAGS = "adb-earned-tags"
TAG_EXPIRES = "adb-expires"
TAG_SOURCE_DISK = "adb-source-disk"
TAG_SOURCE_SKU = "adb-source-sku"
TAG_SOURCE_ZONE = "adb-source-zone"
TAG_SOURCE_TIER = "adb-source-tier"
TAG_SOURCE_DES = "adb-source-des"
TAG_SOURCE_SIZE_GB = "adb-source-size-gb"
ON_DEMAND_SLOT = "on-demand"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("snapshot times must be timezone-aware")
    return moment.astimezone(UTC)


def recovery_point_id(instance_key: str, moment: datetime, discriminator: str = "scheduled") -> str:
    """A 32-hex id that sorts newest first and is the same every time for the same backup.

    The first 12 hex digits are the inverted milliseconds since the epoch, so ascending key
    order is newest first; the other 20 are a hash of the instance, the time and what kind
    of backup it is (``scheduled`` or an on-demand job id).
    """
    millis = epoch_millis(_utc(moment))
    inverted = format(MAX_INVERTED_MILLIS - millis, "012x")
    digest = hashlib.sha256(f"{instance_key}|{_utc(moment).isoformat()}|{discriminator}".encode()).hexdigest()
    return inverted + digest[:20]


def recovery_point_time(recovery_point: str) -> datetime:
    """The time encoded in a recovery point id (the slot, or the on-demand request time)."""
    return from_epoch_millis(MAX_INVERTED_MILLIS - int(recovery_point[:12], 16))


def snapshot_name(instance_name: str, recovery_point: str) -> str:
    """``adb-{instance}-{recovery point id}``, within Azure's 80 characters and allowed set."""
    budget = MAX_SNAPSHOT_NAME - len("adb--") - len(recovery_point)
    readable = _NAME_UNSAFE.sub("-", instance_name)[:budget]
    return f"adb-{readable}-{recovery_point}"


@dataclass(frozen=True)
class SourceDisk:
    """What a restore needs to recreate the disk as it was at backup time."""

    id: str
    location: str
    sku: str
    size_gb: int
    zone: str | None = None
    tier: str | None = None
    disk_encryption_set_id: str | None = None


@dataclass(frozen=True)
class SnapshotTags:
    vault_id: str
    instance: str
    policy: str
    recovery_point_id: str
    slot: datetime | None
    retention_tag: str
    earned_tags: tuple[str, ...]
    expires_at: datetime
    source: SourceDisk

    def to_tags(self) -> dict[str, str]:
        tags = {
            TAG_MANAGED_BY: MANAGED_BY_VALUE,
            TAG_SCHEMA: SCHEMA_VERSION,
            TAG_VAULT: self.vault_id,
            TAG_INSTANCE: self.instance,
            TAG_POLICY: self.policy,
            TAG_RECOVERY_POINT: self.recovery_point_id,
            TAG_SLOT: _utc(self.slot).isoformat() if self.slot else ON_DEMAND_SLOT,
            TAG_RETENTION_TAG: self.retention_tag,
            TAG_EARNED_TAGS: ",".join(self.earned_tags),
            TAG_EXPIRES: _utc(self.expires_at).isoformat(),
            TAG_SOURCE_DISK: self.source.id,
            TAG_SOURCE_SKU: self.source.sku,
            TAG_SOURCE_SIZE_GB: str(self.source.size_gb),
        }
        optional = {
            TAG_SOURCE_ZONE: self.source.zone,
            TAG_SOURCE_TIER: self.source.tier,
            TAG_SOURCE_DES: self.source.disk_encryption_set_id,
        }
        tags.update({key: value for key, value in optional.items() if value})
        return tags

    @classmethod
    def from_tags(cls, tags: Mapping[str, str] | None, location: str) -> SnapshotTags | None:
        """The tags of one of our snapshots, or ``None`` when the snapshot is not ours or is malformed.

        ``location`` is the snapshot's region, which is the source disk's region (incremental
        snapshots stay in the disk's region).
        """
        tags = tags or {}
        if tags.get(TAG_MANAGED_BY) != MANAGED_BY_VALUE:
            return None
        try:
            slot_text = tags[TAG_SLOT]
            slot = None if slot_text == ON_DEMAND_SLOT else _utc(datetime.fromisoformat(slot_text))
            return cls(
                vault_id=tags[TAG_VAULT],
                instance=tags[TAG_INSTANCE],
                policy=tags[TAG_POLICY],
                recovery_point_id=tags[TAG_RECOVERY_POINT],
                slot=slot,
                retention_tag=tags[TAG_RETENTION_TAG],
                earned_tags=tuple(tag for tag in tags[TAG_EARNED_TAGS].split(",") if tag),
                expires_at=_utc(datetime.fromisoformat(tags[TAG_EXPIRES])),
                source=SourceDisk(
                    id=tags[TAG_SOURCE_DISK],
                    location=location,
                    sku=tags[TAG_SOURCE_SKU],
                    size_gb=int(tags[TAG_SOURCE_SIZE_GB]),
                    zone=tags.get(TAG_SOURCE_ZONE),
                    tier=tags.get(TAG_SOURCE_TIER),
                    disk_encryption_set_id=tags.get(TAG_SOURCE_DES),
                ),
            )
        except (KeyError, ValueError):
            return None


def is_ours(tags: Mapping[str, str] | None) -> bool:
    """Whether a snapshot claims to be ours; retention still checks it matches a recovery point."""
    return tags is not None and tags.get(TAG_MANAGED_BY) == MANAGED_BY_VALUE
