"""What a vault's security settings mean, which changes to them Azure forbids, which weaken the
vault (critical operations under multi-user authorization), when a policy shortens retention, and
who may approve a request on a resource guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.domain.guards import GuardApproval, GuardRef, active_approval, refused_grant
from backup.domain.vault_security import (
    CriticalOperation,
    Immutability,
    SoftDelete,
    VaultSecurity,
    refused_change,
    retention_shortened,
    weakening_operations,
)
from backup.shapes.policy import parse_backup_policy
from tests.policy_documents import disk_policy

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def document(soft: Any = "On", days: Any = 14, lock: Any = "Disabled") -> dict[str, Any]:
    return {
        "properties": {
            "securitySettings": {
                "softDeleteSettings": {"state": soft, "retentionDurationInDays": days},
                "immutabilitySettings": {"state": lock},
            }
        }
    }


def security(
    soft: SoftDelete = SoftDelete.ON, days: int = 14, lock: Immutability = Immutability.DISABLED
) -> VaultSecurity:
    return VaultSecurity(soft, days if soft is not SoftDelete.OFF else 0, lock)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (document(), security()),
        (document("alwayson", 30, "locked"), security(SoftDelete.ALWAYS_ON, 30, Immutability.LOCKED)),
        (document("Enabled", 20), security(SoftDelete.ON, 20)),
        (document("Off", 0, "Unlocked"), security(SoftDelete.OFF, 0, Immutability.UNLOCKED)),
        ({"location": "eastus"}, security()),
        (None, security()),
    ],
)
def test_settings_read_from_the_stored_document(stored: Any, expected: VaultSecurity) -> None:
    assert VaultSecurity.from_document(stored) == expected


def test_the_soft_delete_period() -> None:
    assert security(days=30).soft_delete_period == timedelta(days=30)
    assert security(SoftDelete.OFF).soft_delete_period == timedelta(0)


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [
        (security(lock=Immutability.LOCKED), security(lock=Immutability.UNLOCKED), "Locked"),
        (security(lock=Immutability.LOCKED), security(lock=Immutability.DISABLED), "Locked"),
        (security(SoftDelete.ALWAYS_ON), security(SoftDelete.ON), "AlwaysOn"),
        (security(SoftDelete.ALWAYS_ON), security(SoftDelete.OFF), "AlwaysOn"),
        (
            security(lock=Immutability.UNLOCKED),
            security(SoftDelete.OFF, lock=Immutability.UNLOCKED),
            "turned off",
        ),
        (security(), security(SoftDelete.OFF, lock=Immutability.UNLOCKED), "turned off"),
        (
            security(days=30, lock=Immutability.UNLOCKED),
            security(days=14, lock=Immutability.UNLOCKED),
            "shortened",
        ),
        (security(lock=Immutability.UNLOCKED), security(lock=Immutability.DISABLED), None),
        (security(lock=Immutability.UNLOCKED), security(lock=Immutability.LOCKED), None),
        (security(), security(SoftDelete.ALWAYS_ON), None),
        (security(), security(SoftDelete.OFF), None),
        (security(SoftDelete.OFF), security(SoftDelete.OFF, lock=Immutability.LOCKED), None),
        (security(days=14, lock=Immutability.LOCKED), security(days=30, lock=Immutability.LOCKED), None),
    ],
)
def test_changes_azure_forbids(before: VaultSecurity, after: VaultSecurity, refused: str | None) -> None:
    reason = refused_change(before, after)
    assert (reason is None) is (refused is None)
    if refused is not None:
        assert reason is not None
        assert refused in reason


def test_changes_that_weaken_a_vault_are_critical_operations() -> None:
    assert weakening_operations(security(), security(SoftDelete.OFF)) == [
        CriticalOperation.DISABLE_SOFT_DELETE
    ]
    assert weakening_operations(security(days=30), security(days=14)) == [
        CriticalOperation.DISABLE_SOFT_DELETE
    ]
    assert weakening_operations(security(lock=Immutability.UNLOCKED), security()) == [
        CriticalOperation.DISABLE_IMMUTABILITY
    ]
    assert weakening_operations(security(), security(SoftDelete.ALWAYS_ON, 30, Immutability.LOCKED)) == []


def policy(default: str) -> Any:
    return parse_backup_policy(disk_policy(NOW, "PT4H", default, None))


def test_shorter_retention_of_any_tag_is_a_shortening() -> None:
    assert retention_shortened(policy(default="P30D"), policy(default="P7D")) is not None
    assert (
        retention_shortened(policy(default="P30D"), policy(default="P1M")) is not None
    )  # months vs days: part by part
    assert retention_shortened(policy(default="P7D"), policy(default="P30D")) is None
    assert retention_shortened(policy(default="P7D"), policy(default="P7D")) is None


GUARD = GuardRef("11111111-0000-4000-8000-000000000001", "rg-sec", "guard")


def test_a_guard_id_parses_back() -> None:
    assert GuardRef.parse(GUARD.id) == GUARD
    assert GuardRef.parse(GUARD.id.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")) is not None
    assert GuardRef.parse(GUARD.id + "/extra") is None
    assert (
        GuardRef.parse("/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v")
        is None
    )


def test_who_may_approve() -> None:
    hour = timedelta(hours=1)
    assert refused_grant(["admin"], "Admin", "operator", hour) is None
    outsider = refused_grant(["admin"], "operator", "operator2", hour)
    assert outsider is not None
    assert outsider.forbidden
    selfish = refused_grant(["admin"], "admin", "ADMIN", hour)
    assert selfish is not None
    assert selfish.forbidden
    for duration in (timedelta(0), timedelta(hours=24, seconds=1)):
        too_long = refused_grant(["admin"], "admin", "operator", duration)
        assert too_long is not None
        assert not too_long.forbidden


def test_an_approval_is_active_for_its_principal_within_its_time() -> None:
    approval = GuardApproval("operator", "admin", NOW, NOW + timedelta(hours=1))
    assert active_approval([approval], "OPERATOR", NOW) == approval
    assert active_approval([approval], "operator", NOW + timedelta(hours=1)) is None
    assert active_approval([approval], "operator", NOW - timedelta(seconds=1)) is None
    assert active_approval([approval], "admin", NOW) is None
    self_granted = GuardApproval("admin", "admin", NOW, NOW + timedelta(hours=1))
    assert active_approval([self_granted], "admin", NOW) is None
