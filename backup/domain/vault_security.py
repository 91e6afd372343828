"""What a vault's ``securitySettings`` mean for the data it holds, and which changes to them are refused.

Azure's model (Backup vaults): soft delete ``Off`` / ``On`` / ``AlwaysOn`` with a retention of
14-180 days (``AlwaysOn`` cannot be turned back), and immutability ``Disabled`` / ``Unlocked`` /
``Locked`` (``Locked`` cannot be undone). While a vault is immutable (``Unlocked`` or ``Locked``)
no recovery point is deleted before its expiry, retention cannot be shortened and soft delete
cannot be turned off. Which snapshot may be deleted is decided in one place,
:mod:`backup.domain.custody`; this module reads the vault's settings and judges changes to them.

Read from the stored vault document (``properties.securitySettings``), which the vault shape
fills in on every write. A document without them (written before they were stored) reads as
Azure's default for a new vault: soft delete ``On`` for 14 days, immutability ``Disabled``.

It also derives the vault's ``secureScore`` and ``bcdrSecurityLevel``. Azure documents the levels
(``None``/``Minimum``/``Adequate``/``Maximum``; ``Poor``/``Fair``/``Good``/``Excellent``) and what
raises them: soft delete, immutability, and Multi-User Authorization (a Resource Guard). It does
not publish the exact rule, so the one here is this app's reading (README, "Azure behaviours not
documented"): Maximum needs immutability locked, soft delete always on and a Resource Guard;
Adequate, soft delete and immutability both enabled; Minimum, either one; None, neither. The BCDR
level follows the score one step for one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

from backup.domain.limits import DEFAULT_SOFT_DELETE_DAYS
from backup.domain.policy import BackupPolicy


class SoftDelete(StrEnum):
    OFF = "Off"
    ON = "On"
    ALWAYS_ON = "AlwaysOn"


class Immutability(StrEnum):
    DISABLED = "Disabled"
    UNLOCKED = "Unlocked"
    LOCKED = "Locked"


_SOFT_DELETE_SPELLINGS = {state.value.casefold(): state for state in SoftDelete} | {
    # Azure's own PutBackupVault example sends "Enabled"; it means On.
    "enabled": SoftDelete.ON,
    "disabled": SoftDelete.OFF,
}
_IMMUTABILITY_SPELLINGS = {state.value.casefold(): state for state in Immutability}


@dataclass(frozen=True)
class VaultSecurity:
    soft_delete: SoftDelete = SoftDelete.ON
    soft_delete_days: int = DEFAULT_SOFT_DELETE_DAYS
    immutability: Immutability = Immutability.DISABLED

    @property
    def immutable(self) -> bool:
        return self.immutability is not Immutability.DISABLED

    @property
    def soft_delete_period(self) -> timedelta:
        """How long a deleted instance stays recoverable; zero when soft delete is off (purged at
        the next retention run, as far as immutability allows)."""
        if self.soft_delete is SoftDelete.OFF:
            return timedelta(0)
        return timedelta(days=self.soft_delete_days)

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> VaultSecurity:
        properties = (document or {}).get("properties")
        settings = properties.get("securitySettings") if isinstance(properties, Mapping) else None
        if not isinstance(settings, Mapping):
            return cls()
        soft = settings.get("softDeleteSettings")
        soft = soft if isinstance(soft, Mapping) else {}
        state = _SOFT_DELETE_SPELLINGS.get(str(soft.get("state") or "On").casefold(), SoftDelete.ON)
        days = soft.get("retentionDurationInDays")
        whole_days = int(days) if isinstance(days, int | float) and days > 0 else DEFAULT_SOFT_DELETE_DAYS
        immutability = settings.get("immutabilitySettings")
        immutability = immutability if isinstance(immutability, Mapping) else {}
        lock = _IMMUTABILITY_SPELLINGS.get(
            str(immutability.get("state") or "Disabled").casefold(), Immutability.DISABLED
        )
        return cls(state, whole_days if state is not SoftDelete.OFF else 0, lock)


class CriticalOperation(StrEnum):
    """Operations multi-user authorization guards, named as Azure's ``vaultCriticalOperation``
    (the instance update that shortens retention is this app's name: Azure documents none for
    Backup vaults)."""

    DELETE_BACKUP_INSTANCE = "Microsoft.DataProtection/backupVaults/backupInstances/delete"
    DISABLE_SOFT_DELETE = "Microsoft.DataProtection/backupVaults/write#reduceSoftDeleteSecurity"
    DISABLE_IMMUTABILITY = "Microsoft.DataProtection/backupVaults/write#reduceImmutabilityState"
    MODIFY_PROTECTION = "Microsoft.DataProtection/backupVaults/backupInstances/write#reduceRetention"
    DELETE_GUARD_PROXY = "Microsoft.DataProtection/backupVaults/backupResourceGuardProxies/delete"


ALWAYS_GUARDED: frozenset[CriticalOperation] = frozenset(
    {CriticalOperation.DISABLE_SOFT_DELETE, CriticalOperation.DELETE_GUARD_PROXY}
)
"""What a guard can never exclude (Azure refuses such an exclusion list): the operations that
would disarm the guard itself."""

CRITICAL_OPERATION_REQUESTS: Mapping[CriticalOperation, str] = {
    CriticalOperation.DELETE_BACKUP_INSTANCE: "deleteBackupInstanceRequests",
    CriticalOperation.DISABLE_SOFT_DELETE: "disableSoftDeleteRequests",
    CriticalOperation.DISABLE_IMMUTABILITY: "disableSoftDeleteRequests",
    CriticalOperation.MODIFY_PROTECTION: "updateProtectedItemRequests",
    CriticalOperation.DELETE_GUARD_PROXY: "deleteResourceGuardProxyRequests",
}
"""The guard's request type (``{guard}/{requestType}/default``) that approves each operation."""


