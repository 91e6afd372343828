"""Parsed policies, cached by their JSON: a policy in use cannot change, so its text is its identity."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from backup.domain.policy import BackupPolicy
from backup.shapes.policy import parse_backup_policy


class PolicyCache:
    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._parsed: dict[str, BackupPolicy] = {}

    def parse(self, document: Mapping[str, Any]) -> BackupPolicy:
        key = json.dumps(document, sort_keys=True, separators=(",", ":"))
        policy = self._parsed.get(key)
        if policy is None:
            if len(self._parsed) >= self._capacity:
                self._parsed.clear()
            policy = self._parsed[key] = parse_backup_policy(document)
        return policy
