"""BackupInstance.with_transition: which stop, suspend and resume changes each state allows; and the
oldest live point the instance keeps through backups and deletions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from backup.domain.instance import BackupInstance, TransitionRefused, VaultRef
from backup.domain.models import ProtectionState

SLOT = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
CONFIGURED = ProtectionState.PROTECTION_CONFIGURED
STOPPED = ProtectionState.PROTECTION_STOPPED
SUSPENDED = ProtectionState.BACKUP_SCHEDULES_SUSPENDED


def instance(state: ProtectionState) -> BackupInstance:
    return BackupInstance(
        vault=VaultRef("00000000-0000-0000-0000-0000000000aa", "rg", "vault"),
        name="bi",
        disk_id="/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
        disk_location="westus",
        policy_name="policy",
        policy_document={},
        snapshot_resource_group_id="/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/snaps",
        protection_state=state,
    )


@pytest.mark.parametrize("target", [STOPPED, SUSPENDED])
def test_a_protected_instance_stops_or_suspends(target: ProtectionState) -> None:
    assert instance(CONFIGURED).with_transition(target).protection_state is target


@pytest.mark.parametrize("start", [STOPPED, SUSPENDED])
def test_resuming_skips_the_slot_due_now(start: ProtectionState) -> None:
    resumed = instance(start).with_transition(CONFIGURED, resume_at_slot=SLOT)
    assert resumed.protection_state is CONFIGURED
    assert resumed.last_attempted_slot == SLOT


def test_changes_to_the_state_already_held_change_nothing() -> None:
    configured = instance(CONFIGURED)
    assert configured.with_transition(CONFIGURED, resume_at_slot=SLOT) is configured
    stopped = instance(STOPPED)
    assert stopped.with_transition(STOPPED) is stopped


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ProtectionState.SOFT_DELETED, CONFIGURED),
        (ProtectionState.SOFT_DELETED, STOPPED),
        (ProtectionState.CONFIGURING_PROTECTION_FAILED, CONFIGURED),
        (ProtectionState.CONFIGURING_PROTECTION_FAILED, SUSPENDED),
    ],
)
def test_states_that_refuse_the_change(start: ProtectionState, target: ProtectionState) -> None:
    with pytest.raises(TransitionRefused) as refused:
        instance(start).with_transition(target)
    assert refused.value.state is start


def test_an_instance_keeps_when_its_oldest_live_point_was_taken() -> None:
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    empty = replace(instance(CONFIGURED), live_recovery_points=0)
    one = empty.after_snapshot(second, earned=frozenset(), on_demand=False)
    older = one.after_snapshot(first, earned=frozenset(), on_demand=False)  # e.g. reconciliation
    unknown = replace(empty, live_recovery_points=3)  # a row from before the column
    pruned = older.after_deletions(1, 0, oldest_remaining=second)

    assert one.health.oldest_point_at == second
    assert older.health.oldest_point_at == first
    assert unknown.after_snapshot(second, earned=frozenset(), on_demand=False).health.oldest_point_at is None
    assert pruned.health.oldest_point_at == second
    assert pruned.after_deletions(1, 0, oldest_remaining=None).health.oldest_point_at is None
