"""The value types the fakes and their tests share with the product, imported in ONE place.

Store records live in ``backup.domain.records`` and ARM values in ``backup.domain.arm``;
``translate`` is the real adapter's error mapping. If any of them moves,
only these imports change.
"""

from __future__ import annotations

from backup.adapters.compute import translate
from backup.adapters.tables.codecs import encode_instance
from backup.domain.arm import DiskInfo, Permissions, SnapshotInfo
from backup.domain.records import DatasourceClaim, ExpiryEntry, PlanState, Versioned

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
