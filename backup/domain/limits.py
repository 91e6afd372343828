"""Every quota and limit the domain enforces, in one place.

Where Microsoft's documents disagree we pick one reading and say why here, so a later change
is one edit with its reasoning next to it.

Snapshot budget per disk
    The platform allows 500 incremental snapshots per disk at any moment (not over the disk's
    lifetime). Azure Backup's own docs name three different caps for what a policy may keep:
    420 (2026 support matrix, once), 450 (2026 matrix, portal guide, FAQ, and the overview's
    "450 snapshots with 50 kept aside for on-demand backups") and 480 (2023 matrix). We follow
    the overview because it is the only version that explains the split: **450 for scheduled
    backups, 50 for on-demand backups, 500 in total**. Neither side can eat into the other, so a
    burst of on-demand backups never stops the schedule, and a long policy never blocks an
    on-demand backup.

    A policy's scheduled count is retention ÷ interval for the Default rule, plus the points
    that only the Daily and Weekly rules keep alive beyond it, as Azure counts it: its worked
    example, "a 12-hour schedule allows at most 225 days" (450 points), is accepted. The newest
    point, which is always kept, is not counted again: it outlives its retention only when
    backups have stopped, and then it is the only one. Between a point's expiry and its
    deletion a disk can briefly hold one more, which the 50 on-demand snapshots' share of the
    platform's 500 absorbs unless all 50 are live at that moment.

Retention
    At most one year ("1 year or 450 disk snapshots, whichever reaches first"). The overview's
    "450 days for Daily" contradicts that and is ignored. A calendar year is measured at its
    longest, 366 days, so ``P1Y``, ``P12M``, ``P52W`` and ``P366D`` are all accepted.

Frequencies
    The portal and the 2026 support matrix allow every 1, 2, 4, 6, 8 or 12 hours, or daily;
    the CLI allows only 4, 6, 8, 12 hours. We accept the portal's wider set. Premium SSD v2
    and Ultra disks allow only every 12 hours or daily, checked when a disk is bound to a policy.

On-demand and restore rates
    Azure allows 10 on-demand backups per instance per day, and 10 restores. We count a rolling
    24 hours rather than a calendar day so that midnight cannot double the allowance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

PLATFORM_SNAPSHOTS_PER_DISK: Final = 500
MAX_LIVE_ON_DEMAND_RECOVERY_POINTS: Final = 50
MAX_SCHEDULED_RECOVERY_POINTS: Final = PLATFORM_SNAPSHOTS_PER_DISK - MAX_LIVE_ON_DEMAND_RECOVERY_POINTS
MAX_ON_DEMAND_BACKUPS_PER_DAY: Final = 10
ON_DEMAND_RATE_WINDOW: Final = timedelta(hours=24)

MAX_RETENTION: Final = timedelta(days=366)

STANDARD_BACKUP_INTERVALS: Final = (
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=6),
    timedelta(hours=8),
    timedelta(hours=12),
    timedelta(days=1),
)
RESTRICTED_DISK_SKUS: Final = frozenset({"premiumv2_lrs", "ultrassd_lrs"})
"""Lower-cased, because ARM compares SKU names case-insensitively."""
RESTRICTED_SKU_BACKUP_INTERVALS: Final = (timedelta(hours=12), timedelta(days=1))

MAX_RESTORES_PER_DAY: Final = 10
RESTORE_RATE_WINDOW: Final = timedelta(hours=24)
RESTORE_LEASE: Final = timedelta(hours=12)
"""How long retention leaves a point alone for a restore that never reports back (a crash)."""
MAX_RESOURCE_TAGS: Final = 50
"""Tags ARM allows on one resource (a vault's, a disk's)."""
MAX_DISK_TAGS: Final = MAX_RESOURCE_TAGS
"""A restored disk gets two tags of its own besides the caller's, within the resource limit."""

CLAIM_LEASE: Final = timedelta(minutes=10)
"""A datasource claim younger than this may be a protection still being created; older, it is stale."""

BACKUP_START_WINDOW: Final = timedelta(hours=2)
"""Azure starts a scheduled backup up to 2 hours after its slot; later than that, the slot is missed."""

EARLIEST_SCHEDULE_START: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_SCHEDULE_START: Final = datetime(3000, 1, 1, tzinfo=UTC)
"""Policy starts outside these are refused: no real schedule needs them, and slot and expiry
arithmetic must stay far from the ends of ``datetime``'s range."""

MAX_DEQUEUE_COUNT = 5
"""host.json ``extensions.queues.maxDequeueCount`` (a test keeps the two equal)."""
MAX_TAG_NAME: Final = 512
MAX_TAG_VALUE: Final = 256
"""ARM's longest tag name and value."""
MAX_SOFT_DELETE_DAYS: Final = 180
DEFAULT_SOFT_DELETE_DAYS: Final = 14
"""A vault's soft-delete retention: Azure's default and maximum, in days."""

SNAPSHOT_BURST_LIMIT: Final = 7
"""Incremental snapshots the platform allows per disk in ``SNAPSHOT_BURST_WINDOW``."""
SNAPSHOT_BURST_WINDOW: Final = timedelta(minutes=5)

RECOVERY_POINTS_PER_TABLE_TRANSACTION: Final = 11
"""Deleting a point costs eight operations in one entity-group transaction (its live row out, its
audit row in, its expiry row out, its audit-index row in, its job and the job's three index rows),
plus up to five for the instance row and its index rows: 11 points (93 operations) stay under
Table Storage's 100."""

DELETED_RECOVERY_POINT_AUDIT: Final = timedelta(days=30)
"""How long a deleted recovery point stays readable (``include_deleted``) after it expired: long
enough for reconciliation to recognise a snapshot whose deletion it still sees, short enough
that history never grows with the instance's age."""

MAX_REQUEST_BODY_BYTES: Final = 256 * 1024
"""Largest API request body accepted; a disk backup policy is a few KiB."""

ARM_READS_CAPACITY: Final = 250
ARM_READS_REFILL_PER_SECOND: Final = 25.0
ARM_WRITES_CAPACITY: Final = 200
ARM_WRITES_REFILL_PER_SECOND: Final = 10.0
ARM_DELETES_CAPACITY: Final = 200
ARM_DELETES_REFILL_PER_SECOND: Final = 10.0
"""ARM's default token buckets per (subscription, security principal) and category, metered
since 2024: a full bucket of this many requests, refilled at this rate. The pacer starts at
these and adapts to what ARM reports (another client of the same principal spends them too)."""
