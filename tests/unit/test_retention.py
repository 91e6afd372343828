"""Retention tags, expiry, on-demand limits and which points may be deleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backup.domain.limits import MAX_LIVE_ON_DEMAND_RECOVERY_POINTS, MAX_ON_DEMAND_BACKUPS_PER_DAY
from backup.domain.models import ProtectionState, RecoveryPoint, RecoveryPointState, RetentionTag
from backup.domain.retention import (
    RetentionLabel,
    check_backup_rule_name,
    check_on_demand_backup_allowed,
    earned_tags,
    earned_tags_after,
    label_on_demand_backup,
    label_scheduled_backup,
    latest_tag_times,
    select_expired,
)
from backup.errors import LimitExceededError, ValidationError
from tests.unit.policy_builders import build_policy, make_point, utc

BERLIN = ZoneInfo("Europe/Berlin")
D, DAILY, WEEKLY = RetentionTag.DEFAULT, RetentionTag.DAILY, RetentionTag.WEEKLY
# Every 6 hours from midnight Berlin time; 1 January 2024 is a Monday.
TAGGED = build_policy(
    interval="R/2024-01-01T00:00:00+01:00/PT6H",
    time_zone="W. Europe Standard Time",
    default="P2D",
    daily="P7D",
    weekly="P4W",
)


def local(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=BERLIN)


def take(policy_points: list[RecoveryPoint], at: datetime) -> RetentionLabel:
    label = label_scheduled_backup(TAGGED, at, at, policy_points)
    policy_points.append(make_point(at, label=label))
    return label


def test_first_backup_of_the_week_earns_every_tag_and_keeps_the_weekly_primary() -> None:
    label = label_scheduled_backup(TAGGED, local(1, 0), local(1, 0), [])

    assert label == RetentionLabel(WEEKLY, frozenset({D, DAILY, WEEKLY}), local(29, 0))


def test_later_backups_of_the_day_earn_only_default_and_next_day_earns_daily() -> None:
    points: list[RecoveryPoint] = []
    take(points, local(1, 0))

    assert take(points, local(1, 6)) == RetentionLabel(D, frozenset({D}), local(3, 6))
    assert take(points, local(1, 18)) == RetentionLabel(D, frozenset({D}), local(3, 18))
    assert take(points, local(2, 0)) == RetentionLabel(DAILY, frozenset({D, DAILY}), local(9, 0))


def test_when_the_first_slot_of_the_day_failed_the_next_success_earns_the_tag() -> None:
    points: list[RecoveryPoint] = []
    take(points, local(1, 0))
    take(points, local(1, 18))
    # 00:00 on Tuesday failed, so there is no point for it; 06:00 is the first success.

    assert take(points, local(2, 6)).earned_tags == frozenset({D, DAILY})
    assert take(points, local(2, 12)).earned_tags == frozenset({D})


def test_when_monday_failed_entirely_tuesday_earns_the_weekly_tag() -> None:
    points: list[RecoveryPoint] = []
    take(points, local(7, 18))  # Sunday: the previous week

    assert take(points, local(9, 0)).earned_tags == frozenset({D, DAILY, WEEKLY})


def test_days_and_weeks_are_local_to_the_policy_time_zone() -> None:
    points: list[RecoveryPoint] = []
    take(points, local(7, 12))  # Sunday 7 January, 11:00 UTC

    # 23:30 UTC on Sunday is already 00:30 on Monday in Berlin: a new day and a new week.
    assert label_scheduled_backup(
        TAGGED, utc(2024, 1, 7, 23), utc(2024, 1, 7, 23, 30), points
    ).earned_tags == {D, DAILY, WEEKLY}
    # 22:30 UTC on Sunday is 23:30 Sunday in Berlin: same day, same week.
    assert label_scheduled_backup(
        TAGGED, utc(2024, 1, 7, 17), utc(2024, 1, 7, 22, 30), points
    ).earned_tags == {D}


def test_weeks_start_on_monday() -> None:
    points: list[RecoveryPoint] = []
    take(points, local(1, 0))  # Monday

    assert take(points, local(7, 0)).earned_tags == frozenset({D, DAILY})  # Sunday: same week
    assert take(points, local(8, 0)).earned_tags == frozenset({D, DAILY, WEEKLY})  # Monday: new week


def test_only_earlier_points_count() -> None:
    later = make_point(
        local(1, 12), label=RetentionLabel(WEEKLY, frozenset({D, DAILY, WEEKLY}), local(29, 12))
    )

    assert earned_tags(TAGGED, local(1, 6), [later]) == frozenset({D, DAILY, WEEKLY})


def test_on_demand_point_with_default_override_does_not_take_the_daily_tag() -> None:
    on_demand = make_point(local(1, 1), slot=None, label=label_on_demand_backup(TAGGED, local(1, 1), None))

    assert earned_tags(TAGGED, local(1, 6), [on_demand]) == frozenset({D, DAILY, WEEKLY})


def test_on_demand_point_with_daily_override_holds_the_days_daily_tag() -> None:
    on_demand = make_point(local(1, 1), slot=None, label=label_on_demand_backup(TAGGED, local(1, 1), "daily"))

    assert earned_tags(TAGGED, local(1, 6), [on_demand]) == frozenset({D, WEEKLY})


def test_expiry_is_the_longest_earned_retention_even_when_priority_disagrees() -> None:
    # Weekly wins on priority but Daily keeps longer: the point keeps the Weekly tag name and lives 30 days.
    policy = build_policy(default="P7D", daily="P30D", weekly="P14D")

    label = label_scheduled_backup(policy, utc(2024, 1, 1, 1), utc(2024, 1, 1, 1), [])

    assert label.retention_tag is WEEKLY
    assert label.expires_at == utc(2024, 1, 31, 1)


def test_priorities_come_from_the_policy() -> None:
    policy = build_policy(default="P7D", daily="P30D", weekly="P12W", daily_priority=10, weekly_priority=20)

    assert label_scheduled_backup(policy, utc(2024, 1, 1, 1), utc(2024, 1, 1, 1), []).retention_tag is DAILY


def test_calendar_retention_clamps_to_the_end_of_the_month() -> None:
    policy = build_policy(interval="R/2024-01-01T00:00:00Z/P1D", default="P1M")

    assert label_scheduled_backup(policy, utc(2024, 1, 31, 0), utc(2024, 1, 31, 0), []).expires_at == utc(
        2024, 2, 29, 0
    )


@pytest.mark.parametrize(
    ("override", "tag", "expires_at"),
    [
        (None, D, local(3, 9)),
        ("", D, local(3, 9)),
        ("default", D, local(3, 9)),
        ("Daily", DAILY, local(8, 9)),
        ("WEEKLY", WEEKLY, local(29, 9)),
    ],
)
def test_on_demand_retention_tag_override(
    override: str | None, tag: RetentionTag, expires_at: datetime
) -> None:
    assert label_on_demand_backup(TAGGED, local(1, 9), override) == RetentionLabel(
        tag, frozenset({tag}), expires_at
    )


@pytest.mark.parametrize(
    ("policy_kwargs", "override"), [({}, "yearly"), ({}, "Weekly"), ({"daily": "P7D"}, "Weekly")]
)
def test_unknown_retention_tag_override_is_refused(policy_kwargs: dict[str, str], override: str) -> None:
    with pytest.raises(ValidationError) as raised:
        label_on_demand_backup(build_policy(**policy_kwargs), utc(2024, 1, 1), override)

    assert (raised.value.code, raised.value.target) == (
        "UnknownRetentionTag",
        "backupRuleOptions.triggerOption.retentionTagOverride",
    )


def test_on_demand_rule_name_must_be_the_policy_backup_rule() -> None:
    policy = build_policy()
    check_backup_rule_name(policy, "backuphourly")

    with pytest.raises(ValidationError) as raised:
        check_backup_rule_name(policy, "BackupDaily")
    assert (raised.value.code, raised.value.target) == ("UnknownBackupRule", "backupRuleOptions.ruleName")


NOW = utc(2024, 2, 1, 12)


def expired(created: datetime, **kwargs: object) -> RecoveryPoint:
    return make_point(created, expires_in=timedelta(days=1), **kwargs)  # type: ignore[arg-type]


def ids(points: tuple[RecoveryPoint, ...]) -> list[str]:
    return [point.id for point in points]


def test_expired_points_are_selected_oldest_first_but_never_the_newest() -> None:
    points = [expired(utc(2024, 1, 20)), expired(utc(2024, 1, 10)), expired(utc(2024, 1, 25))]

    selected = select_expired(points, NOW, ProtectionState.PROTECTION_CONFIGURED)

    assert ids(selected) == [points[1].id, points[0].id]


def test_a_point_expires_exactly_at_its_expiry() -> None:
    at_expiry = make_point(NOW - timedelta(days=7), expires_in=timedelta(days=7))
    not_yet = make_point(
        NOW - timedelta(days=7), expires_in=timedelta(days=7, microseconds=1), point_id="later"
    )
    newest = make_point(NOW, point_id="newest")

    assert ids(select_expired([at_expiry, not_yet, newest], NOW, ProtectionState.PROTECTION_CONFIGURED)) == [
        at_expiry.id
    ]


def test_newest_committed_point_is_kept_while_the_newest_is_still_being_created() -> None:
    committed = expired(utc(2024, 1, 20))
    older = expired(utc(2024, 1, 10))
    creating = expired(utc(2024, 1, 25), state=RecoveryPointState.CREATING)

    assert ids(select_expired([older, committed, creating], NOW, ProtectionState.PROTECTION_CONFIGURED)) == [
        older.id
    ]


def test_points_being_deleted_are_selected_again_and_do_not_count_as_newest() -> None:
    deleting = expired(utc(2024, 1, 25), state=RecoveryPointState.DELETING)
    newest_alive = expired(utc(2024, 1, 20))

    assert ids(select_expired([deleting, newest_alive], NOW, ProtectionState.PROTECTION_CONFIGURED)) == [
        deleting.id
    ]


def test_points_in_use_by_a_restore_are_skipped() -> None:
    points = [expired(utc(2024, 1, 10)), expired(utc(2024, 1, 11)), expired(utc(2024, 1, 25))]

    selected = select_expired(points, NOW, ProtectionState.PROTECTION_CONFIGURED, in_use={points[0].id})

    assert ids(selected) == [points[1].id]


@pytest.mark.parametrize(
    ("state", "applies"),
    [
        (ProtectionState.PROTECTION_CONFIGURED, True),
        (ProtectionState.CONFIGURING_PROTECTION, True),
        (ProtectionState.UPDATING_PROTECTION, True),
        (ProtectionState.PROTECTION_ERROR, True),
        (ProtectionState.BACKUP_SCHEDULES_SUSPENDED, True),  # "suspend backups": retain per policy
        (ProtectionState.PROTECTION_STOPPED, False),  # "stop protection and retain data": forever
        (ProtectionState.RETENTION_SCHEDULES_SUSPENDED, False),
        (ProtectionState.NOT_PROTECTED, False),
        (ProtectionState.INVALID, False),
        (ProtectionState.CONFIGURING_PROTECTION_FAILED, False),
        (ProtectionState.SOFT_DELETING, False),
        (ProtectionState.SOFT_DELETED, False),
    ],
)
def test_protection_state_decides_whether_retention_runs(state: ProtectionState, applies: bool) -> None:
    points = [expired(utc(2024, 1, 10)), expired(utc(2024, 1, 25))]

    assert ids(select_expired(points, NOW, state)) == ([points[0].id] if applies else [])


def test_points_of_several_instances_are_refused() -> None:
    with pytest.raises(ValueError, match="one backup instance"):
        select_expired(
            [expired(utc(2024, 1, 10)), expired(utc(2024, 1, 10), instance="disk-b")],
            NOW,
            ProtectionState.PROTECTION_CONFIGURED,
        )


def on_demand_points(count: int, **kwargs: object) -> list[RecoveryPoint]:
    return [
        make_point(NOW - timedelta(hours=index + 1), slot=None, **kwargs)  # type: ignore[arg-type]
        for index in range(count)
    ]


def test_on_demand_backups_up_to_the_reserved_budget() -> None:
    scheduled = [make_point(NOW - timedelta(hours=hours)) for hours in range(1, 400)]

    check_on_demand_backup_allowed(
        [*scheduled, *on_demand_points(MAX_LIVE_ON_DEMAND_RECOVERY_POINTS - 1)], NOW
    )
    with pytest.raises(LimitExceededError) as raised:
        check_on_demand_backup_allowed(on_demand_points(MAX_LIVE_ON_DEMAND_RECOVERY_POINTS), NOW)

    assert raised.value.code == "OnDemandRecoveryPointLimitReached"
    assert raised.value.status == 409
    assert "50" in raised.value.message


def test_on_demand_points_being_deleted_do_not_count() -> None:
    deleting = on_demand_points(MAX_LIVE_ON_DEMAND_RECOVERY_POINTS, state=RecoveryPointState.DELETING)

    check_on_demand_backup_allowed(deleting, NOW)


def test_on_demand_backups_per_rolling_day() -> None:
    requests = [NOW - timedelta(hours=hours) for hours in range(MAX_ON_DEMAND_BACKUPS_PER_DAY)]

    with pytest.raises(LimitExceededError) as raised:
        check_on_demand_backup_allowed([], NOW, requests)
    assert raised.value.code == "OnDemandBackupDailyLimitReached"

    requests[-1] = NOW - timedelta(hours=24)  # just outside the window
    check_on_demand_backup_allowed([], NOW, requests)


def test_expiry_counts_elapsed_time_across_a_dst_change() -> None:
    # 7 days after 12:00 CET on 28 March 2024 is 13:00 CEST on 4 April: 168 hours, not 167.
    label = label_scheduled_backup(TAGGED, local(28, 12, month=3), local(28, 12, month=3), [])

    assert label.expires_at - local(28, 12, month=3) == timedelta(days=28)
    assert label_on_demand_backup(TAGGED, local(28, 12, month=3), "Daily").expires_at == local(4, 13, month=4)


def test_a_retried_slot_earns_what_its_first_attempt_earned() -> None:
    points: list[RecoveryPoint] = []
    first_attempt = take(points, local(2, 0))

    retry = label_scheduled_backup(TAGGED, local(2, 0), local(2, 0) + timedelta(minutes=20), points)

    assert retry.earned_tags == first_attempt.earned_tags == frozenset({D, DAILY, WEEKLY})


def test_latest_tag_times_decide_exactly_what_the_whole_history_decides() -> None:
    """The worker keeps only the last time each tag was earned; that must lose nothing."""
    history: list[RecoveryPoint] = []
    moment = local(1, 0)
    # Three weeks of 6-hourly backups with every third one failing (no point).
    for index in range(4 * 21):
        if index % 3 != 1:
            from_history = earned_tags(TAGGED, moment, history)
            from_marks = earned_tags_after(TAGGED, moment, latest_tag_times(history))
            assert from_history == from_marks, moment
            take(history, moment)
        moment += timedelta(hours=6)
    assert sum(1 for point in history if WEEKLY in point.earned_tags) == 3


def test_given_only_some_points_the_true_newest_decides_what_is_kept() -> None:
    older = expired(utc(2024, 1, 1))
    old = expired(utc(2024, 1, 2))
    # Only the expired points are passed; a newer live point exists (its time is given).
    everything = select_expired([older, old], utc(2024, 2, 1), ProtectionState.PROTECTION_CONFIGURED)
    with_newest = select_expired(
        [older, old],
        utc(2024, 2, 1),
        ProtectionState.PROTECTION_CONFIGURED,
        newest_created_at=utc(2024, 1, 30),
    )
    assert ids(everything) == [older.id]
    assert ids(with_newest) == [older.id, old.id]
    # When the newest point is among those passed, it is still kept.
    kept = select_expired(
        [older, old], utc(2024, 2, 1), ProtectionState.PROTECTION_CONFIGURED, newest_created_at=old.created_at
    )
    assert ids(kept) == [older.id]
