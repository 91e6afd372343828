from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from backup.domain.snapshots import (
    MAX_SNAPSHOT_NAME,
    SnapshotTags,
    SourceDisk,
    is_ours,
    recovery_point_id,
    recovery_point_time,
    snapshot_name,
)

SLOT = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
AZURE_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")


def test_recovery_point_id_is_deterministic_and_distinct_per_slot_and_instance() -> None:
    first = recovery_point_id("vault|disk-a", SLOT)
    assert first == recovery_point_id("vault|disk-a", SLOT)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != recovery_point_id("vault|disk-b", SLOT)
    assert first != recovery_point_id("vault|disk-a", SLOT + timedelta(hours=4))
    assert first != recovery_point_id("vault|disk-a", SLOT, discriminator="job-1")
    assert recovery_point_time(first) == SLOT


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
# A float round trip once made these two milliseconds share one id prefix.
@example(datetime(2038, 1, 19, 3, 34, 0, 1000, tzinfo=UTC))
def test_recovery_point_ids_sort_newest_first(moment: datetime) -> None:
    later = moment + timedelta(milliseconds=1)
    assert recovery_point_id("i", later) < recovery_point_id("i", moment)
    assert recovery_point_time(recovery_point_id("i", moment)) == moment.replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_.()", min_size=1, max_size=150))
def test_snapshot_names_always_fit_azure_rules(instance: str) -> None:
    name = snapshot_name(instance, recovery_point_id(instance, SLOT))
    assert len(name) <= MAX_SNAPSHOT_NAME
    assert AZURE_SNAPSHOT_NAME.fullmatch(name)


def _tags(**overrides: object) -> SnapshotTags:
    values: dict[str, object] = {
        "vault_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v",
        "instance": "disk-a-instance",
        "policy": "every-4h",
        "recovery_point_id": recovery_point_id("i", SLOT),
        "slot": SLOT,
        "retention_tag": "Daily",
        "earned_tags": ("Daily", "Default"),
        "expires_at": SLOT + timedelta(days=30),
        "source": SourceDisk(
            id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
            location="eastus",
            sku="Premium_LRS",
            size_gb=128,
            zone="2",
            tier="P15",
            disk_encryption_set_id=None,
        ),
    }
    values.update(overrides)
    return SnapshotTags(**values)  # type: ignore[arg-type]


def test_tags_round_trip_and_fit_azure_limits() -> None:
    original = _tags()
    tags = original.to_tags()
    assert len(tags) <= 50
    assert all(len(key) <= 512 and len(value) <= 256 for key, value in tags.items())
    assert not any(ch in key for key in tags for ch in "<>%&\\?/")
    assert SnapshotTags.from_tags(tags, location="eastus") == original
    on_demand = _tags(slot=None)
    assert SnapshotTags.from_tags(on_demand.to_tags(), location="eastus") == on_demand


def test_foreign_or_damaged_tags_are_not_ours() -> None:
    assert SnapshotTags.from_tags({"department": "Development"}, "eastus") is None
    assert not is_ours({"department": "Development"})
    assert not is_ours(None)
    damaged = _tags().to_tags()
    damaged["adb-expires"] = "next tuesday"
    assert is_ours(damaged)
    assert SnapshotTags.from_tags(damaged, "eastus") is None
