"""ARM's default request budget and the fastest time in which it lets N backups through.

ARM meters each (subscription, principal) with token buckets: reads 250 tokens refilled at
25/s, writes and deletes 200 refilled at 10/s. A backup needs at least one write (the
snapshot PUT) and two reads (the operation polls at realistic LRO timing). Starting from full
buckets, the first ``capacity`` requests are free and the rest arrive at the refill rate, so
the floor for N backups is the larger over reads and writes of
``(requests needed - capacity) / refill``; with another client spending part of the budget,
only the remaining share of the refill counts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    capacity: int
    refill_per_second: float


ARM_READS = Bucket(250, 25.0)
ARM_WRITES = Bucket(200, 10.0)
WRITES_PER_BACKUP = 1
READS_PER_BACKUP = 2


def throttle_bound_seconds(backups: int, *, share: float = 1.0) -> float:
    """Seconds ARM needs at least to admit ``backups`` backups in one subscription, when the
    app may use ``share`` of each bucket's refill (the rest is another client's)."""
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    needs = ((ARM_WRITES, backups * WRITES_PER_BACKUP), (ARM_READS, backups * READS_PER_BACKUP))
    return max(
        max(0.0, needed - bucket.capacity) / (bucket.refill_per_second * share) for bucket, needed in needs
    )
