"""The small ``$filter`` subset list endpoints accept, and ``$skipToken`` paging.

A filter is comparisons joined by ``and`` (case-insensitive keywords): ``field op value``
with ``op`` one of ``eq ne gt ge lt le`` and ``value`` a quoted string (``'it''s'``), a
bare word (``true``, a number) or a bare ISO 8601 time. Each endpoint names the fields and
operators it supports; anything else is a 400 naming the clause, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from backup.domain.durations import utc_moment
from backup.errors import ValidationError

T = TypeVar("T")

_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z][A-Za-z0-9_]*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>'(?:[^']|'')*'|[^\s']+)\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Comparison:
    field: str
    """As the endpoint declared it (canonical case)."""
    op: str
    value: str


def parse_filter(text: str | None, allowed: Mapping[str, Sequence[str]]) -> list[Comparison]:
    """Parse ``$filter``; ``allowed`` maps each field name to the operators it takes."""
    if text is None or not text.strip():
        return []
    canonical = {name.lower(): name for name in allowed}
    comparisons: list[Comparison] = []
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise _bad(text, f"could not parse it near '{text[position : position + 40]}'")
        field = canonical.get(match["field"].lower())
        op = match["op"].lower()
        if field is None:
            raise _bad(text, f"'{match['field']}' cannot be filtered on; use {', '.join(allowed)}")
        if op not in allowed[field]:
            raise _bad(text, f"'{field}' supports only {', '.join(allowed[field])}")
        raw = match["value"]
        value = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        comparisons.append(Comparison(field, op, value))
        position = match.end()
        if position >= len(text):
            return comparisons
        joiner = _AND.match(text, position)
        if joiner is None:
            raise _bad(text, "clauses must be joined with 'and'")
        position = joiner.end()


def parse_time(value: str, target: str = "$filter") -> datetime:
    """An ISO 8601 time; without an offset it is UTC (as the CLI's ``--start-time`` means)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        utc_moment(moment)  # an offset that leaves the years 1-9999 would overflow a comparison later
    except ValueError as error:
        raise ValidationError(
            f"'{value}' is not an ISO 8601 date and time in the years 1-9999 (UTC).",
            code="InvalidQueryParameterValue",
            target=target,
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def compare(left: datetime | str, op: str, right: datetime | str) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "gt":
        return left > right  # type: ignore[operator]
    if op == "ge":
        return left >= right  # type: ignore[operator]
    if op == "lt":
        return left < right  # type: ignore[operator]
    return left <= right  # type: ignore[operator]


def _bad(text: str, why: str) -> ValidationError:
    return ValidationError(
        f"The $filter '{text[:200]}' is not supported: {why}.",
        code="InvalidQueryParameterValue",
        target="$filter",
    )


def encode_skip_token(key: str) -> str:
    """An opaque, URL-safe continuation token for the last key returned."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_skip_token(token: str | None) -> str | None:
    if token is None or not token.strip():
        return None
    try:
        return base64.urlsafe_b64decode(token.strip() + "=" * (-len(token.strip()) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise ValidationError(
            "The $skipToken is not one this API issued.",
            code="InvalidQueryParameterValue",
            target="$skipToken",
        ) from error


def page_after(
    items: Sequence[T], keys: Sequence[str], after: str | None, size: int
) -> tuple[list[T], str | None]:
    """The page of ``items`` (sorted by ``keys``) after key ``after``, and the next page's token."""
    start = 0
    if after is not None:
        start = next((i for i, key in enumerate(keys) if key > after), len(items))
    page = list(items[start : start + size])
    more = start + size < len(items)
    return page, encode_skip_token(keys[start + size - 1]) if more else None
