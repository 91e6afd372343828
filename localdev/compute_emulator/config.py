"""Tunables of the emulator, settable at start and at run time through ``PUT /_admin/config``.

Defaults are Azure's own numbers, so ``make run`` behaves like the cloud; tests shrink the
waits (Retry-After 0, short LROs) and the limits (small page size, tiny buckets) to stay fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class BucketConfig:
    """One ARM token bucket: ``capacity`` tokens, refilled at ``refillPerSecond``."""

    capacity: int
    refillPerSecond: float


@dataclass
class ThrottleConfig:
    """ARM's token buckets per (subscription, principal) (reads 250/25 s⁻¹, writes and deletes
    200/10 s⁻¹), and the subscription's global bucket of ``globalLimitMultiplier`` (15) times
    those shared by every principal."""

    enabled: bool = True
    reads: BucketConfig = field(default_factory=lambda: BucketConfig(250, 25.0))
    writes: BucketConfig = field(default_factory=lambda: BucketConfig(200, 10.0))
    deletes: BucketConfig = field(default_factory=lambda: BucketConfig(200, 10.0))
    minRetryAfterSeconds: int = 1
    globalLimitMultiplier: int = 15


@dataclass
class EmulatorConfig:
    """All run-time settings. Attribute names are the JSON names of the admin API, so a
    ``GET`` of the config can be edited and ``PUT`` back unchanged."""

    # DiskRP answers the first 202 with Retry-After 2 and status polls with 10.
    retryAfterAcceptedSeconds: int = 2
    retryAfterPollSeconds: int = 10
    pageSize: int = 3
    # Seconds on the emulator clock an LRO runs; 0 completes it on the first later request.
    lroDurationSeconds: float = 0.0
    # Status polls (either monitor URL) an LRO answers InProgress before it may finish, counting
    # only polls made once the 202's Retry-After has passed. 1 gives a client that honours
    # Retry-After exactly: 202, InProgress, Succeeded, whatever its timing. 0: time alone decides.
    lroMinInProgressPolls: int = 0
    # Background copy of PremiumV2/Ultra incremental snapshots and of every CopyStart snapshot.
    backgroundCopySeconds: float = 60.0
    maxIncrementalSnapshotsPerDisk: int = 500
    incrementalSnapshotRateCount: int = 7
    incrementalSnapshotRateWindowSeconds: float = 300.0
    maxPendingBackgroundCopiesPerDisk: int = 3
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, patch: dict[str, Any]) -> None:
        """Merge a partial JSON document; unknown keys are refused so typos don't pass silently."""
        _merge(self, patch, "")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EmulatorConfig:
        config = cls()
        if data:
            config.update(data)
        return config


def _merge(target: Any, patch: dict[str, Any], prefix: str) -> None:
    if not isinstance(patch, dict):
        raise ValueError(f"config{prefix or ''} must be a JSON object")
    known = {f.name: f for f in fields(target)}
    for key, value in patch.items():
        if key not in known:
            raise ValueError(f"unknown config key '{prefix}{key}'")
        current = getattr(target, key)
        if isinstance(current, (ThrottleConfig, BucketConfig)):
            _merge(current, value, f"{prefix}{key}.")
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise ValueError(f"config '{prefix}{key}' must be a boolean")
            setattr(target, key, value)
        elif isinstance(current, int):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"config '{prefix}{key}' must be a non-negative number")
            setattr(target, key, int(value))
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"config '{prefix}{key}' must be a non-negative number")
            setattr(target, key, float(value))
