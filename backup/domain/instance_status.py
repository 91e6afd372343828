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
    ProtectionState.PROTECTION_ERROR: "ProtectionError",
    ProtectionState.PROTECTION_STOPPED: "ProtectionStopped",
    ProtectionState.BACKUP_SCHEDULES_SUSPENDED: "ProtectionStopped",
    ProtectionState.RETENTION_SCHEDULES_SUSPENDED: "ProtectionConfigured",
    ProtectionState.SOFT_DELETING: "SoftDeleting",
    ProtectionState.SOFT_DELETED: "SoftDeleted",
}


def instance_health(instance: BackupInstance, *, active: bool = True) -> str:
    """``Inactive`` when scheduled backups are off, ``Unhealthy`` after a failed backup, else ``Healthy``."""
    if not (active and instance.protection_state.takes_scheduled_backups):
        return INACTIVE
    if instance.health.consecutive_failures > 0 or instance.protection_state.value == "ProtectionError":
        return UNHEALTHY
    return HEALTHY


def protection_status(state: ProtectionState) -> str:
    """Azure's ``protectionStatus.status`` for a ``currentProtectionState``."""
    return _STATUS.get(state, state.value)


def states_with_status(status: str) -> frozenset[ProtectionState]:
    """Every ``currentProtectionState`` whose status is ``status`` (any case)."""
    return frozenset(
        state for state in ProtectionState if protection_status(state).casefold() == status.casefold()
    )
