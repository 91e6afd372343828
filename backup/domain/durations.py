"""ISO 8601 durations and date-times, parsed by ``isodate`` behind a typed surface.

``isodate`` ships without type information and returns either a ``timedelta`` or its own
``Duration`` (when years or months are present), so everything else in the domain goes
through :class:`IsoDuration` instead of touching ``isodate`` objects.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import isodate

_ZERO = timedelta(0)
_LONGEST_YEARS = 100
LONGEST_DURATION = timedelta(days=366 * _LONGEST_YEARS)
"""No schedule, retention or setting of this app needs more than a century, and anything longer
than the ``datetime`` range would overflow when added to a date."""


@dataclass(frozen=True)
class IsoDuration:
    """A duration as Azure writes it (``P7D``, ``P12W``, ``P1Y``), split into calendar and exact parts.

    Months and years have no fixed length, so they are kept apart from the exact part and
    only resolved against a concrete date (:meth:`add_to`) or bounded (:meth:`longest_span`).
    """

    text: str
    months: int
    exact: timedelta

    @property
    def uses_weeks(self) -> bool:
        """Whether the text used the week designator (``P12W``), which ISO 8601 allows only on its own."""
        return self.text.strip().upper().endswith("W")

    def add_to(self, when: datetime) -> datetime:
        """``when`` plus this duration; a day beyond the end of the target month clamps to its last day."""
        shifted = when
        if self.months:
            moved = isodate.Duration(months=self.months) + when
            if not isinstance(moved, datetime):  # pragma: no cover - isodate contract
                raise TypeError(f"isodate returned {type(moved).__name__} adding months to a datetime")
            shifted = moved
        return shifted + self.exact

    def longest_span(self) -> timedelta:
        """The most real time this duration can cover from any start (P1Y is 366 days, P1M is 31).

        Limits are checked against this bound so that no start date can push a policy over them.
        """
        return _longest_month_span(self.months) + self.exact

    def is_positive(self) -> bool:
        """Longer than zero with no negative part (``P1M-1D`` style mixes are not ISO 8601 anyway)."""
        return self.months >= 0 and self.exact >= _ZERO and (self.months > 0 or self.exact > _ZERO)


def parse_iso_duration(text: str) -> IsoDuration:
    """Parse ``text``; raises ``ValueError`` for anything that is not a whole-unit ISO 8601 duration
    of at most :data:`LONGEST_DURATION` (fractions, ``P1.5D`` or ``PT0,5H``, are refused: Azure
    writes whole units, and a fraction of a month or year has no meaning)."""
    if "." in text or "," in text:
        raise ValueError(f"fractional durations are not supported: {text[:100]!r}")
    try:
        duration = _parsed(text)
        too_long = duration.longest_span() > LONGEST_DURATION or duration.exact < -LONGEST_DURATION
    except OverflowError as overflow:  # isodate builds a timedelta or C int beyond its range
        raise ValueError(f"duration out of range: {text[:100]!r}") from overflow
    if too_long:
        raise ValueError(f"duration out of range (longer than {LONGEST_DURATION.days} days): {text[:100]!r}")
    return duration


def _parsed(text: str) -> IsoDuration:
    parsed: object = isodate.parse_duration(text)
    if isinstance(parsed, timedelta):
        return IsoDuration(text=text, months=0, exact=parsed)
    if isinstance(parsed, isodate.Duration):
        years = _whole(parsed.years, "years")
        months = _whole(parsed.months, "months")
        exact = parsed.tdelta
        if not isinstance(exact, timedelta):  # pragma: no cover - isodate contract
            raise TypeError("isodate.Duration.tdelta is not a timedelta")
        if abs(years) > _LONGEST_YEARS or abs(months) > _LONGEST_YEARS * 12:
            raise OverflowError("too many years or months")
        return IsoDuration(text=text, months=years * 12 + months, exact=exact)
    raise ValueError(f"not an ISO 8601 duration: {text!r}")  # pragma: no cover - isodate contract


def parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time (a date alone is refused); the result may be naive."""
    parsed: object = isodate.parse_datetime(text)
    if not isinstance(parsed, datetime):  # pragma: no cover - isodate contract
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    if parsed.tzinfo is None:
        return parsed
    # isodate's own tzinfo classes are replaced so values compare and hash like any other aware datetime.
    offset = parsed.utcoffset()
    if offset is None:  # pragma: no cover - aware datetimes always have an offset
        return parsed.replace(tzinfo=None)
    try:
        return parsed.astimezone(UTC).astimezone(_fixed_zone(offset))
    except OverflowError as overflow:
        raise ValueError(f"date-time out of range: {text!r}") from overflow


def utc_moment(moment: datetime) -> datetime:
    """An aware ``moment`` in UTC (a naive one is taken as UTC); ``ValueError`` when the offset
    moves it outside the years 1-9999 (``0001-01-01T00:00:00+14:00``), which no comparison or
    arithmetic could use."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as overflow:
        raise ValueError(f"date-time out of range: {moment.isoformat()}") from overflow


def _fixed_zone(offset: timedelta) -> tzinfo:
    return UTC if offset == _ZERO else timezone(offset)


def _whole(value: object, unit: str) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    raise ValueError(f"fractional {unit} are not supported: {value}")


@functools.lru_cache(maxsize=64)
def _longest_month_span(months: int) -> timedelta:
    # Spans starting on the first of a month are never clamped, and any other start day gives
    # the same span or a shorter (clamped) one, so scanning month starts over a leap-year cycle
    # finds the maximum.
    if months == 0:
        return _ZERO
    longest = _ZERO
    for year in range(2024, 2028):
        for month in range(1, 13):
            start = date(year, month, 1)
            end_index = month - 1 + months
            end = date(year + end_index // 12, end_index % 12 + 1, 1)
            longest = max(longest, end - start)
    return longest
