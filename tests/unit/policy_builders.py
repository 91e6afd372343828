"""Policy documents for domain tests: the CLI's default template, and edits of it by JSON path."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backup.domain.models import RecoveryPoint, RecoveryPointState, RetentionTag
from backup.domain.policy import BackupPolicy
from backup.domain.retention import RetentionLabel
from backup.shapes.policy import parse_backup_policy

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_TEMPLATE_FILE = FIXTURES / "azure_disk_default_policy.json"

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def default_template() -> dict[str, Any]:
    """A fresh copy of what ``az dataprotection backup-policy get-default-policy-template
    --datasource-type AzureDisk`` prints."""
    document: dict[str, Any] = json.loads(DEFAULT_TEMPLATE_FILE.read_text())
    return document


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def set_at(document: Any, path: str, value: Any) -> Any:
    """Set the node at a path such as ``policyRules[0].trigger.schedule.timeZone``; returns the document."""
    *parents, last = _steps(path)
    node = document
    for step in parents:
        node = node[step]
    node[last] = value
    return document


def delete_at(document: Any, path: str) -> Any:
    *parents, last = _steps(path)
    node = document
    for step in parents:
        node = node[step]
    del node[last]
    return document


def retention_rule(name: str, duration: str) -> dict[str, Any]:
    return {
        "objectType": "AzureRetentionRule",
        "name": name,
        "isDefault": name == "Default",
        "lifecycles": [
            {
                "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": duration},
                "sourceDataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "OperationalStore"},
                "targetDataStoreCopySettings": [],
            }
        ],
    }


def tagging_criterion(name: str, priority: int, marker: str | None) -> dict[str, Any]:
    criterion: dict[str, Any] = {
        "isDefault": name == "Default",
        "taggingPriority": priority,
        "tagInfo": {"id": f"{name}_", "tagName": name},
    }
    if marker is not None:
        criterion["criteria"] = [{"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": [marker]}]
    return criterion


def policy_document(
    *,
    interval: str = "R/2020-04-05T13:00:00+00:00/PT4H",
    time_zone: str | None = None,
    default: str = "P7D",
    daily: str | None = None,
    weekly: str | None = None,
    daily_priority: int = 25,
    weekly_priority: int = 20,
) -> dict[str, Any]:
    """The default template with a different schedule, retention and optional Daily/Weekly tags."""
    document = copy.deepcopy(default_template())
    set_at(document, "policyRules[0].trigger.schedule.repeatingTimeIntervals[0]", interval)
    if time_zone is not None:
        set_at(document, "policyRules[0].trigger.schedule.timeZone", time_zone)
    set_at(document, "policyRules[1].lifecycles[0].deleteAfter.duration", default)
    criteria = document["policyRules"][0]["trigger"]["taggingCriteria"]
    for name, duration, priority, marker in (
        ("Daily", daily, daily_priority, "FirstOfDay"),
        ("Weekly", weekly, weekly_priority, "FirstOfWeek"),
    ):
        if duration is not None:
            criteria.append(tagging_criterion(name, priority, marker))
            document["policyRules"].append(retention_rule(name, duration))
    return document


def build_policy(**kwargs: Any) -> BackupPolicy:
    return parse_backup_policy(policy_document(**kwargs))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_point(
    created_at: datetime,
    *,
    instance: str = "disk-a",
    label: RetentionLabel | None = None,
    expires_in: timedelta = timedelta(days=7),
    slot: datetime | bool | None = True,
    state: RecoveryPointState = RecoveryPointState.COMMITTED,
    point_id: str | None = None,
) -> RecoveryPoint:
    """A recovery point; ``slot=True`` means "the slot is the creation time", ``None`` on-demand."""
    tags = label.earned_tags if label else frozenset({RetentionTag.DEFAULT})
    return RecoveryPoint(
        id=point_id or f"{instance}-{created_at:%Y%m%dT%H%M%S}{'-od' if slot is None else ''}",
        instance=instance,
        slot=created_at
        if slot is True
        else (None if slot is None else slot if isinstance(slot, datetime) else None),
        created_at=created_at,
        retention_tag=label.retention_tag if label else RetentionTag.DEFAULT,
        earned_tags=tags,
        expires_at=label.expires_at if label else created_at + expires_in,
        snapshot_id=f"/subscriptions/0/resourceGroups/snaps/providers/Microsoft.Compute/snapshots/{instance}",
        state=state,
    )
