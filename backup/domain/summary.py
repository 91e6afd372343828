"""A policy in one line of plain English, for the API, logs and the demo."""

from __future__ import annotations

from datetime import timedelta

from backup.domain.durations import IsoDuration
from backup.domain.models import RetentionTag
from backup.domain.policy import BackupPolicy

_PERIOD_WORD = {RetentionTag.DAILY: "day", RetentionTag.WEEKLY: "week"}


def describe_policy(policy: BackupPolicy) -> str:
    """For example ``Every 4 hours from 13:00 UTC; keep 7 days; first backup of each week kept 12 weeks``."""
    schedule = policy.schedule
    at = f"{schedule.local_start_time:%H:%M} {schedule.time_zone_name}"
    if schedule.is_daily:
        when = f"Daily at {at}"
    else:
        hours = schedule.interval // timedelta(hours=1)
        when = f"Every {_plural(hours, 'hour') if hours != 1 else 'hour'} from {at}"
    parts = [when, f"keep {describe_duration(policy.retention_for(RetentionTag.DEFAULT))}"]
    for tag in (RetentionTag.DAILY, RetentionTag.WEEKLY):
        if tag in policy.tags:
            kept = describe_duration(policy.retention_for(tag))
            parts.append(f"first backup of each {_PERIOD_WORD[tag]} kept {kept}")
    return "; ".join(parts)


def describe_duration(duration: IsoDuration) -> str:
    """``P7D`` is "7 days", ``P12W`` "12 weeks", ``P1Y6M`` "1 year 6 months", as the policy wrote it."""
    words = []
    years, months = divmod(duration.months, 12)
    if years:
        words.append(_plural(years, "year"))
    if months:
        words.append(_plural(months, "month"))
    days = duration.exact.days
    if days and duration.uses_weeks and days % 7 == 0:
        words.append(_plural(days // 7, "week"))
    elif days:
        words.append(_plural(days, "day"))
    hours, remainder = divmod(duration.exact.seconds, 3600)
    minutes = remainder // 60
    if hours:
        words.append(_plural(hours, "hour"))
    if minutes:
        words.append(_plural(minutes, "minute"))
    return " ".join(words) or "0 days"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
