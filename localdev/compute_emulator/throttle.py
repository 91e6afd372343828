"""ARM request throttling: per-subscription token buckets, as ARM has metered since 2024.

The product must survive 429s at scale (velero hit them on snapshot APIs), so the emulator
throttles for real rather than only when a fault is injected.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .config import BucketConfig, ThrottleConfig


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now

    def take(self, now: float) -> tuple[bool, float]:
        """Spend one token if there is one; otherwise return the wait until the next token."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True, 0.0
        if self.refill_per_second <= 0:
            return False, math.inf
        return False, (1.0 - self.tokens) / self.refill_per_second

    def remaining(self, now: float) -> int:
        self._refill(now)
        return int(self.tokens)


CATEGORY_BY_METHOD = {"GET": "reads", "HEAD": "reads", "PUT": "writes", "PATCH": "writes", "POST": "writes"}


def category_for(method: str) -> str:
    return CATEGORY_BY_METHOD.get(method.upper(), "deletes" if method.upper() == "DELETE" else "reads")


class SubscriptionThrottler:
    """One bucket per (subscription, reads|writes|deletes)."""

    def __init__(self, config: ThrottleConfig) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def reset(self, config: ThrottleConfig | None = None) -> None:
        if config is not None:
            self.config = config
        self._buckets.clear()

    def _bucket(self, subscription_id: str, category: str, now: float) -> TokenBucket:
        key = (subscription_id.lower(), category)
        bucket = self._buckets.get(key)
        spec: BucketConfig = getattr(self.config, category)
        if (
            bucket is None
            or bucket.capacity != spec.capacity
            or bucket.refill_per_second != spec.refillPerSecond
        ):
            bucket = TokenBucket(float(spec.capacity), float(spec.refillPerSecond), float(spec.capacity), now)
            self._buckets[key] = bucket
        return bucket

    def take(self, subscription_id: str, category: str, now: float) -> tuple[bool, int, int]:
        """Returns (allowed, remaining tokens, Retry-After seconds when refused)."""
        bucket = self._bucket(subscription_id, category, now)
        if not self.config.enabled:
            return True, bucket.remaining(now), 0
        ok, wait = bucket.take(now)
        if ok:
            return True, bucket.remaining(now), 0
        retry_after = 3600 if math.isinf(wait) else math.ceil(wait)
        return False, 0, max(self.config.minRetryAfterSeconds, retry_after)

    def remaining(self, subscription_id: str, category: str, now: float) -> int:
        return self._bucket(subscription_id, category, now).remaining(now)


# Compute's own policies, reported in x-ms-ratelimit-remaining-resource. They are counted over
# sliding windows and only reported, never enforced: the subscription buckets above do that.
COMPUTE_POLICIES: dict[str, tuple[tuple[str, int, float], ...]] = {
    "GetDisk": (("GetDisk3Min", 14999, 180.0), ("GetDisk30Min", 119999, 1800.0)),
    "GetSnapshot": (("GetSnapshot3Min", 14999, 180.0), ("GetSnapshot30Min", 119999, 1800.0)),
    "CreateUpdateDisks": (("CreateUpdateDisks3Min", 999, 180.0), ("CreateUpdateDisks30Min", 7999, 1800.0)),
    "CreateUpdateSnapshots": (
        ("CreateUpdateSnapshots3Min", 999, 180.0),
        ("CreateUpdateSnapshots30Min", 7999, 1800.0),
    ),
    "DeleteDisks": (("DeleteDisks3Min", 999, 180.0), ("DeleteDisks30Min", 7999, 1800.0)),
    "DeleteSnapshots": (("DeleteSnapshots3Min", 999, 180.0), ("DeleteSnapshots30Min", 7999, 1800.0)),
    "GetOperation": (("GetOperation3Min", 49999, 180.0), ("GetOperation30Min", 399999, 1800.0)),
}


class ComputePolicyMeter:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def reset(self) -> None:
        self._hits.clear()

    def record(self, subscription_id: str, family: str, now: float) -> str:
        """Count one request and render the header value, e.g.
        ``Microsoft.Compute/GetDisk3Min;14998,Microsoft.Compute/GetDisk30Min;119998``."""
        parts = []
        for bucket, limit, window in COMPUTE_POLICIES[family]:
            hits = self._hits.setdefault((subscription_id.lower(), bucket), deque())
            hits.append(now)
            while hits and hits[0] <= now - window:
                hits.popleft()
            parts.append(f"Microsoft.Compute/{bucket};{max(0, limit - len(hits))}")
        return ",".join(parts)
