"""``AzureBackupRecoveryPointResource``, a disk recovery point (an incremental snapshot) as the
API answers it."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from backup.domain.models import RetentionTag
from backup.domain.policy import OPERATIONAL_STORE
from backup.shapes.arm import ResourceId, ResourceName, ResourceType, Time, one_of


class RecoveryPointDataStoreDetails(msgspec.Struct, rename="camel", omit_defaults=True):
    id: str | None = None
    type: Annotated[str, one_of(OPERATIONAL_STORE)] | None = None
    creation_time: Time | None = None
    expiry_time: Time | None = None
    meta_data: (
        Annotated[str, msgspec.Meta(description="The ARM id of the Microsoft.Compute/snapshots resource.")]
        | None
    ) = None
    state: Annotated[str, one_of("COMMITTED", "CREATING", "DELETING")] | None = None
    visible: bool | None = None
    rehydration_expiry_time: (
        Annotated[Time, msgspec.Meta(description="Always null: snapshots are never archived.")] | None
    ) = None
    rehydration_status: (
        Annotated[str, msgspec.Meta(description="Always null: snapshots are never archived.")] | None
    ) = None


class AzureBackupDiscreteRecoveryPoint(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    object_type: Annotated[str, one_of("AzureBackupDiscreteRecoveryPoint")]
    recovery_point_id: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
    friendly_name: Annotated[uuid.UUID, msgspec.Meta(description="The id written as a GUID.")] | None = None
    recovery_point_time: Time
    recovery_point_type: Annotated[str, one_of("Incremental")] | None = None
    policy_name: str | None = None
    policy_version: (
        Annotated[str, msgspec.Meta(description="The instance's policyInfo.policyVersion.")] | None
    ) = None
    retention_tag_name: RetentionTag | None = None
    retention_tag_version: (
        Annotated[str, msgspec.Meta(description=".NET ticks of the recovery point time.")] | None
    ) = None
    expiry_time: Time | None = None
    recovery_point_state: Annotated[str, one_of("Completed", "Partial")] | None = None
    recovery_point_data_stores_details: list[RecoveryPointDataStoreDetails] | None = None


class AzureBackupRecoveryPointResource(msgspec.Struct, omit_defaults=True):
    id: ResourceId
    name: ResourceName
    type: ResourceType
    properties: AzureBackupDiscreteRecoveryPoint
