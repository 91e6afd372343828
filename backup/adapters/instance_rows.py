"""The :class:`~backup.ports.InstanceRows` port: an instance's table row, as queue messages carry it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.adapters.tables.codecs import decode_instance, encode_instance
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.records import Versioned


class TableInstanceRows:
    def encode_instance(self, current: Versioned[BackupInstance]) -> dict[str, Any]:
        return encode_instance(current)

    def decode_instance(self, vault: VaultRef, encoded: Mapping[str, Any]) -> Versioned[BackupInstance]:
        return decode_instance(vault, encoded)
