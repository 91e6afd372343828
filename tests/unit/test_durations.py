"""ISO 8601 durations: calendar and exact parts, worst-case length, month clamping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backup.domain.durations import IsoDuration, parse_iso_datetime, parse_iso_duration
from tests.unit.policy_builders import utc


@pytest.mark.parametrize(
    ("text", "months", "exact"),
    [
        ("P7D", 0, timedelta(days=7)),
        ("P12W", 0, timedelta(weeks=12)),
        ("PT4H", 0, timedelta(hours=4)),
        ("P1Y", 12, timedelta(0)),
        ("P1Y2M3DT4H", 14, timedelta(days=3, hours=4)),
    ],
)
def test_parse(text: str, months: int, exact: timedelta) -> None:
    assert parse_iso_duration(text) == IsoDuration(text=text, months=months, exact=exact)


@pytest.mark.parametrize("text", ["7D", "P", "P1.5Y", "P1H", "P1M1.5M", "forever"])
def test_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_iso_duration(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("P1000000000D", "out of range"),
        ("PT99999999999999999999H", "out of range"),
        ("P1000000000W", "out of range"),
        ("P99999999999M", "out of range"),
        ("P1000000000Y", "out of range"),
        ("P101Y", "out of range"),
        ("P36601D", "out of range"),
        ("PT999999999999S", "out of range"),
        ("P1.5D", "fractional"),
        ("P1,5D", "fractional"),
        ("PT0.5H", "fractional"),
        ("PT1.5S", "fractional"),
        ("P1.0Y", "fractional"),
    ],
)
def test_overflowing_and_fractional_durations_are_value_errors(text: str, reason: str) -> None:
    # A ValueError is what every caller turns into a 400; an OverflowError would be a 500.
    with pytest.raises(ValueError, match=reason):
        parse_iso_duration(text)


@pytest.mark.parametrize("text", ["P100Y", "P1200M", "P36600D"])
def test_a_century_is_still_a_duration(text: str) -> None:
    assert parse_iso_duration(text).is_positive()


@pytest.mark.parametrize(
    ("text", "days"),
    [("P1Y", 366), ("P12M", 366), ("P1M", 31), ("P2M", 62), ("P11M", 337), ("P1M1D", 32), ("P52W", 364)],
)
def test_longest_span(text: str, days: int) -> None:
    assert parse_iso_duration(text).longest_span() == timedelta(days=days)


def test_add_months_clamps_to_month_end() -> None:
    assert parse_iso_duration("P1M").add_to(utc(2023, 1, 31, 10)) == utc(2023, 2, 28, 10)
    assert parse_iso_duration("P1Y").add_to(utc(2024, 2, 29)) == utc(2025, 2, 28)
    assert parse_iso_duration("P1M1D").add_to(utc(2024, 1, 31)) == utc(2024, 3, 1)


@pytest.mark.parametrize(
    ("text", "positive"), [("P1D", True), ("P1M", True), ("P0D", False), ("-P1D", False)]
)
def test_is_positive(text: str, positive: bool) -> None:
    assert parse_iso_duration(text).is_positive() is positive


def test_datetime_offsets_become_plain_timezones() -> None:
    parsed = parse_iso_datetime("2020-04-05T13:00:00+00:00")

    assert parsed == utc(2020, 4, 5, 13)
    assert parsed.tzinfo is utc(2020, 1, 1).tzinfo
    assert parse_iso_datetime("2020-04-05T13:00:00+05:30").utcoffset() == timedelta(hours=5, minutes=30)
    assert parse_iso_datetime("2020-04-05T13:00:00").tzinfo is None
