"""Parsing and validating Azure-format disk backup policies."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup.domain.models import RetentionTag, TagCriterion
from backup.domain.policy import (
    PolicyErrorCode,
    TaggingCriterion,
    check_policy_supports_disk_sku,
    scheduled_recovery_points,
)
from backup.domain.timezones import WINDOWS_TIME_ZONES, lookup_time_zone
from backup.errors import ValidationError
from backup.shapes.policy import parse_backup_policy
from tests.unit.policy_builders import (
    DEFAULT_TEMPLATE_FILE,
    build_policy,
    default_template,
    delete_at,
    policy_document,
    retention_rule,
    set_at,
    tagging_criterion,
)

SCHEDULE = "properties.policyRules[0].trigger.schedule"
INTERVAL = f"{SCHEDULE}.repeatingTimeIntervals[0]"
CRITERIA = "properties.policyRules[0].trigger.taggingCriteria"
DEFAULT_DURATION = "properties.policyRules[1].lifecycles[0].deleteAfter.duration"


def test_default_template_is_accepted_verbatim() -> None:
    raw = DEFAULT_TEMPLATE_FILE.read_text()

    policy = parse_backup_policy(json.loads(raw))

    assert policy.backup_rule_name == "BackupHourly"
    assert policy.schedule.start == datetime(2020, 4, 5, 13, 0, tzinfo=UTC)
    assert policy.schedule.interval == timedelta(hours=4)
    assert policy.schedule.time_zone_name == "UTC"
    assert policy.tagging_criteria == (TaggingCriterion(RetentionTag.DEFAULT, 99, None),)
    assert policy.retention_for(RetentionTag.DEFAULT).text == "P7D"
    assert policy.retention_for(RetentionTag.DEFAULT).exact == timedelta(days=7)
    assert scheduled_recovery_points(policy) == 42  # 7 days / 4 hours, as Azure counts
    assert policy.to_json() == json.loads(raw)  # including the top-level "name" the parser ignores


def test_original_document_is_kept_apart_from_later_edits() -> None:
    document = default_template()
    policy = parse_backup_policy(document)

    document["policyRules"][1]["lifecycles"][0]["deleteAfter"]["duration"] = "P30D"
    returned = policy.to_json()
    returned["objectType"] = "Changed"

    assert policy.to_json() == default_template()


def test_unknown_fields_are_ignored_as_arm_does() -> None:
    document = default_template()
    document["description"] = "extra"
    document["policyRules"][0]["trigger"]["schedule"]["futureField"] = {"x": 1}
    document["policyRules"][1]["lifecycles"][0]["deleteAfter"]["extra"] = [1, 2]

    assert parse_backup_policy(document) == parse_backup_policy(default_template())


def test_daily_and_weekly_tags_in_terraform_shape() -> None:
    policy = build_policy(daily="P30D", weekly="P12W", time_zone="W. Europe Standard Time")

    assert policy.tags == (RetentionTag.WEEKLY, RetentionTag.DAILY, RetentionTag.DEFAULT)
    assert policy.tagging_criteria[0] == TaggingCriterion(RetentionTag.WEEKLY, 20, TagCriterion.FIRST_OF_WEEK)
    assert policy.priority_of(RetentionTag.DAILY) == 25
    assert policy.retention_for(RetentionTag.WEEKLY).exact == timedelta(weeks=12)
    assert policy.schedule.time_zone == ZoneInfo("Europe/Berlin")


def test_tag_names_match_case_insensitively() -> None:
    document = policy_document(daily="P30D")
    set_at(document, "policyRules[0].trigger.taggingCriteria[1].tagInfo.tagName", "daily")
    set_at(document, "policyRules[2].name", "DAILY")

    assert RetentionTag.DAILY in parse_backup_policy(document).tags


def _edit(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda document: set_at(document, path, value)


def _remove(path: str) -> Callable[[dict[str, Any]], Any]:
    return lambda document: delete_at(document, path)


def _append_rule(rule: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda document: document["policyRules"].append(rule)


def _append_criterion(criterion: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda document: document["policyRules"][0]["trigger"]["taggingCriteria"].append(criterion)


def _with_daily(edit: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def apply(document: dict[str, Any]) -> None:
        document["policyRules"][0]["trigger"]["taggingCriteria"].append(
            tagging_criterion("Daily", 25, "FirstOfDay")
        )
        document["policyRules"].append(retention_rule("Daily", "P30D"))
        edit(document)

    return apply


C = PolicyErrorCode
DAILY_CRITERION = f"{CRITERIA}[1]"

REFUSALS: list[tuple[str, Callable[[dict[str, Any]], Any], PolicyErrorCode, str]] = [
    ("policy objectType", _edit("objectType", "Policy"), C.UNSUPPORTED_OBJECT_TYPE, "properties.objectType"),
    ("policy objectType missing", _remove("objectType"), C.MISSING_PROPERTY, "properties.objectType"),
    (
        "rule objectType null",
        _edit("policyRules[0].objectType", None),
        C.MISSING_PROPERTY,
        "properties.policyRules[0].objectType",
    ),
    (
        "datasourceTypes not a list",
        _edit("datasourceTypes", "Microsoft.Compute/disks"),
        C.INVALID_PROPERTY_TYPE,
        "properties.datasourceTypes",
    ),
    (
        "datasourceTypes empty",
        _edit("datasourceTypes", []),
        C.UNSUPPORTED_DATASOURCE_TYPE,
        "properties.datasourceTypes",
    ),
    (
        "blob datasource",
        _edit("datasourceTypes[0]", "Microsoft.Storage/storageAccounts/blobServices"),
        C.UNSUPPORTED_DATASOURCE_TYPE,
        "properties.datasourceTypes[0]",
    ),
    (
        "two datasources",
        _edit("datasourceTypes", ["Microsoft.Compute/disks"] * 2),
        C.UNSUPPORTED_DATASOURCE_TYPE,
        "properties.datasourceTypes[1]",
    ),
    (
        "datasource type is a number",
        _edit("datasourceTypes[0]", 7),
        C.INVALID_PROPERTY_TYPE,
        "properties.datasourceTypes[0]",
    ),
    ("policyRules missing", _remove("policyRules"), C.MISSING_PROPERTY, "properties.policyRules"),
    ("policyRules an object", _edit("policyRules", {}), C.INVALID_PROPERTY_TYPE, "properties.policyRules"),
    (
        "rule not an object",
        _edit("policyRules[1]", "Default"),
        C.INVALID_PROPERTY_TYPE,
        "properties.policyRules[1]",
    ),
    (
        "rule objectType unknown",
        _edit("policyRules[1].objectType", "AzureArchiveRule"),
        C.UNSUPPORTED_OBJECT_TYPE,
        "properties.policyRules[1].objectType",
    ),
    ("no backup rule", _remove("policyRules[0]"), C.MISSING_BACKUP_RULE, "properties.policyRules"),
    (
        "two backup rules",
        lambda d: d["policyRules"].append(copy.deepcopy(d["policyRules"][0])),
        C.MULTIPLE_BACKUP_RULES,
        "properties.policyRules[2]",
    ),
    (
        "no Default retention rule",
        _remove("policyRules[1]"),
        C.MISSING_DEFAULT_RETENTION_RULE,
        "properties.policyRules",
    ),
    (
        "duplicate Default retention",
        _append_rule(retention_rule("Default", "P3D")),
        C.DUPLICATE_RETENTION_RULE,
        "properties.policyRules[2].name",
    ),
    (
        "backup rule name empty",
        _edit("policyRules[0].name", " "),
        C.INVALID_PROPERTY_VALUE,
        "properties.policyRules[0].name",
    ),
    (
        "backup rule name a number",
        _edit("policyRules[0].name", 4),
        C.INVALID_PROPERTY_TYPE,
        "properties.policyRules[0].name",
    ),
    (
        "full backups",
        _edit("policyRules[0].backupParameters.backupType", "Full"),
        C.INVALID_PROPERTY_VALUE,
        "properties.policyRules[0].backupParameters.backupType",
    ),
    (
        "backupParameters objectType",
        _edit("policyRules[0].backupParameters.objectType", "X"),
        C.UNSUPPORTED_OBJECT_TYPE,
        "properties.policyRules[0].backupParameters.objectType",
    ),
    (
        "vault store",
        _edit("policyRules[0].dataStore.dataStoreType", "VaultStore"),
        C.UNSUPPORTED_DATA_STORE,
        "properties.policyRules[0].dataStore.dataStoreType",
    ),
    (
        "dataStore missing",
        _remove("policyRules[0].dataStore"),
        C.MISSING_PROPERTY,
        "properties.policyRules[0].dataStore",
    ),
    (
        "adhoc trigger",
        _edit("policyRules[0].trigger.objectType", "AdhocBasedTriggerContext"),
        C.UNSUPPORTED_OBJECT_TYPE,
        "properties.policyRules[0].trigger.objectType",
    ),
    (
        "trigger null",
        _edit("policyRules[0].trigger", None),
        C.MISSING_PROPERTY,
        "properties.policyRules[0].trigger",
    ),
    (
        "schedule not an object",
        _edit("policyRules[0].trigger.schedule", "PT4H"),
        C.INVALID_PROPERTY_TYPE,
        SCHEDULE,
    ),
    (
        "no intervals",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals", []),
        C.INVALID_SCHEDULE,
        f"{SCHEDULE}.repeatingTimeIntervals",
    ),
    (
        "two intervals",
        _edit(
            "policyRules[0].trigger.schedule.repeatingTimeIntervals", ["R/2020-04-05T13:00:00+00:00/PT4H"] * 2
        ),
        C.INVALID_SCHEDULE,
        f"{SCHEDULE}.repeatingTimeIntervals",
    ),
    (
        "interval not a string",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", 4),
        C.INVALID_PROPERTY_TYPE,
        INTERVAL,
    ),
    (
        "no R prefix",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "2020-04-05T13:00:00+00:00/PT4H"),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "bad R count",
        _edit(
            "policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "Rx/2020-04-05T13:00:00+00:00/PT4H"
        ),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "time only",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/T13:00:00/PT4H"),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "date only",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05/PT4H"),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "bad duration",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05T13:00:00Z/4 hours"),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "start before 1970",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/1969-12-31T23:00:00Z/PT4H"),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "start at the end of time",
        _edit(
            "policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/9999-12-31T23:00:00-05:00/PT4H"
        ),
        C.INVALID_SCHEDULE,
        INTERVAL,
    ),
    (
        "every 3 hours",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05T13:00:00Z/PT3H"),
        C.UNSUPPORTED_BACKUP_FREQUENCY,
        INTERVAL,
    ),
    (
        "every 30 minutes",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05T13:00:00Z/PT30M"),
        C.UNSUPPORTED_BACKUP_FREQUENCY,
        INTERVAL,
    ),
    (
        "weekly backups",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05T13:00:00Z/P1W"),
        C.UNSUPPORTED_BACKUP_FREQUENCY,
        INTERVAL,
    ),
    (
        "monthly backups",
        _edit("policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", "R/2020-04-05T13:00:00Z/P1M"),
        C.UNSUPPORTED_BACKUP_FREQUENCY,
        INTERVAL,
    ),
    (
        "unknown time zone",
        _edit("policyRules[0].trigger.schedule.timeZone", "Mars Standard Time"),
        C.UNSUPPORTED_TIME_ZONE,
        f"{SCHEDULE}.timeZone",
    ),
    (
        "path-like time zone",
        _edit("policyRules[0].trigger.schedule.timeZone", "../../etc/passwd"),
        C.UNSUPPORTED_TIME_ZONE,
        f"{SCHEDULE}.timeZone",
    ),
    (
        "time zone a number",
        _edit("policyRules[0].trigger.schedule.timeZone", 1),
        C.INVALID_PROPERTY_TYPE,
        f"{SCHEDULE}.timeZone",
    ),
    (
        "taggingCriteria missing",
        _remove("policyRules[0].trigger.taggingCriteria"),
        C.MISSING_PROPERTY,
        CRITERIA,
    ),
    ("no Default tag", _edit("policyRules[0].trigger.taggingCriteria", []), C.MISSING_PROPERTY, CRITERIA),
    (
        "custom tag",
        _append_criterion(tagging_criterion("Monthly", 15, "FirstOfMonth")),
        C.UNSUPPORTED_RETENTION_TAG,
        f"{DAILY_CRITERION}.tagInfo.tagName",
    ),
    (
        "tagName missing",
        _remove("policyRules[0].trigger.taggingCriteria[0].tagInfo.tagName"),
        C.MISSING_PROPERTY,
        f"{CRITERIA}[0].tagInfo.tagName",
    ),
    (
        "priority a string",
        _edit("policyRules[0].trigger.taggingCriteria[0].taggingPriority", "99"),
        C.INVALID_PROPERTY_TYPE,
        f"{CRITERIA}[0].taggingPriority",
    ),
    (
        "priority a boolean",
        _edit("policyRules[0].trigger.taggingCriteria[0].taggingPriority", True),
        C.INVALID_PROPERTY_TYPE,
        f"{CRITERIA}[0].taggingPriority",
    ),
    (
        "isDefault a string",
        _edit("policyRules[0].trigger.taggingCriteria[0].isDefault", "true"),
        C.INVALID_PROPERTY_TYPE,
        f"{CRITERIA}[0].isDefault",
    ),
    (
        "Default tag not default",
        _edit("policyRules[0].trigger.taggingCriteria[0].isDefault", False),
        C.INVALID_PROPERTY_VALUE,
        f"{CRITERIA}[0].isDefault",
    ),
    (
        "Default tag with criteria",
        _edit(
            "policyRules[0].trigger.taggingCriteria[0].criteria",
            [{"objectType": "ScheduleBasedBackupCriteria"}],
        ),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{CRITERIA}[0].criteria",
    ),
    (
        "Daily marked default",
        _with_daily(_edit("policyRules[0].trigger.taggingCriteria[1].isDefault", True)),
        C.INVALID_PROPERTY_VALUE,
        f"{DAILY_CRITERION}.isDefault",
    ),
    (
        "Daily with FirstOfWeek",
        _with_daily(
            _edit("policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria", ["FirstOfWeek"])
        ),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{DAILY_CRITERION}.criteria[0].absoluteCriteria",
    ),
    (
        "Daily with FirstOfMonth",
        _with_daily(
            _edit("policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria", ["FirstOfMonth"])
        ),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{DAILY_CRITERION}.criteria[0].absoluteCriteria",
    ),
    (
        "Daily with two markers",
        _with_daily(
            _edit(
                "policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria",
                ["FirstOfDay", "AllBackup"],
            )
        ),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{DAILY_CRITERION}.criteria[0].absoluteCriteria",
    ),
    (
        "Daily without criteria",
        _with_daily(_remove("policyRules[0].trigger.taggingCriteria[1].criteria")),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{DAILY_CRITERION}.criteria",
    ),
    (
        "Daily on weekdays",
        _with_daily(_edit("policyRules[0].trigger.taggingCriteria[1].criteria[0].daysOfTheWeek", ["Monday"])),
        C.UNSUPPORTED_TAGGING_CRITERIA,
        f"{DAILY_CRITERION}.criteria[0].daysOfTheWeek",
    ),
    (
        "criterion objectType",
        _with_daily(_edit("policyRules[0].trigger.taggingCriteria[1].criteria[0].objectType", "Other")),
        C.UNSUPPORTED_OBJECT_TYPE,
        f"{DAILY_CRITERION}.criteria[0].objectType",
    ),
    (
        "duplicate tag",
        _append_criterion(tagging_criterion("Default", 98, None)),
        C.DUPLICATE_TAG,
        f"{DAILY_CRITERION}.tagInfo.tagName",
    ),
    (
        "duplicate priority",
        _with_daily(_edit("policyRules[0].trigger.taggingCriteria[1].taggingPriority", 99)),
        C.DUPLICATE_TAGGING_PRIORITY,
        f"{DAILY_CRITERION}.taggingPriority",
    ),
    (
        "tag without retention rule",
        _append_criterion(tagging_criterion("Weekly", 20, "FirstOfWeek")),
        C.TAG_WITHOUT_RETENTION_RULE,
        DAILY_CRITERION,
    ),
    (
        "retention rule without tag",
        _append_rule(retention_rule("Weekly", "P12W")),
        C.RETENTION_RULE_WITHOUT_TAG,
        "properties.policyRules[2].name",
    ),
    (
        "custom retention rule",
        _append_rule(retention_rule("Quarterly", "P90D")),
        C.UNSUPPORTED_RETENTION_TAG,
        "properties.policyRules[2].name",
    ),
    (
        "Default rule not default",
        _edit("policyRules[1].isDefault", False),
        C.INVALID_PROPERTY_VALUE,
        "properties.policyRules[1].isDefault",
    ),
    (
        "isDefault missing",
        _remove("policyRules[1].isDefault"),
        C.MISSING_PROPERTY,
        "properties.policyRules[1].isDefault",
    ),
    (
        "no lifecycles",
        _edit("policyRules[1].lifecycles", []),
        C.INVALID_PROPERTY_VALUE,
        "properties.policyRules[1].lifecycles",
    ),
    (
        "copy to vault",
        _edit(
            "policyRules[1].lifecycles[0].targetDataStoreCopySettings",
            [{"copyAfter": {"objectType": "ImmediateCopyOption"}}],
        ),
        C.UNSUPPORTED_DATA_STORE,
        "properties.policyRules[1].lifecycles[0].targetDataStoreCopySettings",
    ),
    (
        "source store",
        _edit("policyRules[1].lifecycles[0].sourceDataStore.dataStoreType", "VaultStore"),
        C.UNSUPPORTED_DATA_STORE,
        "properties.policyRules[1].lifecycles[0].sourceDataStore.dataStoreType",
    ),
    (
        "relative delete",
        _edit("policyRules[1].lifecycles[0].deleteAfter.objectType", "RelativeDeleteOption"),
        C.UNSUPPORTED_OBJECT_TYPE,
        "properties.policyRules[1].lifecycles[0].deleteAfter.objectType",
    ),
    (
        "duration missing",
        _remove("policyRules[1].lifecycles[0].deleteAfter.duration"),
        C.MISSING_PROPERTY,
        DEFAULT_DURATION,
    ),
    (
        "duration not ISO",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "7 days"),
        C.INVALID_DURATION,
        DEFAULT_DURATION,
    ),
    (
        "duration zero",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "P0D"),
        C.INVALID_DURATION,
        DEFAULT_DURATION,
    ),
    (
        "duration negative",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "-P7D"),
        C.INVALID_DURATION,
        DEFAULT_DURATION,
    ),
    (
        "fractional months",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "P1.5M"),
        C.INVALID_DURATION,
        DEFAULT_DURATION,
    ),
    (
        "retention over a year",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "P367D"),
        C.RETENTION_TOO_LONG,
        DEFAULT_DURATION,
    ),
    (
        "retention a year and a day",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "P1Y1D"),
        C.RETENTION_TOO_LONG,
        DEFAULT_DURATION,
    ),
    (
        "retention 13 months",
        _edit("policyRules[1].lifecycles[0].deleteAfter.duration", "P13M"),
        C.RETENTION_TOO_LONG,
        DEFAULT_DURATION,
    ),
    (
        "too many hourly points",
        lambda d: policy_document_into(d, interval="R/2020-04-05T13:00:00Z/PT1H", default="P19D"),
        C.TOO_MANY_RECOVERY_POINTS,
        DEFAULT_DURATION,
    ),
]


def policy_document_into(document: dict[str, Any], **kwargs: Any) -> None:
    document.clear()
    document.update(policy_document(**kwargs))


@pytest.mark.parametrize(
    ("edit", "code", "target"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_refusals_name_the_field(
    edit: Callable[[dict[str, Any]], Any], code: PolicyErrorCode, target: str
) -> None:
    document = default_template()
    edit(document)

    with pytest.raises(ValidationError) as raised:
        parse_backup_policy(document)

    assert (raised.value.code, raised.value.target) == (code.value, target)
    assert raised.value.status == 400
    assert raised.value.to_arm_error()["error"]["target"] == target  # type: ignore[index]


@pytest.mark.parametrize("properties", [None, [], "policy", 4, True])
def test_properties_must_be_an_object(properties: object) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_backup_policy(properties)

    assert (raised.value.code, raised.value.target) == ("InvalidPropertyType", "properties")


@pytest.mark.parametrize(
    ("interval", "hours"),
    [("PT1H", 1), ("PT2H", 2), ("PT4H", 4), ("PT6H", 6), ("PT8H", 8), ("PT12H", 12), ("P1D", 24)],
)
def test_every_documented_frequency_is_accepted(interval: str, hours: int) -> None:
    policy = build_policy(interval=f"R/2024-01-01T00:00:00Z/{interval}", default="P7D")

    assert policy.schedule.interval == timedelta(hours=hours)


def test_repeat_count_is_ignored() -> None:
    with_count = build_policy(interval="R5/2020-04-05T13:00:00+00:00/PT4H")

    assert with_count.schedule == build_policy().schedule


@pytest.mark.parametrize("duration", ["P1Y", "P12M", "P52W", "P365D", "P366D"])
def test_retention_up_to_one_calendar_year_is_accepted(duration: str) -> None:
    assert build_policy(interval="R/2024-01-01T00:00:00Z/P1D", default=duration).retention_rules


@pytest.mark.parametrize(
    ("interval", "default", "daily", "weekly", "expected"),
    [
        ("PT4H", "P7D", None, None, 42),
        ("PT1H", "P18D", None, None, 432),
        ("PT12H", "P224D", None, None, 448),
        ("PT12H", "P225D", None, None, 450),  # Azure's documented edge: accepted
        ("P1D", "P1Y", None, None, 366),
        ("PT4H", "P7D", "P30D", None, 42 + 23),
        ("PT4H", "P7D", "P30D", "P12W", 42 + 23 + 8),  # 12 weeks beyond 30 days: 54 days, 8 weeks
        ("PT4H", "P30D", "P7D", None, 180),  # a shorter Daily keeps nothing extra
        ("PT12H", "P1D", None, "P1Y", 2 + 53),  # P1Y is at most 366 days; (366 - 1) / 7, rounded up
    ],
)
def test_scheduled_recovery_point_count(
    interval: str, default: str, daily: str | None, weekly: str | None, expected: int
) -> None:
    policy = build_policy(
        interval=f"R/2024-01-01T00:00:00Z/{interval}", default=default, daily=daily, weekly=weekly
    )

    assert scheduled_recovery_points(policy) == expected


@pytest.mark.parametrize(
    ("kwargs", "target"),
    [
        ({"interval": "R/2024-01-01T00:00:00Z/PT12H", "default": "P226D"}, DEFAULT_DURATION),
        # Default alone is fine (168); the Daily rule is what takes it over 450.
        (
            {"interval": "R/2024-01-01T00:00:00Z/PT1H", "default": "P7D", "daily": "P1Y"},
            "properties.policyRules[2].lifecycles[0].deleteAfter.duration",
        ),
        (
            {"interval": "R/2024-01-01T00:00:00Z/PT2H", "default": "P30D", "daily": "P100D", "weekly": "P1Y"},
            "properties.policyRules[3].lifecycles[0].deleteAfter.duration",
        ),
    ],
)
def test_snapshot_budget_refusal_names_the_rule_that_crosses_it(kwargs: dict[str, str], target: str) -> None:
    with pytest.raises(ValidationError) as raised:
        build_policy(**kwargs)

    assert (raised.value.code, raised.value.target) == ("TooManyRecoveryPoints", target)
    assert "450" in raised.value.message


@pytest.mark.parametrize(
    ("sku", "interval", "allowed"),
    [
        ("PremiumV2_LRS", "PT4H", False),
        ("UltraSSD_LRS", "PT1H", False),
        ("ultrassd_lrs", "PT8H", False),
        ("PremiumV2_LRS", "PT12H", True),
        ("UltraSSD_LRS", "P1D", True),
        ("Premium_LRS", "PT1H", True),
        ("StandardSSD_ZRS", "PT2H", True),
    ],
)
def test_premium_v2_and_ultra_disks_need_twelve_hours_or_daily(
    sku: str, interval: str, allowed: bool
) -> None:
    policy = build_policy(interval=f"R/2024-01-01T00:00:00Z/{interval}", default="P2D")

    if allowed:
        check_policy_supports_disk_sku(policy, sku)
        return
    with pytest.raises(ValidationError) as raised:
        check_policy_supports_disk_sku(policy, sku)
    assert (raised.value.code, raised.value.target) == ("BackupFrequencyNotSupportedForDiskSku", INTERVAL)


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("UTC", "UTC"),
        ("Coordinated Universal Time", "UTC"),
        ("coordinated universal time", "UTC"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("India Standard Time", "Asia/Kolkata"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),
        ("Asia/Kathmandu", "Asia/Kathmandu"),
    ],
)
def test_time_zone_names(name: str, zone: str) -> None:
    policy = build_policy(time_zone=name)

    assert policy.schedule.time_zone == ZoneInfo(zone)
    assert policy.schedule.time_zone_name == name


@pytest.mark.parametrize("windows_name", sorted(WINDOWS_TIME_ZONES))
def test_every_mapped_windows_zone_exists_in_tzdata(windows_name: str) -> None:
    assert lookup_time_zone(windows_name) == ZoneInfo(WINDOWS_TIME_ZONES[windows_name])


def test_start_offset_is_an_instant_and_the_zone_gives_its_wall_clock_time() -> None:
    # 22:00 UTC on 20 May is midnight in Berlin (CEST), so the schedule is anchored at 00:00 local.
    policy = build_policy(interval="R/2021-05-20T22:00:00+00:00/PT4H", time_zone="W. Europe Standard Time")

    assert policy.schedule.local_start_time == time(0, 0)


def test_start_without_offset_is_read_in_the_policy_time_zone() -> None:
    policy = build_policy(interval="R/2024-01-10T02:00:00/P1D", time_zone="India Standard Time")

    assert policy.schedule.start == datetime(2024, 1, 9, 20, 30, tzinfo=UTC)


def test_without_a_time_zone_the_start_offset_is_the_zone() -> None:
    policy = build_policy(interval="R/2024-01-10T02:00:00+05:30/P1D")

    assert policy.schedule.time_zone_name == "UTC+05:30"
    assert policy.schedule.local_start_time == time(2, 0)


def test_seconds_in_the_start_are_dropped() -> None:
    policy = build_policy(interval="R/2023-10-15T14:30:45.123+05:30/P1D")

    assert policy.schedule.start == datetime(2023, 10, 15, 9, 0, tzinfo=UTC)


def _paths(node: Any, prefix: str = "") -> list[str]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, f"{prefix}[{index}]")
    return found


TEMPLATE_PATHS = _paths(policy_document(daily="P30D", weekly="P12W"))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(TEMPLATE_PATHS), value=JSON_VALUES, delete=st.booleans())
def test_any_damaged_policy_is_accepted_or_refused_with_a_validation_error(
    path: str, value: object, delete: bool
) -> None:
    document = policy_document(daily="P30D", weekly="P12W")
    if delete:
        delete_at(document, path)
    else:
        set_at(document, path, value)

    target = "accepted"
    try:
        parse_backup_policy(document)
    except ValidationError as error:
        target = error.target or ""
    assert target == "accepted" or target.startswith("properties")
