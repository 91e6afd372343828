"""The value types the fakes and their tests share with the product, imported in ONE place.

They are moving (store records to ``backup.domain.records``, ARM values to
``backup.domain.arm``; ``translate`` is the real adapter's error mapping); when they do,
only these imports change.
"""

from __future__ import annotations

from backup.adapters.compute import DiskInfo, Permissions, SnapshotInfo, translate
from backup.adapters.vault_store import DatasourceClaim, ExpiryEntry, PlanState, Versioned, encode_instance

__all__ = [
    "DatasourceClaim",
    "DiskInfo",
    "ExpiryEntry",
    "Permissions",
    "PlanState",
    "SnapshotInfo",
    "Versioned",
    "encode_instance",
    "translate",
]
