"""$filter parsing, skip tokens, ARM time and duration formats, operation ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup.api.odata import (
    Comparison,
    decode_skip_token,
    encode_skip_token,
    page_after,
    parse_filter,
    parse_time,
)
from backup.api.operations import new_operation_id, vault_of_operation
from backup.api.render import iso_duration, rfc3339
from backup.domain.instance import VaultRef
from backup.errors import ValidationError

FIELDS = {"startDate": ("eq", "ge"), "endDate": ("eq", "le"), "status": ("eq",)}


def test_the_cli_recovery_point_filter_parses() -> None:
    text = "startDate eq '2026-11-01T00:00:00Z' and endDate eq '2026-11-30T00:00:00'"
    assert parse_filter(text, FIELDS) == [
        Comparison("startDate", "eq", "2026-11-01T00:00:00Z"),
        Comparison("endDate", "eq", "2026-11-30T00:00:00"),
    ]


def test_keywords_and_field_names_are_case_insensitive_and_quotes_escape() -> None:
    assert parse_filter("STATUS EQ 'it''s'  AND startdate GE 2026-01-01", FIELDS) == [
        Comparison("status", "eq", "it's"),
        Comparison("startDate", "ge", "2026-01-01"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "color eq 'red'",
        "status gt 'x'",
        "status eq",
        "status eq 'a' or status eq 'b'",
        "status eq 'a' and",
        "'x'",
    ],
)
def test_unsupported_filters_are_refused_naming_the_problem(text: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_filter(text, FIELDS)
    assert error.value.code == "InvalidQueryParameterValue"
    assert error.value.target == "$filter"


def test_times_without_offset_are_utc() -> None:
    assert parse_time("2026-11-01T10:00:00") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_time("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(ValidationError):
        parse_time("yesterday")


def test_skip_tokens_round_trip_and_refuse_garbage() -> None:
    assert decode_skip_token(encode_skip_token("j|abc")) == "j|abc"
    assert decode_skip_token(None) is None
    with pytest.raises(ValidationError):
        decode_skip_token("\xff")


def test_paging_after_a_key() -> None:
    keys = ["a", "b", "c", "d", "e"]
    page, token = page_after(keys, keys, None, 2)
    assert page == ["a", "b"]
    assert decode_skip_token(token) == "b"
    page, token = page_after(keys, keys, "b", 2)
    assert page == ["c", "d"]
    page, token = page_after(keys, keys, "d", 2)
    assert page == ["e"]
    assert token is None


def test_arm_time_and_duration_formats() -> None:
    assert rfc3339(datetime(2026, 11, 26, 4, 0, tzinfo=UTC)) == "2026-11-26T04:00:00Z"
    assert rfc3339(None) is None
    assert iso_duration(timedelta(hours=1, minutes=2, seconds=3.5)) == "PT1H2M3.5S"
    assert iso_duration(timedelta(days=2)) == "P2D"
    assert iso_duration(timedelta(0)) == "PT0S"
    assert iso_duration(timedelta(seconds=-5)) == "PT0S"


def test_operation_ids_name_their_vault_and_nothing_else_passes() -> None:
    vault = VaultRef("00000000-0000-0000-0000-0000000000AA", "RG-1", "Vault-1")
    operation_id = new_operation_id(vault)
    assert set(operation_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert vault_of_operation(operation_id) == VaultRef(
        "00000000-0000-0000-0000-0000000000aa", "rg-1", "vault-1"
    )
    assert vault_of_operation("bm90LW91cnM") is None
    assert vault_of_operation("!!!") is None