def refused_change(before: VaultSecurity, after: VaultSecurity) -> str | None:
    """Why a vault may not go from ``before`` to ``after`` (one sentence), or ``None``."""
    if before.immutability is Immutability.LOCKED and after.immutability is not Immutability.LOCKED:
        return (
            "Immutability is Locked on this vault and cannot be changed: a locked vault stays "
            "immutable for good."
        )
    if before.soft_delete is SoftDelete.ALWAYS_ON and after.soft_delete is not SoftDelete.ALWAYS_ON:
        return "Soft delete is AlwaysOn on this vault and cannot be changed back to On or Off."
    if (before.immutable or after.immutable) and before.soft_delete is not SoftDelete.OFF:
        if after.soft_delete is SoftDelete.OFF:
            return "Soft delete cannot be turned off while the vault is immutable (Unlocked or Locked)."
        if after.soft_delete_days < before.soft_delete_days:
            return (
                "The soft-delete retention cannot be shortened while the vault is immutable "
                f"({before.soft_delete_days} days now, {after.soft_delete_days} asked)."
            )
    return None


def weakening_operations(before: VaultSecurity, after: VaultSecurity) -> list[CriticalOperation]:
    """The critical operations a change of settings is (what a resource guard must approve)."""
    operations = []
    if before.soft_delete is not SoftDelete.OFF and (
        after.soft_delete is SoftDelete.OFF or after.soft_delete_days < before.soft_delete_days
    ):
        operations.append(CriticalOperation.DISABLE_SOFT_DELETE)
    if before.immutable and not after.immutable:
        operations.append(CriticalOperation.DISABLE_IMMUTABILITY)
    return operations


def retention_shortened(before: BackupPolicy, after: BackupPolicy) -> str | None:
    """How ``after`` keeps some kind of recovery point for less time than ``before`` did, or ``None``.

    Per retention tag: a tag ``after`` drops, or a duration with fewer months or a shorter exact
    part (durations with months are compared part by part, never resolved against a date)."""
    for tag in before.tags:
        old = before.retention_for(tag)
        if tag not in after.tags:
            return (
                f"the new policy keeps no {tag.value} recovery points; the current one keeps them {old.text}"
            )
        new = after.retention_for(tag)
        if new.months < old.months or new.exact < old.exact:
            return f"{tag.value} recovery points would be kept {new.text} instead of {old.text}"
    return None


SECURE_SCORES: Final = ("None", "Minimum", "Adequate", "Maximum")
BCDR_SECURITY_LEVELS: Final = ("Poor", "Fair", "Good", "Excellent")

_SOFT_DELETE_ENABLED: Final = frozenset({"on", "alwayson", "enabled"})
_IMMUTABILITY_ENABLED: Final = frozenset({"unlocked", "locked"})


def secure_score(
    soft_delete_state: str | None, immutability_state: str | None, *, resource_guard: bool
) -> str:
    soft = (soft_delete_state or "").casefold()
    immutability = (immutability_state or "").casefold()
    soft_on = soft in _SOFT_DELETE_ENABLED
    immutable = immutability in _IMMUTABILITY_ENABLED
    if resource_guard and soft == "alwayson" and immutability == "locked":
        return "Maximum"
    if soft_on and immutable:
        return "Adequate"
    if soft_on or immutable:
        return "Minimum"
    return "None"


def bcdr_security_level(score: str) -> str:
    return BCDR_SECURITY_LEVELS[SECURE_SCORES.index(score)]
