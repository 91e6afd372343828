"""AzureDisk backup policies in Azure's JSON, as the engine and service tiers write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

_TAG_CRITERIA = {"Daily": ("FirstOfDay", 25), "Weekly": ("FirstOfWeek", 20)}


def disk_policy(
    start: datetime, interval: str = "PT4H", default: str = "P7D", extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """Backups every ``interval`` from ``start`` kept for ``default``; ``extra`` adds Daily/Weekly tags."""
    criteria: list[dict[str, Any]] = [
        {"tagInfo": {"tagName": "Default", "id": "Default_"}, "taggingPriority": 99, "isDefault": True}
    ]
    rules: list[dict[str, Any]] = []
    for tag, duration in (extra or {}).items():
        marker, priority = _TAG_CRITERIA[tag]
        criteria.append(
            {
                "tagInfo": {"tagName": tag, "id": f"{tag}_"},
                "taggingPriority": priority,
                "isDefault": False,
                "criteria": [{"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": [marker]}],
            }
        )
        rules.append(_retention_rule(tag, duration, is_default=False))
    return {
        "objectType": "BackupPolicy",
        "datasourceTypes": ["Microsoft.Compute/disks"],
        "policyRules": [
            {
                "name": "BackupHourly",
                "objectType": "AzureBackupRule",
                "backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
                "dataStore": {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"},
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {
                        "repeatingTimeIntervals": [f"R/{start.isoformat()}/{interval}"],
                        "timeZone": "UTC",
                    },
                    "taggingCriteria": criteria,
                },
            },
            _retention_rule("Default", default, is_default=True),
            *rules,
        ],
    }


def _retention_rule(name: str, duration: str, *, is_default: bool) -> dict[str, Any]:
    return {
        "name": name,
        "objectType": "AzureRetentionRule",
        "isDefault": is_default,
        "lifecycles": [
            {
                "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": duration},
                "sourceDataStore": {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"},
                "targetDataStoreCopySettings": [],
            }
        ],
    }
