"""What the lists report about an instance at a glance, derived from its row alone: its health
(``Healthy``, ``Unhealthy``, ``Inactive``) and Azure's ``protectionStatus.status``. Pure, so the
API, telemetry and the instance index (``docs/storage.md``) derive them the same way."""

from __future__ import annotations

from typing import Final

from backup.domain.instance import BackupInstance
from backup.domain.models import ProtectionState

HEALTHY: Final = "Healthy"
UNHEALTHY: Final = "Unhealthy"
INACTIVE: Final = "Inactive"
HEALTH_VALUES: Final = (HEALTHY, UNHEALTHY, INACTIVE)

_STATUS: Final = {
    ProtectionState.CONFIGURING_PROTECTION: "ConfiguringProtection",
    ProtectionState.CONFIGURING_PROTECTION_FAILED: "ConfiguringProtectionFailed",
    ProtectionState.PROTECTION_CONFIGURED: "ProtectionConfigured",
    ProtectionState.UPDATING_PROTECTION: "ProtectionConfigured",
    # Azure has no ProtectionError status: a failing instance is still configured, its
    # currentProtectionState says ProtectionError and protectionStatus.errorDetails says why.
    ProtectionState.PROTECTION_ERROR: "ProtectionConfigured",
    ProtectionState.PROTECTION_STOPPED: "ProtectionStopped",
    ProtectionState.BACKUP_SCHEDULES_SUSPENDED: "ProtectionStopped",
    ProtectionState.RETENTION_SCHEDULES_SUSPENDED: "ProtectionConfigured",
    ProtectionState.SOFT_DELETING: "SoftDeleting",
    ProtectionState.SOFT_DELETED: "SoftDeleted",
    # No instance here reaches these two; they still answer one of Azure's six values.
    ProtectionState.INVALID: "ConfiguringProtectionFailed",
    ProtectionState.NOT_PROTECTED: "ProtectionStopped",
}
STATUS_VALUES: Final = tuple(sorted(set(_STATUS.values())))
"""Azure's ``protectionStatus.status`` values, the only ones the API answers."""

_INDEX_BUCKETS: Final = {
    **_STATUS,
    ProtectionState.PROTECTION_ERROR: "ProtectionError",
}
"""The status part of an instance's index row (``n|s|{bucket}|{instance}``). Stored, so fixed:
it groups states as the API's status did when the index was made, ProtectionError apart (no
instance ever reaches Invalid or NotProtected, so no stored row keeps their old keys)."""


def instance_health(instance: BackupInstance, *, active: bool = True) -> str:
    """``Inactive`` when scheduled backups are off, ``Unhealthy`` after a failed backup, else ``Healthy``."""
    if not (active and instance.protection_state.takes_scheduled_backups):
        return INACTIVE
    if instance.health.consecutive_failures > 0 or instance.protection_state.value == "ProtectionError":
        return UNHEALTHY
    return HEALTHY


def protection_status(state: ProtectionState) -> str:
    """Azure's ``protectionStatus.status`` for a ``currentProtectionState``."""
    return _STATUS[state]


def status_bucket(state: ProtectionState) -> str:
    """The instance index's status key for a state (:data:`_INDEX_BUCKETS`)."""
    return _INDEX_BUCKETS[state]


def buckets_with_status(status: str) -> frozenset[str]:
    """The index keys holding every instance whose ``protectionStatus`` is ``status``."""
    return frozenset(status_bucket(state) for state in states_with_status(status))


def states_with_status(status: str) -> frozenset[ProtectionState]:
    """Every ``currentProtectionState`` whose status is ``status`` (any case)."""
    return frozenset(
        state for state in ProtectionState if protection_status(state).casefold() == status.casefold()
    )
