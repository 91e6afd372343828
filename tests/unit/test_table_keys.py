from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup.adapters.tables import keys
from backup.domain.snapshots import recovery_point_id
from backup.errors import ValidationError

SUB = "00000000-0000-0000-0000-0000000000AA"
RP = "f" * 32


def test_vault_partition_is_lower_case_and_separated() -> None:
    assert keys.vault_partition(SUB, "RG-Prod", "Vault1") == f"{SUB.lower()}:rg-prod:vault1"
    assert keys.vault_registry_key(SUB, "RG-Prod", "Vault1") == (SUB.lower(), "rg-prod:vault1")


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "a#b", "a?b", "a|b", "a:b", "", "a\x00b", "x" * 151])
def test_names_that_would_break_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        keys.instance_key(bad)


def test_kind_ranges_bound_exactly_their_rows() -> None:
    lower, upper = keys.kind_range(keys.RECOVERY_POINT, "disk-a")
    inside = keys.recovery_point_key("disk-a", RP)
    other_instance = keys.recovery_point_key("disk-a-b", RP)
    assert lower <= inside < upper
    assert not (lower <= other_instance < upper)
    assert not (lower <= keys.instance_key("disk-a") < upper)


def test_instance_range_holds_instance_and_plan_rows_but_nothing_else() -> None:
    lower, upper = keys.kind_range(keys.INSTANCE)
    for row in (keys.instance_key("d"), keys.plan_key("d")):
        assert lower <= row < upper
    for row in (
        keys.policy_key("d"),
        keys.recovery_point_key("d", RP),
        keys.job_key("0" * 8 + "-0000-0000-0000-" + "0" * 12),
    ):
        assert not (lower <= row < upper)


def test_expiry_range_stops_at_now() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    lower, upper = keys.expired_before(now)
    expired = keys.expiry_key(now - timedelta(microseconds=1), "d", RP)
    exactly_now = keys.expiry_key(now, "d", RP)
    later = keys.expiry_key(now + timedelta(microseconds=1), "d", RP)
    assert lower <= expired < upper
    assert lower <= exactly_now < upper
    assert not (lower <= later < upper)


def test_key_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        keys.compact_time(datetime(2026, 1, 1))


@pytest.mark.parametrize("bad", ["F" * 32, "f" * 31, "g" * 32])
def test_recovery_point_ids_are_checked(bad: str) -> None:
    with pytest.raises(ValidationError):
        keys.recovery_point_key("d", bad)


def test_deleted_points_and_their_audit_index_lie_outside_every_live_range() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    deleted = keys.deleted_recovery_point_key("d", RP)
    audit = keys.audit_expiry_key(now, "d", RP)
    marker = keys.history_layout_key()
    for live in (
        keys.kind_range(keys.RECOVERY_POINT),
        keys.kind_range(keys.EXPIRY),
        keys.expired_before(now),
    ):
        for row in (deleted, audit, marker):
            assert not (live[0] <= row < live[1]), row
    lower, upper = keys.kind_range(keys.DELETED_RECOVERY_POINT, "d")
    assert lower <= deleted < upper
    assert not (lower <= keys.deleted_recovery_point_key("d-b", RP) < upper)


def test_audit_index_range_stops_at_the_cutoff() -> None:
    cutoff = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    lower, upper = keys.audit_expired_before(cutoff)
    assert lower <= keys.audit_expiry_key(cutoff, "d", RP) < upper
    assert not (lower <= keys.audit_expiry_key(cutoff + timedelta(microseconds=1), "d", RP) < upper)
    assert not (lower <= keys.expiry_key(cutoff - timedelta(days=1), "d", RP) < upper)
    with pytest.raises(ValidationError):
        keys.deleted_recovery_point_key("d", "F" * 32)


def test_a_recovery_point_time_window_is_exactly_the_ids_stamped_in_it() -> None:
    start = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    stamps = [
        start + timedelta(milliseconds=offset) for offset in (-1, 0, 1, 3_599_999, 3_600_000, 3_600_001)
    ]
    ids = {stamp: recovery_point_id("vault/disk-a", stamp) for stamp in stamps}
    lower, upper = keys.recovery_points_range(
        "disk-a", stamped_from=start, stamped_to=start + timedelta(hours=1)
    )
    inside = [stamp for stamp in stamps if lower <= keys.recovery_point_key("disk-a", ids[stamp]) < upper]
    assert inside == stamps[1:5]
    assert keys.recovery_points_range("disk-a") == keys.kind_range(keys.RECOVERY_POINT, "disk-a")


def test_a_recovery_points_range_starts_strictly_after_the_last_id_served() -> None:
    served = "7" * 32
    lower, upper = keys.recovery_points_range("disk-a", after_id=served)
    assert not lower <= keys.recovery_point_key("disk-a", served) < upper
    assert lower <= keys.recovery_point_key("disk-a", "7" * 31 + "8") < upper
    backwards = keys.recovery_points_range(
        "disk-a", stamped_from=datetime(2026, 1, 2, tzinfo=UTC), stamped_to=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert backwards[0] >= backwards[1]  # an empty window is an empty range


def test_times_beyond_what_an_id_can_carry_clamp_to_the_ends_of_the_range() -> None:
    far_past, far_future = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    oldest, newest = "f" * 32, recovery_point_id("vault/disk-a", far_future)
    ordinary = recovery_point_id("vault/disk-a", datetime(2026, 11, 26, tzinfo=UTC))
    for window in (
        {"stamped_from": far_past, "stamped_to": far_future},
        {"stamped_from": far_past},
        {"stamped_to": far_future},
    ):
        lower, upper = keys.recovery_points_range("disk-a", **window)
        assert all(lower <= keys.recovery_point_key("disk-a", i) < upper for i in (oldest, newest, ordinary))
    lower, upper = keys.recovery_points_range("disk-a", stamped_from=epoch, stamped_to=epoch)
    assert lower <= keys.recovery_point_key("disk-a", oldest) < upper
    assert not lower <= keys.recovery_point_key("disk-a", ordinary) < upper
