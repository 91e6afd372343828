"""The pure rules of protecting a disk: what a reconfiguration may not change, the properties
an instance is stored with, and the cross-vault summary row. No I/O;
:mod:`backup.services.protection` reads and writes around them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backup.domain.arm import DiskInfo
from backup.domain.instance import BackupInstance
from backup.domain.policy import DISK_DATASOURCE_TYPE
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import ConflictError, ValidationError


def check_unchangeable(
    instance: BackupInstance, disk: ComputeResourceId, snapshot_resource_group: ResourceGroupId
) -> None:
    """Refuse a PUT over an existing instance that would change what cannot change: a
    soft-deleted instance (409), its disk or its snapshot resource group (400)."""
    if instance.is_soft_deleted:
        raise ConflictError(
            f"The backup instance '{instance.name}' is soft-deleted. Undelete it "
            f"(deletedBackupInstances/{instance.name}/undelete) or use another name.",
            code="UserErrorBackupInstanceSoftDeleted",
            target="backupInstanceName",
        )
    if str(disk).casefold() != instance.disk_id.casefold():
        raise ValidationError(
            f"The backup instance '{instance.name}' protects '{instance.disk_id}'; its datasource cannot be "
            f"changed to '{disk}'. Create another backup instance for that disk.",
            code="UserErrorDatasourceChangeNotAllowed",
            target="properties.dataSourceInfo.resourceID",
        )
    if str(snapshot_resource_group).casefold() != instance.snapshot_resource_group_id.casefold():
        raise ValidationError(
            f"The backup instance '{instance.name}' keeps its snapshots in "
            f"'{instance.snapshot_resource_group_id}'; the snapshot resource group cannot be changed after "
            f"protection is configured (to '{snapshot_resource_group}'). Delete the instance and "
            "protect the disk again to use another.",
            code="UserErrorSnapshotRGChangeNotAllowed",
            target="properties.policyInfo.policyParameters.dataStoreParametersList",
        )


def document_with_defaults(
    document: Mapping[str, Any], disk: DiskInfo, disk_id: ComputeResourceId
) -> dict[str, Any]:
    """The stored properties: as sent, with the datasource fields Azure fills in when absent."""
    result = copy.deepcopy(dict(document))
    source = dict(result.get("dataSourceInfo") or {})
    source.setdefault("objectType", "Datasource")
    source["datasourceType"] = DISK_DATASOURCE_TYPE
    source.setdefault("resourceType", DISK_DATASOURCE_TYPE)
    source.setdefault("resourceName", disk.name)
    source.setdefault("resourceLocation", disk.location)
    if not source.get("resourceUri"):
        source["resourceUri"] = str(disk_id)
    result["dataSourceInfo"] = source
    result.setdefault("friendlyName", disk.name)
    return result


@dataclass(frozen=True)
class InstanceSummary:
    """One row of the cross-vault view."""

    instance: BackupInstance
    health: str
    next_backup: datetime | None
    """``None`` when the instance takes no scheduled backups."""
