"""NCRONTAB schedules and route templates, without a host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localdev.functions_host.routing import RouteError, RouteTemplate
from localdev.functions_host.schedules import (
    CronSchedule,
    IntervalSchedule,
    ScheduleError,
    parse_schedule,
    parse_timespan,
)


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * * *", _at(2026, 1, 1, 0, 0, 0), _at(2026, 1, 1, 0, 0, 1)),
        ("*/15 * * * * *", _at(2026, 1, 1, 0, 0, 14), _at(2026, 1, 1, 0, 0, 15)),
        ("0 */5 * * * *", _at(2026, 1, 1, 12, 0, 1), _at(2026, 1, 1, 12, 5, 0)),
        ("0 30 9 * * Mon-Fri", _at(2026, 11, 27, 10, 0, 0), _at(2026, 11, 30, 9, 30, 0)),  # Fri -> Mon
        ("0 0 0 1 Jan *", _at(2026, 6, 1, 0, 0, 0), _at(2027, 1, 1, 0, 0, 0)),
        ("0 0 4 * * 0", _at(2026, 11, 26, 0, 0, 0), _at(2026, 11, 29, 4, 0, 0)),  # Sunday
        ("0 0 4 * * 7", _at(2026, 11, 26, 0, 0, 0), _at(2026, 11, 29, 4, 0, 0)),  # 7 is Sunday too
        ("5,10 0 0 * * *", _at(2026, 1, 1, 0, 0, 5), _at(2026, 1, 1, 0, 0, 10)),
        ("0 0 0 29 2 *", _at(2026, 3, 1, 0, 0, 0), _at(2028, 2, 29, 0, 0, 0)),
        # Day of month AND day of week, as in NCrontab: the next Friday the 13th.
        ("0 0 0 13 * 5", _at(2026, 1, 1, 0, 0, 0), _at(2026, 2, 13, 0, 0, 0)),
    ],
)
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(after) == expected


def test_next_occurrence_is_strictly_after_and_drops_microseconds() -> None:
    schedule = CronSchedule.parse("* * * * * *")
    assert schedule.next_after(_at(2026, 1, 1, 0, 0, 0).replace(microsecond=999)) == _at(2026, 1, 1, 0, 0, 1)


def test_an_impossible_schedule_has_no_occurrence() -> None:
    assert CronSchedule.parse("0 0 0 30 2 *").next_after(_at(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "expression", ["* * * * *", "60 * * * * *", "* * * * 13 *", "*/0 * * * * *", "a b c d e f"]
)
def test_bad_schedules_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleError):
        CronSchedule.parse(expression)


def test_timespan_schedules_and_host_json_timespans() -> None:
    schedule = parse_schedule("00:00:30")
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.next_after(_at(2026, 1, 1)) == _at(2026, 1, 1, 0, 0, 30)
    assert parse_timespan("1.02:03:04.5") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("health", "health", {}),
        ("Health", "HEALTH", {}),
        ("vaults/{vault}/instances/{name}", "vaults/v1/instances/disk-1", {"vault": "v1", "name": "disk-1"}),
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/x", None),
        ("names/{n:alpha}", "names/abc", {"n": "abc"}),
        ("names/{n:alpha}", "names/ab1", None),
        ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
        ("files/{*rest}", "files", {}),
        ("files/{name}.{ext}", "files/report.tar.gz", {"name": "report", "ext": "tar.gz"}),
        ("opt/{x?}", "opt", {}),
        ("opt/{x=dflt}", "opt", {"x": "dflt"}),
        (
            "jobs/{id:guid}",
            "jobs/0f8fad5b-d9cb-469f-a165-70867728950e",
            {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        ),
        ("range/{n:range(1,5)}", "range/6", None),
        ("re/{code:regex(^[a-z]{{2}}\\d$)}", "re/ab1", {"code": "ab1"}),
        ("re/{code:regex(^[a-z]{{2}}\\d$)}", "re/abc1", None),
        ("esc/{v}", "esc/a%20b", {"v": "a b"}),
        ("health", "health/extra", None),
    ],
)
def test_route_templates(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert RouteTemplate.parse(template).match(path.split("/")) == expected


def test_literal_segments_take_precedence_over_parameters_and_catch_alls() -> None:
    routes = [
        RouteTemplate.parse(t) for t in ["items/{*rest}", "items/{id}", "items/{id:int}", "items/latest"]
    ]
    ordered = sorted(routes, key=lambda r: r.precedence)
    assert [r.template for r in ordered] == ["items/latest", "items/{id:int}", "items/{id}", "items/{*rest}"]


@pytest.mark.parametrize(
    "template", ["a/{*rest}/b", "a/{x}/{x}", "a/{x:nosuch}", "a/{x", "a/x}", "a/{x}.{y?}"]
)
def test_bad_route_templates_are_rejected(template: str) -> None:
    with pytest.raises(RouteError):
        RouteTemplate.parse(template)
