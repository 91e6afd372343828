"""Backup policies for disks: the model a policy means, and the rules on it that need no JSON.

A :class:`BackupPolicy` is one schedule, its tagging criteria (Default, and optionally Daily and
Weekly) and one retention rule per tag. It is built from Azure's JSON format
(Microsoft.DataProtection ``BackupPolicy``) by :func:`backup.shapes.policy.parse_backup_policy`,
which keeps the document as submitted so the API returns it unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, NoReturn

from backup.domain.durations import IsoDuration
from backup.domain.limits import (
    MAX_RETENTION,
    MAX_SCHEDULED_RECOVERY_POINTS,
    RESTRICTED_DISK_SKUS,
    RESTRICTED_SKU_BACKUP_INTERVALS,
)
from backup.domain.models import RetentionTag, TagCriterion
from backup.domain.schedule import Schedule
from backup.errors import ValidationError

DISK_DATASOURCE_TYPE = "Microsoft.Compute/disks"
OPERATIONAL_STORE = "OperationalStore"

CRITERION_FOR_TAG = {
    RetentionTag.DAILY: TagCriterion.FIRST_OF_DAY,
    RetentionTag.WEEKLY: TagCriterion.FIRST_OF_WEEK,
}
_TAG_PERIOD = {RetentionTag.DAILY: timedelta(days=1), RetentionTag.WEEKLY: timedelta(days=7)}


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


def check_retention_limits(policy: BackupPolicy) -> None:
    """Refuse retention beyond a year, or more scheduled points per disk than a disk may keep."""
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
                f"This policy would keep up to {count} scheduled snapshots per disk (retention divided "
                f"by the backup interval); the limit is {MAX_SCHEDULED_RECOVERY_POINTS}: every 12 hours "
                "allows at most 225 days, every 4 hours 75. Shorten the retention or back up less often.",
            )


def _scheduled_recovery_points_by_rule(policy: BackupPolicy) -> list[tuple[RetentionRule, int]]:
    # Running total after each rule, so a refusal can name the rule that crossed the limit.
    # Daily and Weekly rules only add the points they keep beyond the longer rules before them.
    interval = policy.schedule.interval
    default = policy.retention_rule(RetentionTag.DEFAULT)
    covered = default.delete_after.longest_span()
    count = math.ceil(covered / interval)
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


def _fail(code: PolicyErrorCode, target: str, message: str) -> NoReturn:
    raise ValidationError(message, code=code.value, target=target)


def policy_version(document: Mapping[str, Any]) -> str:
    """``policyInfo.policyVersion`` (and a recovery point's ``policyVersion``): Azure's is an
    opaque string; here it names the policy's content (a short hash of its rules, canonical JSON),
    so it changes exactly when what the policy says changes."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return "v" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
