"""Backup policies in Azure's own format (Microsoft.DataProtection ``BackupPolicy`` for disks).

:func:`parse_backup_policy` takes the policy ``properties`` object, exactly what a REST body
carries under ``"properties"`` and what ``az dataprotection backup-policy
get-default-policy-template --datasource-type AzureDisk`` prints, and returns a typed
:class:`BackupPolicy` or raises :class:`~backup.errors.ValidationError` whose ``target`` is
the JSON path of the offending field (``properties.policyRules[0].trigger...``).

As ARM does, unknown fields are ignored (so the CLI template's top-level ``name`` is
harmless) and property names are matched exactly as Azure spells them. Known fields that would
ask for something disks cannot do (vault-tier copies, custom tags, weekday criteria) are
refused rather than ignored, so a policy never silently means less than it says.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, NoReturn

from backup.domain.durations import IsoDuration, parse_iso_datetime, parse_iso_duration
from backup.domain.limits import (
    EARLIEST_SCHEDULE_START,
    LATEST_SCHEDULE_START,
    MAX_RETENTION,
    MAX_SCHEDULED_RECOVERY_POINTS,
    RESTRICTED_DISK_SKUS,
    RESTRICTED_SKU_BACKUP_INTERVALS,
    STANDARD_BACKUP_INTERVALS,
)
from backup.domain.models import RetentionTag, TagCriterion
from backup.domain.schedule import Schedule
from backup.domain.timezones import lookup_time_zone
from backup.errors import ValidationError

DISK_DATASOURCE_TYPE = "Microsoft.Compute/disks"
OPERATIONAL_STORE = "OperationalStore"

_CRITERION_FOR_TAG = {
    RetentionTag.DAILY: TagCriterion.FIRST_OF_DAY,
    RetentionTag.WEEKLY: TagCriterion.FIRST_OF_WEEK,
}
_TAG_PERIOD = {RetentionTag.DAILY: timedelta(days=1), RetentionTag.WEEKLY: timedelta(days=7)}
# Weekday and calendar selectors of ScheduleBasedBackupCriteria; disks support only the absolute markers.
_UNSUPPORTED_CRITERIA_FIELDS = (
    "daysOfMonth",
    "daysOfTheWeek",
    "monthsOfYear",
    "scheduleTimes",
    "weeksOfTheMonth",
)


class PolicyErrorCode(StrEnum):
    """The ``code`` of every ValidationError a policy can raise."""

    MISSING_PROPERTY = "MissingProperty"
    INVALID_PROPERTY_TYPE = "InvalidPropertyType"
    INVALID_PROPERTY_VALUE = "InvalidPropertyValue"
    UNSUPPORTED_OBJECT_TYPE = "UnsupportedObjectType"
    UNSUPPORTED_DATASOURCE_TYPE = "UnsupportedDatasourceType"
    UNSUPPORTED_DATA_STORE = "UnsupportedDataStoreType"
    MULTIPLE_BACKUP_RULES = "MultipleBackupRules"
    MISSING_BACKUP_RULE = "MissingBackupRule"
    MISSING_DEFAULT_RETENTION_RULE = "MissingDefaultRetentionRule"
    DUPLICATE_RETENTION_RULE = "DuplicateRetentionRule"
    UNSUPPORTED_RETENTION_TAG = "UnsupportedRetentionTag"
    DUPLICATE_TAG = "DuplicateTaggingCriterion"
    DUPLICATE_TAGGING_PRIORITY = "DuplicateTaggingPriority"
    UNSUPPORTED_TAGGING_CRITERIA = "UnsupportedTaggingCriteria"
    RETENTION_RULE_WITHOUT_TAG = "RetentionRuleWithoutTaggingCriterion"
    TAG_WITHOUT_RETENTION_RULE = "TaggingCriterionWithoutRetentionRule"
    INVALID_SCHEDULE = "InvalidRepeatingTimeInterval"
    UNSUPPORTED_BACKUP_FREQUENCY = "UnsupportedBackupFrequency"
    UNSUPPORTED_TIME_ZONE = "UnsupportedTimeZone"
    INVALID_DURATION = "InvalidDuration"
    RETENTION_TOO_LONG = "RetentionTooLong"
    TOO_MANY_RECOVERY_POINTS = "TooManyRecoveryPoints"
    FREQUENCY_NOT_SUPPORTED_FOR_DISK = "BackupFrequencyNotSupportedForDiskSku"


@dataclass(frozen=True)
class TaggingCriterion:
    tag: RetentionTag
    priority: int
    """Lower wins: a point earning several tags reports the one with the lowest number."""
    criterion: TagCriterion | None
    """``None`` for Default, which every scheduled backup earns."""


@dataclass(frozen=True)
class RetentionRule:
    tag: RetentionTag
    delete_after: IsoDuration
    target: str = field(compare=False)
    """JSON path of ``deleteAfter.duration``, for errors raised after parsing."""


@dataclass(frozen=True)
class BackupPolicy:
    backup_rule_name: str
    schedule: Schedule
    tagging_criteria: tuple[TaggingCriterion, ...]
    """Sorted by priority, highest (lowest number) first."""
    retention_rules: tuple[RetentionRule, ...]
    schedule_target: str = field(compare=False)
    document: Mapping[str, Any] = field(compare=False, repr=False)
    """A private copy of the ``properties`` object as given; see :meth:`to_json`."""

    def to_json(self) -> dict[str, Any]:
        """The ``properties`` object exactly as it was submitted, for the API to return unchanged."""
        return copy.deepcopy(dict(self.document))

    def retention_for(self, tag: RetentionTag) -> IsoDuration:
        return self.retention_rule(tag).delete_after

    def retention_rule(self, tag: RetentionTag) -> RetentionRule:
        for rule in self.retention_rules:
            if rule.tag is tag:
                return rule
        raise KeyError(tag)

    def priority_of(self, tag: RetentionTag) -> int:
        for criterion in self.tagging_criteria:
            if criterion.tag is tag:
                return criterion.priority
        raise KeyError(tag)

    @property
    def tags(self) -> tuple[RetentionTag, ...]:
        return tuple(criterion.tag for criterion in self.tagging_criteria)


def parse_backup_policy(properties: object, *, path: str = "properties") -> BackupPolicy:
    """Parse and validate a disk backup policy; raises ValidationError naming the field."""
    document = _object(properties, path)
    _expect(
        _string(_required(document, "objectType", path), f"{path}.objectType"),
        "BackupPolicy",
        f"{path}.objectType",
        PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
    )
    _parse_datasource_types(_required(document, "datasourceTypes", path), f"{path}.datasourceTypes")

    rules_path = f"{path}.policyRules"
    rules = _list(_required(document, "policyRules", path), rules_path)
    backup_rule: _ParsedBackupRule | None = None
    retention: dict[RetentionTag, RetentionRule] = {}
    retention_name_paths: dict[RetentionTag, str] = {}
    for index, raw_rule in enumerate(rules):
        rule_path = f"{rules_path}[{index}]"
        rule = _object(raw_rule, rule_path)
        object_type = _string(_required(rule, "objectType", rule_path), f"{rule_path}.objectType")
        if object_type == "AzureBackupRule":
            if backup_rule is not None:
                _fail(
                    PolicyErrorCode.MULTIPLE_BACKUP_RULES,
                    rule_path,
                    "A disk backup policy has exactly one backup rule (AzureBackupRule).",
                )
            backup_rule = _parse_backup_rule(rule, rule_path)
        elif object_type == "AzureRetentionRule":
            parsed = _parse_retention_rule(rule, rule_path)
            if parsed.tag in retention:
                _fail(
                    PolicyErrorCode.DUPLICATE_RETENTION_RULE,
                    f"{rule_path}.name",
                    f"There is already a retention rule named {parsed.tag.value!r}.",
                )
            retention[parsed.tag] = parsed
            retention_name_paths[parsed.tag] = f"{rule_path}.name"
        else:
            _fail(
                PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
                f"{rule_path}.objectType",
                f"Unsupported policy rule objectType {object_type!r}; expected AzureBackupRule or "
                "AzureRetentionRule.",
            )
    if backup_rule is None:
        _fail(
            PolicyErrorCode.MISSING_BACKUP_RULE,
            rules_path,
            "The policy has no backup rule (AzureBackupRule).",
        )
    if RetentionTag.DEFAULT not in retention:
        _fail(
            PolicyErrorCode.MISSING_DEFAULT_RETENTION_RULE,
            rules_path,
            "The policy has no Default retention rule "
            "(an AzureRetentionRule named 'Default' with isDefault true).",
        )

    tagged = {criterion.tag for criterion in backup_rule.tagging_criteria}
    for tag, criterion_path in backup_rule.criterion_paths.items():
        if tag not in retention:
            _fail(
                PolicyErrorCode.TAG_WITHOUT_RETENTION_RULE,
                criterion_path,
                f"Tagging criterion {tag.value!r} has no retention rule named {tag.value!r}.",
            )
    for tag, name_path in retention_name_paths.items():
        if tag not in tagged:
            _fail(
                PolicyErrorCode.RETENTION_RULE_WITHOUT_TAG,
                name_path,
                f"Retention rule {tag.value!r} has no tagging criterion, so no backup would ever use it.",
            )

    policy = BackupPolicy(
        backup_rule_name=backup_rule.name,
        schedule=backup_rule.schedule,
        tagging_criteria=tuple(
            sorted(backup_rule.tagging_criteria, key=lambda criterion: criterion.priority)
        ),
        retention_rules=tuple(retention[tag] for tag in RetentionTag if tag in retention),
        schedule_target=backup_rule.schedule_target,
        document=copy.deepcopy(dict(document)),
    )
    _check_retention_limits(policy)
    return policy


def scheduled_recovery_points(policy: BackupPolicy) -> int:
    """How many scheduled points a disk on this policy can hold at once (see :mod:`backup.domain.limits`)."""
    return _scheduled_recovery_points_by_rule(policy)[-1][1]


def check_policy_supports_disk_sku(policy: BackupPolicy, disk_sku: str) -> None:
    """Refuse binding a Premium SSD v2 or Ultra disk to a schedule more frequent than 12 hours."""
    if disk_sku.strip().casefold() in RESTRICTED_DISK_SKUS and (
        policy.schedule.interval not in RESTRICTED_SKU_BACKUP_INTERVALS
    ):
        _fail(
            PolicyErrorCode.FREQUENCY_NOT_SUPPORTED_FOR_DISK,
            policy.schedule_target,
            f"Disks with SKU {disk_sku} support backups only every 12 hours (PT12H) or daily (P1D); "
            f"the policy backs up every {_interval_text(policy.schedule.interval)}.",
        )


@dataclass(frozen=True)
class _ParsedBackupRule:
    name: str
    schedule: Schedule
    schedule_target: str
    tagging_criteria: tuple[TaggingCriterion, ...]
    criterion_paths: dict[RetentionTag, str]


def _parse_datasource_types(value: object, path: str) -> None:
    types = _list(value, path)
    if not types:
        _fail(
            PolicyErrorCode.UNSUPPORTED_DATASOURCE_TYPE,
            path,
            f"datasourceTypes must be [{DISK_DATASOURCE_TYPE!r}].",
        )
    for index, item in enumerate(types):
        item_path = f"{path}[{index}]"
        # ARM resource types compare case-insensitively.
        if _string(item, item_path).casefold() != DISK_DATASOURCE_TYPE.casefold() or index > 0:
            _fail(
                PolicyErrorCode.UNSUPPORTED_DATASOURCE_TYPE,
                item_path,
                f"Only {DISK_DATASOURCE_TYPE} is supported, once; got {item!r}.",
            )


def _parse_backup_rule(rule: Mapping[str, object], path: str) -> _ParsedBackupRule:
    name = _non_empty_string(_required(rule, "name", path), f"{path}.name")
    parameters = _optional(rule, "backupParameters")
    if parameters is not None:
        parameters_path = f"{path}.backupParameters"
        parameters_object = _object(parameters, parameters_path)
        _expect(
            _string(
                _required(parameters_object, "objectType", parameters_path), f"{parameters_path}.objectType"
            ),
            "AzureBackupParams",
            f"{parameters_path}.objectType",
            PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
        )
        _expect(
            _string(
                _required(parameters_object, "backupType", parameters_path), f"{parameters_path}.backupType"
            ),
            "Incremental",
            f"{parameters_path}.backupType",
            PolicyErrorCode.INVALID_PROPERTY_VALUE,
        )
    _parse_data_store(_required(rule, "dataStore", path), f"{path}.dataStore")

    trigger_path = f"{path}.trigger"
    trigger = _object(_required(rule, "trigger", path), trigger_path)
    _expect(
        _string(_required(trigger, "objectType", trigger_path), f"{trigger_path}.objectType"),
        "ScheduleBasedTriggerContext",
        f"{trigger_path}.objectType",
        PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
    )
    schedule_path = f"{trigger_path}.schedule"
    schedule_object = _object(_required(trigger, "schedule", trigger_path), schedule_path)
    time_zone_name = _optional(schedule_object, "timeZone")
    time_zone_text = None if time_zone_name is None else _string(time_zone_name, f"{schedule_path}.timeZone")
    intervals_path = f"{schedule_path}.repeatingTimeIntervals"
    intervals = _list(_required(schedule_object, "repeatingTimeIntervals", schedule_path), intervals_path)
    if len(intervals) != 1:
        _fail(
            PolicyErrorCode.INVALID_SCHEDULE,
            intervals_path,
            f"A disk backup rule needs exactly one repeating time interval; got {len(intervals)}.",
        )
    schedule_target = f"{intervals_path}[0]"
    schedule = _parse_schedule(
        _string(intervals[0], schedule_target), schedule_target, time_zone_text, f"{schedule_path}.timeZone"
    )

    criteria_path = f"{trigger_path}.taggingCriteria"
    criteria: list[TaggingCriterion] = []
    criterion_paths: dict[RetentionTag, str] = {}
    priority_paths: dict[int, str] = {}
    for index, raw in enumerate(_list(_required(trigger, "taggingCriteria", trigger_path), criteria_path)):
        criterion_path = f"{criteria_path}[{index}]"
        criterion = _parse_tagging_criterion(raw, criterion_path)
        if criterion.tag in criterion_paths:
            _fail(
                PolicyErrorCode.DUPLICATE_TAG,
                f"{criterion_path}.tagInfo.tagName",
                f"Tag {criterion.tag.value!r} has more than one tagging criterion.",
            )
        if criterion.priority in priority_paths:
            _fail(
                PolicyErrorCode.DUPLICATE_TAGGING_PRIORITY,
                f"{criterion_path}.taggingPriority",
                f"taggingPriority {criterion.priority} is used twice; each tag needs its own priority.",
            )
        criteria.append(criterion)
        criterion_paths[criterion.tag] = criterion_path
        priority_paths[criterion.priority] = criterion_path
    if RetentionTag.DEFAULT not in criterion_paths:
        _fail(
            PolicyErrorCode.MISSING_PROPERTY,
            criteria_path,
            "taggingCriteria must contain the Default tag (tagName 'Default', isDefault true).",
        )
    return _ParsedBackupRule(name, schedule, schedule_target, tuple(criteria), criterion_paths)


def _parse_schedule(text: str, path: str, time_zone_name: str | None, time_zone_path: str) -> Schedule:
    parts = text.split("/")
    if len(parts) != 3 or not parts[0].startswith("R") or not (parts[0] == "R" or parts[0][1:].isdigit()):
        _fail(
            PolicyErrorCode.INVALID_SCHEDULE,
            path,
            "Expected R/<start date-time>/<interval>, such as R/2020-04-05T13:00:00+00:00/PT4H; "
            f"got {text!r}.",
        )
    # The repeat count after R is ignored, as Azure does: backups run until protection stops.
    _, start_text, interval_text = parts
    try:
        start = parse_iso_datetime(start_text)
    except ValueError:
        _fail(
            PolicyErrorCode.INVALID_SCHEDULE,
            path,
            f"The start {start_text!r} is not an ISO 8601 date and time "
            "(a time alone or a date alone is refused).",
        )
    try:
        interval = parse_iso_duration(interval_text)
    except ValueError:
        _fail(
            PolicyErrorCode.INVALID_SCHEDULE,
            path,
            f"The interval {interval_text!r} is not an ISO 8601 duration.",
        )
    if interval.months or interval.exact not in STANDARD_BACKUP_INTERVALS:
        _fail(
            PolicyErrorCode.UNSUPPORTED_BACKUP_FREQUENCY,
            path,
            f"Unsupported backup interval {interval_text!r}; use PT1H, PT2H, PT4H, PT6H, PT8H, PT12H or P1D.",
        )

    zone: tzinfo
    if time_zone_name is not None and time_zone_name.strip():
        found = lookup_time_zone(time_zone_name)
        if found is None:
            _fail(
                PolicyErrorCode.UNSUPPORTED_TIME_ZONE,
                time_zone_path,
                f"Unknown time zone {time_zone_name!r}; use an IANA name (Europe/Berlin) or a Windows "
                "time zone ID (W. Europe Standard Time).",
            )
        zone, zone_name = found, time_zone_name
    else:
        offset = start.utcoffset() if start.tzinfo is not None else None
        zone = timezone(offset) if offset else UTC
        zone_name = _offset_name(offset)
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    if not EARLIEST_SCHEDULE_START <= start < LATEST_SCHEDULE_START:
        _fail(
            PolicyErrorCode.INVALID_SCHEDULE,
            path,
            f"The start {start_text!r} must be in the years "
            f"{EARLIEST_SCHEDULE_START:%Y} to {LATEST_SCHEDULE_START.year - 1}.",
        )
    return Schedule(start=start, interval=interval.exact, time_zone=zone, time_zone_name=zone_name)


def _parse_tagging_criterion(value: object, path: str) -> TaggingCriterion:
    criterion = _object(value, path)
    tag_info_path = f"{path}.tagInfo"
    tag_info = _object(_required(criterion, "tagInfo", path), tag_info_path)
    tag = _tag(
        _string(_required(tag_info, "tagName", tag_info_path), f"{tag_info_path}.tagName"),
        f"{tag_info_path}.tagName",
    )
    priority = _int(_required(criterion, "taggingPriority", path), f"{path}.taggingPriority")
    is_default = _bool(_required(criterion, "isDefault", path), f"{path}.isDefault")
    if is_default != (tag is RetentionTag.DEFAULT):
        _fail(
            PolicyErrorCode.INVALID_PROPERTY_VALUE,
            f"{path}.isDefault",
            f"isDefault must be {str(tag is RetentionTag.DEFAULT).lower()} for tag {tag.value!r}.",
        )

    criteria_path = f"{path}.criteria"
    criteria = _optional_list(criterion, "criteria", criteria_path)
    if tag is RetentionTag.DEFAULT:
        if criteria:
            _fail(
                PolicyErrorCode.UNSUPPORTED_TAGGING_CRITERIA,
                criteria_path,
                "The Default tag applies to every backup and takes no criteria.",
            )
        return TaggingCriterion(tag=tag, priority=priority, criterion=None)

    expected = _CRITERION_FOR_TAG[tag]
    if len(criteria) != 1:
        _fail(
            PolicyErrorCode.UNSUPPORTED_TAGGING_CRITERIA,
            criteria_path,
            f"Tag {tag.value!r} needs exactly one criterion with absoluteCriteria [{expected.value!r}].",
        )
    item_path = f"{criteria_path}[0]"
    item = _object(criteria[0], item_path)
    _expect(
        _string(_required(item, "objectType", item_path), f"{item_path}.objectType"),
        "ScheduleBasedBackupCriteria",
        f"{item_path}.objectType",
        PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
    )
    for unsupported in _UNSUPPORTED_CRITERIA_FIELDS:
        if _optional(item, unsupported):
            _fail(
                PolicyErrorCode.UNSUPPORTED_TAGGING_CRITERIA,
                f"{item_path}.{unsupported}",
                f"{unsupported} is not supported for disk backups; only absoluteCriteria is.",
            )
    markers_path = f"{item_path}.absoluteCriteria"
    markers = _list(_required(item, "absoluteCriteria", item_path), markers_path)
    if len(markers) != 1 or _string(markers[0], f"{markers_path}[0]") != expected.value:
        _fail(
            PolicyErrorCode.UNSUPPORTED_TAGGING_CRITERIA,
            markers_path,
            f"Tag {tag.value!r} takes absoluteCriteria [{expected.value!r}]; got {markers!r}.",
        )
    return TaggingCriterion(tag=tag, priority=priority, criterion=expected)


def _parse_retention_rule(rule: Mapping[str, object], path: str) -> RetentionRule:
    tag = _tag(_string(_required(rule, "name", path), f"{path}.name"), f"{path}.name")
    is_default = _bool(_required(rule, "isDefault", path), f"{path}.isDefault")
    if is_default != (tag is RetentionTag.DEFAULT):
        _fail(
            PolicyErrorCode.INVALID_PROPERTY_VALUE,
            f"{path}.isDefault",
            f"isDefault must be {str(tag is RetentionTag.DEFAULT).lower()} for retention rule {tag.value!r}.",
        )
    lifecycles_path = f"{path}.lifecycles"
    lifecycles = _list(_required(rule, "lifecycles", path), lifecycles_path)
    if len(lifecycles) != 1:
        _fail(
            PolicyErrorCode.INVALID_PROPERTY_VALUE,
            lifecycles_path,
            "A disk retention rule has exactly one lifecycle (in the operational store); "
            f"got {len(lifecycles)}.",
        )
    lifecycle_path = f"{lifecycles_path}[0]"
    lifecycle = _object(lifecycles[0], lifecycle_path)
    _parse_data_store(
        _required(lifecycle, "sourceDataStore", lifecycle_path), f"{lifecycle_path}.sourceDataStore"
    )
    copies_path = f"{lifecycle_path}.targetDataStoreCopySettings"
    if _optional_list(lifecycle, "targetDataStoreCopySettings", copies_path):
        _fail(
            PolicyErrorCode.UNSUPPORTED_DATA_STORE,
            copies_path,
            "Disk backups stay in the operational store; copying to another data store is not supported.",
        )
    delete_path = f"{lifecycle_path}.deleteAfter"
    delete_after = _object(_required(lifecycle, "deleteAfter", lifecycle_path), delete_path)
    _expect(
        _string(_required(delete_after, "objectType", delete_path), f"{delete_path}.objectType"),
        "AbsoluteDeleteOption",
        f"{delete_path}.objectType",
        PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
    )
    duration_path = f"{delete_path}.duration"
    duration_text = _string(_required(delete_after, "duration", delete_path), duration_path)
    try:
        duration = parse_iso_duration(duration_text)
    except ValueError:
        _fail(
            PolicyErrorCode.INVALID_DURATION, duration_path, f"{duration_text!r} is not an ISO 8601 duration."
        )
    if not duration.is_positive():
        _fail(
            PolicyErrorCode.INVALID_DURATION,
            duration_path,
            f"The retention {duration_text!r} must be positive.",
        )
    return RetentionRule(tag=tag, delete_after=duration, target=duration_path)


def _parse_data_store(value: object, path: str) -> None:
    store = _object(value, path)
    _expect(
        _string(_required(store, "dataStoreType", path), f"{path}.dataStoreType"),
        OPERATIONAL_STORE,
        f"{path}.dataStoreType",
        PolicyErrorCode.UNSUPPORTED_DATA_STORE,
    )
    _expect(
        _string(_required(store, "objectType", path), f"{path}.objectType"),
        "DataStoreInfoBase",
        f"{path}.objectType",
        PolicyErrorCode.UNSUPPORTED_OBJECT_TYPE,
    )


def _check_retention_limits(policy: BackupPolicy) -> None:
    for rule in policy.retention_rules:
        if rule.delete_after.longest_span() > MAX_RETENTION:
            _fail(
                PolicyErrorCode.RETENTION_TOO_LONG,
                rule.target,
                f"Retention {rule.delete_after.text} for {rule.tag.value!r} exceeds the maximum of one year.",
            )
    for rule, count in _scheduled_recovery_points_by_rule(policy):
        if count > MAX_SCHEDULED_RECOVERY_POINTS:
            _fail(
                PolicyErrorCode.TOO_MANY_RECOVERY_POINTS,
                rule.target,
                f"This policy would keep up to {count} scheduled snapshots per disk (including the newest, "
                f"which is always kept); the limit is {MAX_SCHEDULED_RECOVERY_POINTS}. Shorten the retention "
                "or back up less often.",
            )


def _scheduled_recovery_points_by_rule(policy: BackupPolicy) -> list[tuple[RetentionRule, int]]:
    # Running total after each rule, so a refusal can name the rule that crossed the limit.
    # Daily and Weekly rules only add the points they keep beyond the longer rules before them.
    interval = policy.schedule.interval
    default = policy.retention_rule(RetentionTag.DEFAULT)
    covered = default.delete_after.longest_span()
    newest_kept = 1
    count = math.ceil(covered / interval) + newest_kept
    totals = [(default, count)]
    for tag in (RetentionTag.DAILY, RetentionTag.WEEKLY):
        if tag not in policy.tags:
            continue
        rule = policy.retention_rule(tag)
        span = rule.delete_after.longest_span()
        if span > covered:
            count += math.ceil((span - covered) / max(_TAG_PERIOD[tag], interval))
            covered = span
        totals.append((rule, count))
    return totals


def _interval_text(interval: timedelta) -> str:
    hours = interval // timedelta(hours=1)
    return "day" if interval == timedelta(days=1) else f"{hours} hours" if hours != 1 else "hour"


def _offset_name(offset: timedelta | None) -> str:
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _tag(name: str, path: str) -> RetentionTag:
    tag = RetentionTag.from_name(name)
    if tag is None:
        _fail(
            PolicyErrorCode.UNSUPPORTED_RETENTION_TAG,
            path,
            f"Unsupported retention tag {name!r}; disk policies use Default, Daily and Weekly.",
        )
    return tag


def _fail(code: PolicyErrorCode, target: str, message: str) -> NoReturn:
    raise ValidationError(message, code=code.value, target=target)


def _required(obj: Mapping[str, object], key: str, path: str) -> object:
    value = obj.get(key)
    if value is None:
        _fail(PolicyErrorCode.MISSING_PROPERTY, f"{path}.{key}", f"The property {key!r} is required.")
    return value


def _optional(obj: Mapping[str, object], key: str) -> object | None:
    return obj.get(key)


def _optional_list(obj: Mapping[str, object], key: str, path: str) -> Sequence[object]:
    value = obj.get(key)
    return () if value is None else _list(value, path)


def _object(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        _type_error(path, "an object", value)
    return value


def _list(value: object, path: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        _type_error(path, "an array", value)
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        _type_error(path, "a string", value)
    return value


def _non_empty_string(value: object, path: str) -> str:
    text = _string(value, path)
    if not text.strip():
        _fail(PolicyErrorCode.INVALID_PROPERTY_VALUE, path, "The value must not be empty.")
    return text


def _int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _type_error(path, "an integer", value)
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        _type_error(path, "a boolean", value)
    return value


def _expect(actual: str, expected: str, path: str, code: PolicyErrorCode) -> None:
    if actual != expected:
        _fail(code, path, f"Expected {expected!r}, got {actual!r}.")


def _type_error(path: str, expected: str, value: object) -> NoReturn:
    _fail(PolicyErrorCode.INVALID_PROPERTY_TYPE, path, f"Expected {expected}, got {_json_type(value)}.")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return "null" if value is None else type(value).__name__
