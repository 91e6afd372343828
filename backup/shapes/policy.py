"""``BackupPolicy`` for disks, as Azure's JSON spells it, and its conversion to the domain model.

The structs declare the shape once: they validate a PUT body (through
:func:`backup.shapes.common.decode`) and they are the OpenAPI schema. As ARM does, unknown
fields are ignored (so the CLI template's top-level ``name`` is harmless) and property names
are matched exactly as Azure spells them. Known fields that would ask for something disks
cannot do (vault-tier copies, custom tags, weekday criteria) are refused rather than ignored,
so a policy never silently means less than it says.

:func:`parse_backup_policy` adds what a type cannot say (one backup rule, one retention rule per
tag, the schedule's ISO 8601 repeating interval, the limits) and returns
:class:`backup.domain.policy.BackupPolicy`, or raises ValidationError whose ``target`` is the
JSON path of the offending field (``properties.policyRules[0].trigger...``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Annotated, Any, Literal, NoReturn

import msgspec

from backup.domain import policy as model
from backup.domain.durations import parse_iso_datetime, parse_iso_duration
from backup.domain.limits import EARLIEST_SCHEDULE_START, LATEST_SCHEDULE_START, STANDARD_BACKUP_INTERVALS
from backup.domain.models import RetentionTag
from backup.domain.schedule import Schedule
from backup.domain.timezones import lookup_time_zone
from backup.errors import ValidationError
from backup.shapes.arm import ResourceId, ResourceName, ResourceType
from backup.shapes.common import decode

C = model.PolicyErrorCode
_VALUE_CODES = {
    "objectType": C.UNSUPPORTED_OBJECT_TYPE.value,
    "dataStoreType": C.UNSUPPORTED_DATA_STORE.value,
}
_NOT_BLANK = r"\S"


class DataStoreInfoBase(msgspec.Struct, rename="camel"):
    data_store_type: Literal["OperationalStore"]
    object_type: Literal["DataStoreInfoBase"]


class AzureBackupParams(msgspec.Struct, rename="camel"):
    object_type: Literal["AzureBackupParams"]
    backup_type: Literal["Incremental"]


class BackupSchedule(msgspec.Struct, rename="camel"):
    repeating_time_intervals: Annotated[
        list[str],
        msgspec.Meta(description="Exactly one ISO 8601 repeating interval, R/<start>/<PT1H..P1D>."),
    ]
    time_zone: Annotated[str, msgspec.Meta(description="IANA or Windows time zone.")] | None = None


class TagInfo(msgspec.Struct, rename="camel"):
    tag_name: Annotated[str, msgspec.Meta(description="Default, Daily or Weekly.")]
    id: str | None = None
    e_tag: str | None = None


class ScheduleBasedBackupCriteria(msgspec.Struct, rename="camel"):
    object_type: Literal["ScheduleBasedBackupCriteria"]
    absolute_criteria: list[str] | None = None
    days_of_month: list[Any] | None = None
    days_of_the_week: list[Any] | None = None
    months_of_year: list[Any] | None = None
    schedule_times: list[Any] | None = None
    weeks_of_the_month: list[Any] | None = None


class TaggingCriteria(msgspec.Struct, rename="camel"):
    tag_info: TagInfo
    tagging_priority: Annotated[int, msgspec.Meta(description="Lower wins when a backup earns several tags.")]
    is_default: bool
    criteria: list[ScheduleBasedBackupCriteria] | None = None


class ScheduleBasedTriggerContext(msgspec.Struct, rename="camel"):
    object_type: Literal["ScheduleBasedTriggerContext"]
    schedule: BackupSchedule
    tagging_criteria: list[TaggingCriteria]


class AzureBackupRule(msgspec.Struct, rename="camel", tag_field="objectType", tag="AzureBackupRule"):
    name: Annotated[str, msgspec.Meta(pattern=_NOT_BLANK)]
    data_store: DataStoreInfoBase
    trigger: ScheduleBasedTriggerContext
    backup_parameters: AzureBackupParams | None = None


class AbsoluteDeleteOption(msgspec.Struct, rename="camel"):
    object_type: Literal["AbsoluteDeleteOption"]
    duration: Annotated[str, msgspec.Meta(description="ISO 8601 duration, at most one year.")]


class SourceLifeCycle(msgspec.Struct, rename="camel"):
    source_data_store: DataStoreInfoBase
    delete_after: AbsoluteDeleteOption
    target_data_store_copy_settings: list[Any] | None = None


class AzureRetentionRule(msgspec.Struct, rename="camel", tag_field="objectType", tag="AzureRetentionRule"):
    name: Annotated[str, msgspec.Meta(description="The tag it keeps: Default, Daily or Weekly.")]
    is_default: bool
    lifecycles: list[SourceLifeCycle]


class BackupPolicy(msgspec.Struct, rename="camel"):
    """The ``properties`` of a backupPolicies resource."""

    object_type: Literal["BackupPolicy"]
    datasource_types: Annotated[list[str], msgspec.Meta(description="['Microsoft.Compute/disks']")]
    policy_rules: list[AzureBackupRule | AzureRetentionRule]


class BaseBackupPolicyResource(msgspec.Struct):
    """A backup policy: the PUT body (read-only fields are ignored) and the answer."""

    properties: BackupPolicy
    id: ResourceId | None = None
    name: ResourceName | None = None
    type: ResourceType | None = None


def parse_backup_policy(properties: object, *, path: str = "properties") -> model.BackupPolicy:
    """Parse and validate a disk backup policy; raises ValidationError naming the field."""
    if not isinstance(properties, dict):
        _type_error(path, properties)
    shape = decode(
        properties, BackupPolicy, at=path, type_code=C.INVALID_PROPERTY_TYPE, value_codes=_VALUE_CODES
    )
    _check_datasource_types(shape.datasource_types, f"{path}.datasourceTypes")

    rules_path = f"{path}.policyRules"
    backup_rule: _ParsedBackupRule | None = None
    retention: dict[RetentionTag, model.RetentionRule] = {}
    retention_name_paths: dict[RetentionTag, str] = {}
    for index, rule in enumerate(shape.policy_rules):
        rule_path = f"{rules_path}[{index}]"
        if isinstance(rule, AzureBackupRule):
            if backup_rule is not None:
                _fail(
                    C.MULTIPLE_BACKUP_RULES,
                    rule_path,
                    "A disk backup policy has exactly one backup rule (AzureBackupRule).",
                )
            backup_rule = _backup_rule(rule, rule_path)
            continue
        parsed = _retention_rule(rule, rule_path)
        if parsed.tag in retention:
            _fail(
                C.DUPLICATE_RETENTION_RULE,
                f"{rule_path}.name",
                f"There is already a retention rule named {parsed.tag.value!r}.",
            )
        retention[parsed.tag] = parsed
        retention_name_paths[parsed.tag] = f"{rule_path}.name"
    if backup_rule is None:
        _fail(C.MISSING_BACKUP_RULE, rules_path, "The policy has no backup rule (AzureBackupRule).")
    if RetentionTag.DEFAULT not in retention:
        _fail(
            C.MISSING_DEFAULT_RETENTION_RULE,
            rules_path,
            "The policy has no Default retention rule "
            "(an AzureRetentionRule named 'Default' with isDefault true).",
        )
    tagged = {criterion.tag for criterion in backup_rule.tagging_criteria}
    for tag, criterion_path in backup_rule.criterion_paths.items():
        if tag not in retention:
            _fail(
                C.TAG_WITHOUT_RETENTION_RULE,
                criterion_path,
                f"Tagging criterion {tag.value!r} has no retention rule named {tag.value!r}.",
            )
    for tag, name_path in retention_name_paths.items():
        if tag not in tagged:
            _fail(
                C.RETENTION_RULE_WITHOUT_TAG,
                name_path,
                f"Retention rule {tag.value!r} has no tagging criterion, so no backup would ever use it.",
            )
    policy = model.BackupPolicy(
        backup_rule_name=backup_rule.name,
        schedule=backup_rule.schedule,
        tagging_criteria=tuple(
            sorted(backup_rule.tagging_criteria, key=lambda criterion: criterion.priority)
        ),
        retention_rules=tuple(retention[tag] for tag in RetentionTag if tag in retention),
        schedule_target=backup_rule.schedule_target,
        document=copy.deepcopy(properties),
    )
    model.check_retention_limits(policy)
    return policy


@dataclass(frozen=True)
class _ParsedBackupRule:
    name: str
    schedule: Schedule
    schedule_target: str
    tagging_criteria: tuple[model.TaggingCriterion, ...]
    criterion_paths: dict[RetentionTag, str]


def _check_datasource_types(types: list[str], path: str) -> None:
    if not types:
        _fail(
            C.UNSUPPORTED_DATASOURCE_TYPE, path, f"datasourceTypes must be [{model.DISK_DATASOURCE_TYPE!r}]."
        )
    for index, item in enumerate(types):
        # ARM resource types compare case-insensitively.
        if item.casefold() != model.DISK_DATASOURCE_TYPE.casefold() or index > 0:
            _fail(
                C.UNSUPPORTED_DATASOURCE_TYPE,
                f"{path}[{index}]",
                f"Only {model.DISK_DATASOURCE_TYPE} is supported, once; got {item!r}.",
            )


def _backup_rule(rule: AzureBackupRule, path: str) -> _ParsedBackupRule:
    trigger_path = f"{path}.trigger"
    schedule_path = f"{trigger_path}.schedule"
    intervals_path = f"{schedule_path}.repeatingTimeIntervals"
    intervals = rule.trigger.schedule.repeating_time_intervals
    if len(intervals) != 1:
        _fail(
            C.INVALID_SCHEDULE,
            intervals_path,
            f"A disk backup rule needs exactly one repeating time interval; got {len(intervals)}.",
        )
    schedule_target = f"{intervals_path}[0]"
    schedule = _schedule(
        intervals[0], schedule_target, rule.trigger.schedule.time_zone, f"{schedule_path}.timeZone"
    )
    criteria_path = f"{trigger_path}.taggingCriteria"
    criteria: list[model.TaggingCriterion] = []
    criterion_paths: dict[RetentionTag, str] = {}
    priority_paths: dict[int, str] = {}
    for index, raw in enumerate(rule.trigger.tagging_criteria):
        criterion_path = f"{criteria_path}[{index}]"
        criterion = _tagging_criterion(raw, criterion_path)
        if criterion.tag in criterion_paths:
            _fail(
                C.DUPLICATE_TAG,
                f"{criterion_path}.tagInfo.tagName",
                f"Tag {criterion.tag.value!r} has more than one tagging criterion.",
            )
        if criterion.priority in priority_paths:
            _fail(
                C.DUPLICATE_TAGGING_PRIORITY,
                f"{criterion_path}.taggingPriority",
                f"taggingPriority {criterion.priority} is used twice; each tag needs its own priority.",
            )
        criteria.append(criterion)
        criterion_paths[criterion.tag] = criterion_path
        priority_paths[criterion.priority] = criterion_path
    if RetentionTag.DEFAULT not in criterion_paths:
        _fail(
            C.MISSING_PROPERTY,
            criteria_path,
            "taggingCriteria must contain the Default tag (tagName 'Default', isDefault true).",
        )
    return _ParsedBackupRule(rule.name, schedule, schedule_target, tuple(criteria), criterion_paths)


def _schedule(text: str, path: str, time_zone_name: str | None, time_zone_path: str) -> Schedule:
    parts = text.split("/")
    if len(parts) != 3 or not parts[0].startswith("R") or not (parts[0] == "R" or parts[0][1:].isdigit()):
        _fail(
            C.INVALID_SCHEDULE,
            path,
            "Expected R/<start date-time>/<interval>, such as R/2020-04-05T13:00:00+00:00/PT4H; "
            f"got {text[:200]!r}.",
        )
    # The repeat count after R is ignored, as Azure does: backups run until protection stops.
    _, start_text, interval_text = parts
    try:
        start = parse_iso_datetime(start_text)
    except ValueError:
        _fail(
            C.INVALID_SCHEDULE,
            path,
            f"The start {start_text!r} is not an ISO 8601 date and time "
            "(a time alone or a date alone is refused).",
        )
    try:
        interval = parse_iso_duration(interval_text)
    except ValueError:
        _fail(C.INVALID_SCHEDULE, path, f"The interval {interval_text!r} is not an ISO 8601 duration.")
    if interval.months or interval.exact not in STANDARD_BACKUP_INTERVALS:
        _fail(
            C.UNSUPPORTED_BACKUP_FREQUENCY,
            path,
            f"Unsupported backup interval {interval_text!r}; use PT1H, PT2H, PT4H, PT6H, PT8H, PT12H or P1D.",
        )
    zone: tzinfo
    if time_zone_name is not None and time_zone_name.strip():
        found = lookup_time_zone(time_zone_name)
        if found is None:
            _fail(
                C.UNSUPPORTED_TIME_ZONE,
                time_zone_path,
                f"Unknown time zone {time_zone_name[:100]!r}; use an IANA name (Europe/Berlin) or a Windows "
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
            C.INVALID_SCHEDULE,
            path,
            f"The start {start_text!r} must be in the years "
            f"{EARLIEST_SCHEDULE_START:%Y} to {LATEST_SCHEDULE_START.year - 1}.",
        )
    return Schedule(start=start, interval=interval.exact, time_zone=zone, time_zone_name=zone_name)


def _tagging_criterion(criterion: TaggingCriteria, path: str) -> model.TaggingCriterion:
    tag = _tag(criterion.tag_info.tag_name, f"{path}.tagInfo.tagName")
    if criterion.is_default != (tag is RetentionTag.DEFAULT):
        _fail(
            C.INVALID_PROPERTY_VALUE,
            f"{path}.isDefault",
            f"isDefault must be {str(tag is RetentionTag.DEFAULT).lower()} for tag {tag.value!r}.",
        )
    criteria_path = f"{path}.criteria"
    criteria = criterion.criteria or []
    if tag is RetentionTag.DEFAULT:
        if criteria:
            _fail(
                C.UNSUPPORTED_TAGGING_CRITERIA,
                criteria_path,
                "The Default tag applies to every backup and takes no criteria.",
            )
        return model.TaggingCriterion(tag=tag, priority=criterion.tagging_priority, criterion=None)
    expected = model.CRITERION_FOR_TAG[tag]
    if len(criteria) != 1:
        _fail(
            C.UNSUPPORTED_TAGGING_CRITERIA,
            criteria_path,
            f"Tag {tag.value!r} needs exactly one criterion with absoluteCriteria [{expected.value!r}].",
        )
    item_path = f"{criteria_path}[0]"
    item = criteria[0]
    # Weekday and calendar selectors: disks support only the absolute markers.
    for unsupported, value in (
        ("daysOfMonth", item.days_of_month),
        ("daysOfTheWeek", item.days_of_the_week),
        ("monthsOfYear", item.months_of_year),
        ("scheduleTimes", item.schedule_times),
        ("weeksOfTheMonth", item.weeks_of_the_month),
    ):
        if value:
            _fail(
                C.UNSUPPORTED_TAGGING_CRITERIA,
                f"{item_path}.{unsupported}",
                f"{unsupported} is not supported for disk backups; only absoluteCriteria is.",
            )
    markers_path = f"{item_path}.absoluteCriteria"
    markers = item.absolute_criteria
    if markers is None:
        _fail(C.MISSING_PROPERTY, markers_path, "The property 'absoluteCriteria' is required.")
    if markers != [expected.value]:
        _fail(
            C.UNSUPPORTED_TAGGING_CRITERIA,
            markers_path,
            f"Tag {tag.value!r} takes absoluteCriteria [{expected.value!r}]; got {markers!r}.",
        )
    return model.TaggingCriterion(tag=tag, priority=criterion.tagging_priority, criterion=expected)


def _retention_rule(rule: AzureRetentionRule, path: str) -> model.RetentionRule:
    tag = _tag(rule.name, f"{path}.name")
    if rule.is_default != (tag is RetentionTag.DEFAULT):
        _fail(
            C.INVALID_PROPERTY_VALUE,
            f"{path}.isDefault",
            f"isDefault must be {str(tag is RetentionTag.DEFAULT).lower()} for retention rule {tag.value!r}.",
        )
    lifecycles_path = f"{path}.lifecycles"
    if len(rule.lifecycles) != 1:
        _fail(
            C.INVALID_PROPERTY_VALUE,
            lifecycles_path,
            "A disk retention rule has exactly one lifecycle (in the operational store); "
            f"got {len(rule.lifecycles)}.",
        )
    lifecycle_path = f"{lifecycles_path}[0]"
    lifecycle = rule.lifecycles[0]
    if lifecycle.target_data_store_copy_settings:
        _fail(
            C.UNSUPPORTED_DATA_STORE,
            f"{lifecycle_path}.targetDataStoreCopySettings",
            "targetDataStoreCopySettings must be empty: disk backups stay in the operational store and "
            "this app keeps no copies in another data store (no off-site copy exists).",
        )
    duration_path = f"{lifecycle_path}.deleteAfter.duration"
    duration_text = lifecycle.delete_after.duration
    try:
        duration = parse_iso_duration(duration_text)
    except ValueError:
        _fail(C.INVALID_DURATION, duration_path, f"{duration_text[:100]!r} is not an ISO 8601 duration.")
    if not duration.is_positive():
        _fail(C.INVALID_DURATION, duration_path, f"The retention {duration_text!r} must be positive.")
    return model.RetentionRule(tag=tag, delete_after=duration, target=duration_path)


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
            C.UNSUPPORTED_RETENTION_TAG,
            path,
            f"Unsupported retention tag {name[:100]!r}; disk policies use Default, Daily and Weekly.",
        )
    return tag


def _type_error(path: str, value: object) -> NoReturn:
    got = "null" if value is None else "an array" if isinstance(value, list) else type(value).__name__
    _fail(C.INVALID_PROPERTY_TYPE, path, f"Expected an object, got {got}.")


def _fail(code: model.PolicyErrorCode, target: str, message: str) -> NoReturn:
    raise ValidationError(message, code=code.value, target=target)
