"""ARM request throttling: token buckets per (subscription, principal), as ARM has metered since 2024.

ARM's published model (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
each security principal gets its own reads/writes/deletes buckets in each subscription, and "there
is also a global limit per subscription of 15 times the per-principal limit" shared by every
principal. So one noisy client throttles itself first and only drags the others down once the
whole subscription is past 15 principals' worth. The product must survive 429s at scale (velero
hit them on snapshot APIs), so the emulator throttles for real rather than only when a fault is
injected.
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

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if there is one now)."""
        self.refill(now)
        if self.tokens >= 1.0:
            return 0.0
        if self.refill_per_second <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.refill_per_second

    def take(self, now: float) -> tuple[bool, float]:
        """Spend one token if there is one; otherwise return the wait until the next token."""
        wait = self.wait(now)
        if wait > 0:
            return False, wait
        self.tokens -= 1.0
        return True, 0.0

    def remaining(self, now: float) -> int:
        self.refill(now)
        return int(self.tokens)


CATEGORY_BY_METHOD = {"GET": "reads", "HEAD": "reads", "PUT": "writes", "PATCH": "writes", "POST": "writes"}
CATEGORIES = ("reads", "writes", "deletes")


def category_for(method: str) -> str:
    return CATEGORY_BY_METHOD.get(method.upper(), "deletes" if method.upper() == "DELETE" else "reads")


@dataclass(frozen=True)
class Decision:
    """One throttling decision. ``remaining`` is the caller's own bucket, as ARM reports it in
    ``x-ms-ratelimit-remaining-subscription-*``; ``scope`` says which bucket refused."""

    allowed: bool
    remaining: int
    retry_after: int = 0
    scope: str = ""  # "principal" or "subscription" when refused


class PrincipalThrottler:
    """Buckets per (subscription, principal, category) plus one global bucket per
    (subscription, category) of ``globalLimitMultiplier`` times the per-principal capacity and refill.

    A request spends a token from both or from neither, so a refused request never drains the
    other bucket.
    """

    def __init__(self, config: ThrottleConfig) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def reset(self, config: ThrottleConfig | None = None) -> None:
        if config is not None:
            self.config = config
        self._buckets.clear()

    def _bucket(self, subscription_id: str, principal: str | None, category: str, now: float) -> TokenBucket:
        spec: BucketConfig = getattr(self.config, category)
        scale = 1.0 if principal is not None else float(self.config.globalLimitMultiplier)
        capacity, refill = float(spec.capacity) * scale, float(spec.refillPerSecond) * scale
        # The global bucket is keyed by an empty principal, which no token can map to.
        key = (subscription_id.lower(), (principal or "").lower(), category)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.refill_per_second != refill:
            bucket = TokenBucket(capacity, refill, capacity, now)
            self._buckets[key] = bucket
        return bucket

    def take(self, subscription_id: str, principal: str, category: str, now: float) -> Decision:
        own = self._bucket(subscription_id, principal, category, now)
        if not self.config.enabled:
            return Decision(True, own.remaining(now))
        shared = self._bucket(subscription_id, None, category, now)
        own_wait, shared_wait = own.wait(now), shared.wait(now)
        if own_wait > 0 or shared_wait > 0:
            scope = "principal" if own_wait >= shared_wait else "subscription"
            wait = max(own_wait, shared_wait)
            retry_after = 3600 if math.isinf(wait) else math.ceil(wait)
            retry_after = max(self.config.minRetryAfterSeconds, retry_after)
            return Decision(False, own.remaining(now), retry_after, scope)
        own.take(now)
        shared.take(now)
        return Decision(True, own.remaining(now))

    def remaining(self, subscription_id: str, principal: str | None, category: str, now: float) -> int:
        """The principal's own bucket, or the subscription's global one when ``principal`` is None."""
        return self._bucket(subscription_id, principal, category, now).remaining(now)


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
