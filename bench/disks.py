"""Disk facts for benchmark instances, captured as protection captures them.

The benches write instance rows straight through the store (thousands of API calls would
measure the API, not the engine). Protection stores the disk facts a backup needs, so a
backup makes no disk GET; these helpers give the benches' rows the same facts, read with
ARM's paged disk list (one read per page, before any measured run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from backup.bootstrap import Runtime
from backup.domain.arm import DiskInfo
from backup.domain.instance import BackupInstance
from backup.domain.resource_ids import ResourceGroupId


async def disk_facts(runtime: Runtime, groups: Iterable[str]) -> dict[str, DiskInfo]:
    """Every disk of the given resource groups, by lower-case id."""
    facts: dict[str, DiskInfo] = {}
    for group in groups:
        for disk in await runtime.compute.list_disks(ResourceGroupId.parse(group)):
            facts[disk.id.lower()] = disk
    return facts


def with_facts(instance: BackupInstance, facts: Mapping[str, DiskInfo], at: datetime) -> BackupInstance:
    """The instance as protection would have stored it (unchanged if its disk was not listed)."""
    disk = facts.get(instance.disk_id.lower())
    return instance if disk is None else instance.with_disk_facts(disk, at)
