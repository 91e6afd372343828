"""Value types the services and the vault store share: what the store hands back and takes.

They carry no storage detail beyond the ETag a row was read at (:class:`Versioned`), which
the services hand back on every write another writer could reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from backup.domain.instance import VaultRef
from backup.domain.models import RecoveryPoint
from backup.domain.slots import SkipSpan

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    value: T
    etag: str


@dataclass(frozen=True)
class PlanState:
    """What the planner keeps per instance: a copy of the schedule, what it last planned, and
    whether that slot's message was sent (an outbox: a planned slot whose message was not sent
    is sent again on the next tick, however long that is)."""

    instance: str
    policy_document: Mapping[str, Any]
    active: bool
    last_planned_slot: datetime | None = None
    planned_at: datetime | None = None
    planned_by: str | None = None
    """The planner run that claimed ``last_planned_slot`` (two runs can share one clock time)."""
    sent_slot: datetime | None = None
    """The newest slot whose message was sent; ``last_planned_slot`` is unsent until they match."""
    sent_at: datetime | None = None
    """When ``sent_slot``'s message was last sent (a safety re-send waits from here)."""
    skips: tuple[SkipSpan, ...] = ()
    """Slots skipped by design (suspended, stopped, datasource missing), so none looks lost."""

    @property
    def unsent(self) -> bool:
        """Whether ``last_planned_slot`` was planned but its message not (yet) sent."""
        return self.last_planned_slot is not None and self.sent_slot != self.last_planned_slot


@dataclass(frozen=True)
class ExpiryEntry:
    """An expiry-index row: a copy of the live recovery point, so retention reads nothing else."""

    point: RecoveryPoint
    row_key: str

    @property
    def instance(self) -> str:
        return self.point.instance

    @property
    def recovery_point_id(self) -> str:
        return self.point.id

    @property
    def expires_at(self) -> datetime:
        return self.point.expires_at


@dataclass(frozen=True)
class DatasourceClaim:
    """Which backup instance protects a disk (a disk is protected by one instance in one vault)."""

    disk_id: str
    vault: VaultRef
    instance: str
    claimed_at: datetime

    def names(self, vault: VaultRef, instance: str) -> bool:
        return self.vault.id.lower() == vault.id.lower() and self.instance.lower() == instance.lower()
