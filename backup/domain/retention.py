"""Which retention a new recovery point earns, and which old points may be deleted.

Tags
    Every scheduled backup earns Default. It also earns Daily (FirstOfDay) if no earlier point
    of the same local day, in the policy's time zone, holds Daily, and likewise Weekly
    (FirstOfWeek) for the same local week. Only existing points count, and a point exists only
    for a backup that succeeded, so when the first slot of a day fails the next successful
    backup earns Daily: Azure's "first successful backup of the day".

    Days and weeks are judged by the point's creation time. **Weeks start on Monday**, as in
    ISO 8601 (``date.isocalendar``) and in most of the regions Azure serves; Azure does not
    document which day its FirstOfWeek uses.

Primary tag and expiry
    A point reports one tag, the one with the highest priority (lowest ``taggingPriority``:
    Weekly 20 beats Daily 25 beats Default 99 in the CLI's policies), as Azure's
    ``retentionTagName`` does. It expires after the **longest** retention among all tags it
    earned, so a priority order that disagrees with durations can never shorten a point's life.

On-demand backups
    They earn no tags by criteria: ``retentionTagOverride`` (case-insensitive, default
    ``Default``) names the one tag, and so the retention, they get.

Deleting
    Expired points (``now >= expires_at``) may be deleted, except: the newest point and the
    newest committed point (Azure's n+1 rule: a later failure must never leave a disk without
    a restorable backup), points a running restore uses, points still being created, and
    anything at all unless the protection state applies retention
    (:attr:`~backup.domain.models.ProtectionState.applies_retention`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from backup.domain.limits import (
    MAX_LIVE_ON_DEMAND_RECOVERY_POINTS,
    MAX_ON_DEMAND_BACKUPS_PER_DAY,
    ON_DEMAND_RATE_WINDOW,
)
from backup.domain.models import (
    ProtectionState,
    RecoveryPoint,
    RecoveryPointState,
    RetentionTag,
    TagCriterion,
)
from backup.domain.policy import BackupPolicy
from backup.errors import LimitExceededError, ValidationError

WEEK_STARTS_ON: Final = 0
"""``date.weekday()`` of the first day of a FirstOfWeek week: Monday (ISO 8601)."""

RETENTION_TAG_OVERRIDE_TARGET: Final = "backupRuleOptions.triggerOption.retentionTagOverride"
BACKUP_RULE_NAME_TARGET: Final = "backupRuleOptions.ruleName"


@dataclass(frozen=True)
class RetentionLabel:
    """The retention fields of a new recovery point."""

    retention_tag: RetentionTag
    earned_tags: frozenset[RetentionTag]
    expires_at: datetime


def label_scheduled_backup(
    policy: BackupPolicy, slot: datetime, created_at: datetime, existing: Iterable[RecoveryPoint]
) -> RetentionLabel:
    """Tags and expiry for the backup of ``slot`` taken at ``created_at``, given the instance's points.

    A point already recorded for the same slot (an earlier attempt of a retried backup) is
    ignored, so a retry earns what the first attempt earned instead of losing its Daily tag to it.
    """
    tags = earned_tags(policy, created_at, (point for point in existing if point.slot != slot))
    return RetentionLabel(
        retention_tag=primary_tag(policy, tags),
        earned_tags=tags,
        expires_at=expiry(policy, created_at, tags),
    )


def label_on_demand_backup(
    policy: BackupPolicy, created_at: datetime, retention_tag_override: str | None
) -> RetentionLabel:
    """Tag and expiry for an on-demand backup; raises ValidationError for an unknown tag."""
    tag = resolve_retention_tag_override(policy, retention_tag_override)
    tags = frozenset({tag})
    return RetentionLabel(retention_tag=tag, earned_tags=tags, expires_at=expiry(policy, created_at, tags))


def earned_tags(
    policy: BackupPolicy, created_at: datetime, existing: Iterable[RecoveryPoint]
) -> frozenset[RetentionTag]:
    _require_aware(created_at)
    earlier = [point for point in existing if point.created_at < created_at]
    return earned_tags_after(policy, created_at, latest_tag_times(earlier))


def latest_tag_times(points: Iterable[RecoveryPoint]) -> dict[RetentionTag, datetime]:
    """For each tag, when the newest of ``points`` holding it was created.

    This is all :func:`earned_tags_after` needs, so an instance can keep these few times
    instead of reading its whole history before every backup.
    """
    latest: dict[RetentionTag, datetime] = {}
    for point in points:
        for tag in point.earned_tags:
            if tag not in latest or point.created_at > latest[tag]:
                latest[tag] = point.created_at
    return latest


def earned_tags_after(
    policy: BackupPolicy, created_at: datetime, last_tagged_at: Mapping[RetentionTag, datetime]
) -> frozenset[RetentionTag]:
    """The tags a backup created at ``created_at`` earns, given when each tag was last earned."""
    _require_aware(created_at)
    zone = policy.schedule.time_zone
    period_of_backup = created_at.astimezone(zone).date()
    tags = {RetentionTag.DEFAULT}
    for criterion in policy.tagging_criteria:
        if criterion.criterion is None:
            continue
        last = last_tagged_at.get(criterion.tag)
        already_taken = last is not None and _period_start(
            last.astimezone(zone).date(), criterion.criterion
        ) == _period_start(period_of_backup, criterion.criterion)
        if not already_taken:
            tags.add(criterion.tag)
    return frozenset(tags)


def primary_tag(policy: BackupPolicy, tags: Collection[RetentionTag]) -> RetentionTag:
    return min(tags, key=policy.priority_of)


def expiry(policy: BackupPolicy, created_at: datetime, tags: Collection[RetentionTag]) -> datetime:
    _require_aware(created_at)
    # In UTC, so that P7D is always 168 hours: aware-datetime arithmetic in a DST zone is wall-clock.
    created_utc = created_at.astimezone(UTC)
    return max(policy.retention_for(tag).add_to(created_utc) for tag in tags)


def resolve_retention_tag_override(policy: BackupPolicy, override: str | None) -> RetentionTag:
    if override is None or not override.strip():
        return RetentionTag.DEFAULT
    tag = RetentionTag.from_name(override)
    if tag is None or tag not in policy.tags:
        known = ", ".join(tag.value for tag in policy.tags)
        raise ValidationError(
            f"The policy has no retention rule {override!r}; use one of: {known}.",
            code="UnknownRetentionTag",
            target=RETENTION_TAG_OVERRIDE_TARGET,
        )
    return tag


def check_backup_rule_name(policy: BackupPolicy, rule_name: str) -> None:
    """An on-demand request must name the policy's backup rule (``BackupHourly``); case is ignored."""
    if rule_name.strip().casefold() != policy.backup_rule_name.casefold():
        raise ValidationError(
            f"The policy has no backup rule {rule_name!r}; its backup rule is {policy.backup_rule_name!r}.",
            code="UnknownBackupRule",
            target=BACKUP_RULE_NAME_TARGET,
        )


