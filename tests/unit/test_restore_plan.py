"""The restore plan, pure: the new disk's tags under ARM's 50-tag cap, and the rolling restore rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup.domain.arm import SnapshotInfo
from backup.domain.limits import MAX_DISK_TAGS, MAX_RESTORES_PER_DAY, RESTORE_RATE_WINDOW
from backup.domain.restore import (
    TAG_RESTORE_JOB,
    TAG_RESTORED_RECOVERY_POINT,
    check_restore_rate,
    disk_settings,
    recent_restores,
)
from backup.domain.snapshots import SnapshotTags, SourceDisk
from backup.errors import LimitExceededError
from backup.shapes.restore import DiskOverrides

POINT = "a3d02fc3ab8a4c3a8cc26688c26d3356"
NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
SOURCE = SnapshotTags(
    vault_id="/v", instance="bi", policy="p", recovery_point_id=POINT, slot=None, retention_tag="Default",
    earned_tags=("Default",), expires_at=NOW + timedelta(days=7),
    source=SourceDisk(id="/d", location="westus", sku="Premium_LRS", size_gb=64, zone="1"),
)  # fmt: skip
SNAPSHOT = SnapshotInfo(
    id="/s", name="s", location="westus", tags={}, incremental=True, provisioning_state="Succeeded",
    time_created=NOW, completion_percent=100.0, source_resource_id="/d", source_unique_id="u",
)  # fmt: skip


def numbered(prefix: str, count: int) -> dict[str, str]:
    return {f"{prefix}{index:02d}": str(index) for index in range(count)}


def test_the_source_disks_tags_come_first_then_the_requests_then_the_restores_own() -> None:
    inherited = {"app": "payroll", "team": "finance", TAG_RESTORED_RECOVERY_POINT: "stale"}
    settings = disk_settings(SOURCE, SNAPSHOT, DiskOverrides(tags={"team": "db"}), inherited)
    assert settings.tags == {"app": "payroll", "team": "db", TAG_RESTORED_RECOVERY_POINT: POINT}

    for_job = settings.for_job("job-1")
    assert for_job.tags == {**settings.tags, TAG_RESTORE_JOB: "job-1"}
    assert TAG_RESTORE_JOB not in settings.tags  # the plan itself is unchanged
    assert (for_job.sku, for_job.zone, for_job.location) == (settings.sku, settings.zone, settings.location)


def test_inherited_tags_beyond_the_cap_are_dropped_in_name_order() -> None:
    inherited = numbered("inherited-", 60)
    requested = numbered("asked-", 3)
    settings = disk_settings(SOURCE, SNAPSHOT, DiskOverrides(tags=requested), inherited)
    kept = {name for name in settings.tags if name.startswith("inherited-")}
    room = MAX_DISK_TAGS - 2 - len(requested)
    assert kept == {f"inherited-{index:02d}" for index in range(room)}
    assert requested.items() <= settings.tags.items()
    assert len(settings.for_job("job-1").tags) == MAX_DISK_TAGS


def test_a_request_that_fills_the_cap_leaves_no_room_for_inherited_tags() -> None:
    requested = numbered("asked-", MAX_DISK_TAGS - 2)
    settings = disk_settings(SOURCE, SNAPSHOT, DiskOverrides(tags=requested), numbered("inherited-", 5))
    assert not any(name.startswith("inherited-") for name in settings.tags)
    assert len(settings.for_job("job-1").tags) == MAX_DISK_TAGS


def test_the_rate_window_is_a_rolling_24_hours_ending_now() -> None:
    edge = NOW - RESTORE_RATE_WINDOW
    times = [NOW, edge, edge + timedelta(seconds=1), NOW + timedelta(seconds=1), NOW - timedelta(hours=3)]
    # Exactly 24 hours ago has left the window; a time after now (a skewed writer) does not count yet.
    assert recent_restores(times, NOW) == (edge + timedelta(seconds=1), NOW - timedelta(hours=3), NOW)


def test_the_refusal_names_when_the_oldest_counted_restore_leaves_the_window() -> None:
    recent = tuple(NOW - timedelta(hours=20) + timedelta(minutes=index) for index in range(11))
    check_restore_rate(recent[: MAX_RESTORES_PER_DAY - 1], "bi")
    with pytest.raises(LimitExceededError) as refused:
        check_restore_rate(recent, "bi")
    assert refused.value.code == "RestoreDailyLimitReached"
    # Eleven counted: the tenth newest (the second oldest) decides when one more fits.
    assert "had 11 restores" in refused.value.message
    assert "after 2026-11-26T08:01:00Z" in refused.value.message
