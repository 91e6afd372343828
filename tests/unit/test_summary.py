"""The one-line policy description."""

from __future__ import annotations

import pytest

from backup.domain.durations import parse_iso_duration
from backup.domain.summary import describe_duration, describe_policy
from backup.shapes.policy import parse_backup_policy
from tests.unit.policy_builders import build_policy, default_template


def test_default_template() -> None:
    assert (
        describe_policy(parse_backup_policy(default_template()))
        == "Every 4 hours from 13:00 UTC; keep 7 days"
    )


def test_weekly_tag() -> None:
    policy = build_policy(weekly="P12W")

    assert (
        describe_policy(policy)
        == "Every 4 hours from 13:00 UTC; keep 7 days; first backup of each week kept 12 weeks"
    )


def test_daily_in_a_windows_time_zone_with_both_tags() -> None:
    policy = build_policy(
        interval="R/2024-01-10T22:00:00+01:00/P1D",
        time_zone="W. Europe Standard Time",
        default="P30D",
        daily="P3M",
        weekly="P1Y",
    )

    assert describe_policy(policy) == (
        "Daily at 22:00 W. Europe Standard Time; keep 30 days; first backup of each day kept 3 months; "
        "first backup of each week kept 1 year"
    )


def test_hourly_with_an_offset_and_no_time_zone() -> None:
    policy = build_policy(interval="R/2024-01-10T00:30:00+05:30/PT1H", default="P2D")

    assert describe_policy(policy) == "Every hour from 00:30 UTC+05:30; keep 2 days"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("P1D", "1 day"),
        ("P7D", "7 days"),
        ("P1W", "1 week"),
        ("P84D", "84 days"),
        ("P1Y6M", "1 year 6 months"),
        ("P2Y", "2 years"),
        ("P1M2DT3H30M", "1 month 2 days 3 hours 30 minutes"),
        ("PT12H", "12 hours"),
    ],
)
def test_durations_read_as_written(text: str, words: str) -> None:
    assert describe_duration(parse_iso_duration(text)) == words