def check_on_demand_backup_allowed(
    points: Iterable[RecoveryPoint], now: datetime, recent_on_demand_requests: Iterable[datetime] = ()
) -> None:
    """Refuse an on-demand backup beyond its own budget, so it can never crowd out scheduled ones.

    ``recent_on_demand_requests`` are the times earlier on-demand backups of this instance were
    requested (failed ones included: they cost the platform as much).
    """
    _require_aware(now)
    live = sum(1 for point in points if point.is_on_demand and point.state is not RecoveryPointState.DELETING)
    if live >= MAX_LIVE_ON_DEMAND_RECOVERY_POINTS:
        raise LimitExceededError(
            f"This backup instance already has {live} on-demand recovery points, the most it may keep "
            f"({MAX_LIVE_ON_DEMAND_RECOVERY_POINTS}, set aside from the disk's 500 snapshots so that "
            "scheduled backups always have room). Wait for some to expire or use a shorter retention tag.",
            code="OnDemandRecoveryPointLimitReached",
        )
    window_start = now - ON_DEMAND_RATE_WINDOW
    recent = sum(1 for requested in recent_on_demand_requests if window_start < requested <= now)
    if recent >= MAX_ON_DEMAND_BACKUPS_PER_DAY:
        raise LimitExceededError(
            f"This backup instance had {recent} on-demand backups in the last 24 hours; "
            f"the limit is {MAX_ON_DEMAND_BACKUPS_PER_DAY}.",
            code="OnDemandBackupDailyLimitReached",
        )


def select_expired(
    points: Iterable[RecoveryPoint],
    now: datetime,
    protection_state: ProtectionState,
    in_use: Collection[str] = frozenset(),
    newest_created_at: datetime | None = None,
) -> tuple[RecoveryPoint, ...]:
    """The points of one instance that retention may delete at ``now``, oldest first.

    ``in_use`` holds the ids of points that running restores read from. A caller that passes
    only some of the instance's points (say, just the expired ones) gives the creation time of
    its newest point as ``newest_created_at``, so the n+1 rule keeps the true newest point and
    not merely the newest of those passed.
    """
    _require_aware(now)
    candidates = list(points)
    if len({point.instance for point in candidates}) > 1:
        raise ValueError("select_expired works on the points of one backup instance at a time")
    if not protection_state.applies_retention:
        return ()
    kept = _always_kept(candidates, newest_created_at)
    expired = (
        point
        for point in candidates
        if point.expires_at <= now
        and point.id not in kept
        and point.id not in in_use
        and point.state is not RecoveryPointState.CREATING
    )
    return tuple(sorted(expired, key=lambda point: (point.created_at, point.id)))


def _always_kept(points: list[RecoveryPoint], newest_created_at: datetime | None) -> set[str]:
    alive = [point for point in points if point.state is not RecoveryPointState.DELETING]
    committed = [point for point in alive if point.state is RecoveryPointState.COMMITTED]
    kept = set()
    for group in (alive, committed):
        if group:
            newest = max(group, key=lambda point: (point.created_at, point.id))
            if newest_created_at is None or newest.created_at >= newest_created_at:
                kept.add(newest.id)
    return kept


def _period_start(local_day: date, criterion: TagCriterion) -> date:
    if criterion is TagCriterion.FIRST_OF_DAY:
        return local_day
    return local_day - timedelta(days=(local_day.weekday() - WEEK_STARTS_ON) % 7)


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None:
        raise ValueError("retention math needs timezone-aware datetimes")
