"""ARM's request budget, as the app spends it: one token bucket per (subscription, principal)
and operation category, shared by every process of the app.

This module holds the pure types and arithmetic (no I/O); the shared ledger that every
process reserves from lives behind :class:`backup.ports.ArmBudget`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """ARM's three throttled operation types (``x-ms-ratelimit-remaining-subscription-{value}``)."""

    READS = "reads"
    WRITES = "writes"
    DELETES = "deletes"


@dataclass(frozen=True)
class BudgetScope:
    """Whose bucket a request spends: ARM throttles per subscription and security principal.

    ``identity`` is the user-assigned identity's resource id the call is made as, ``None`` for
    the app's own identity (the two are different principals with different buckets)."""

    subscription_id: str
    identity: str | None = None
