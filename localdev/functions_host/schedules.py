"""Timer schedules as the Functions timer trigger reads them.

* NCRONTAB with six fields, seconds first: ``{second} {minute} {hour} {day} {month} {day-of-week}``.
  Each field takes ``*``, a value, a range ``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n``, and
  comma-separated lists of these. Months and days of the week also take English names
  (``Jan``, ``Mon``); Sunday is 0 (7 is accepted too). As in NCrontab (the library the host
  uses), a time must match the day-of-month AND the day-of-week fields (Vixie cron ORs them
  when both are restricted). Evaluated in UTC: Flex Consumption has no ``WEBSITE_TIME_ZONE``.
* The TimeSpan form ``hh:mm:ss`` (or ``d.hh:mm:ss``): a fixed interval between occurrences.
  The real host only allows it on App Service plans; it is accepted here for convenience.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}

# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)

# How far ahead an occurrence is searched before a schedule is declared impossible (0 0 0 30 2 *).
_SEARCH_YEARS = 8


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (aware, UTC), or None if there is none."""
        ...


class ScheduleError(ValueError):
    pass


def _value(token: str, low: int, high: int, names: dict[str, int], field: str, expression: str) -> int:
    lowered = token.lower()
    if lowered in names:
        return names[lowered]
    if not token.isdigit():
        raise ScheduleError(f"{expression!r}: {token!r} is not a valid {field}")
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(f"{expression!r}: {field} {value} is outside {low}-{high}")
    return value


def _parse_field(
    text: str, field: str, low: int, high: int, names: dict[str, int], expression: str
) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"{expression!r}: empty item in the {field} field")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{expression!r}: bad step {step_text!r} in the {field} field")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _value(first, low, high, names, field, expression)
            end = _value(last, low, high, names, field, expression)
            if end < start:
                raise ScheduleError(f"{expression!r}: range {base!r} runs backwards")
        else:
            start = _value(base, low, high, names, field, expression)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) != 6:
            raise ScheduleError(
                f"{expression!r}: NCRONTAB needs six fields "
                "'{second} {minute} {hour} {day} {month} {day-of-week}'"
            )
        fields = [
            _parse_field(part, name, low, high, names, expression)
            for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
        ]
        dow = frozenset(0 if d == 7 else d for d in fields[5])
        return cls(expression, fields[0], fields[1], fields[2], fields[3], fields[4], dow)

    def next_after(self, moment: datetime) -> datetime | None:
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t.year + _SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = datetime(year, month, 1, tzinfo=UTC)
            elif t.day not in self.days or t.isoweekday() % 7 not in self.days_of_week:
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        return None

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class IntervalSchedule:
    """The TimeSpan form: occurrences every ``interval`` after the previous one."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        return moment.astimezone(UTC) + self.interval

    def __str__(self) -> str:
        return self.expression


_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d+)?)$")


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan as host.json writes it: ``hh:mm:ss``, ``d.hh:mm:ss``, ``hh:mm:ss.fff``."""
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ScheduleError(f"{text!r} is not a TimeSpan (hh:mm:ss)")
    return timedelta(
        days=int(match["days"] or 0),
        hours=int(match["h"]),
        minutes=int(match["m"]),
        seconds=float(match["s"]),
    )


def parse_schedule(expression: str) -> CronSchedule | IntervalSchedule:
    expression = expression.strip()
    if ":" in expression and " " not in expression:
        interval = parse_timespan(expression)
        if interval <= timedelta(0):
            raise ScheduleError(f"{expression!r}: the interval must be positive")
        return IntervalSchedule(expression, interval)
    return CronSchedule.parse(expression)
