"""``AzureBackupJobResource``, a backup, restore or retention job as the API answers it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from backup.domain.models import JobOperation, JobStatus
from backup.domain.policy import DISK_DATASOURCE_TYPE
from backup.shapes.arm import ResourceId, ResourceName, ResourceType, Time, one_of

_Details = Annotated[
    dict[str, str],
    msgspec.Meta(description="InitiatedBy, and RecoveryPointId and ProgressPercent when known."),
]


class JobSubTask(msgspec.Struct, rename="camel", omit_defaults=True):
    task_id: int | None = None
    task_name: str | None = None
    task_status: str | None = None
    task_progress: str | None = None


class SourceRecoveryPoint(msgspec.Struct, omit_defaults=True):
    recoveryPointID: str | None = None


class JobExtendedInfo(msgspec.Struct, rename="camel", omit_defaults=True):
    additional_details: _Details | None = None
    sub_tasks: list[JobSubTask] | None = None
    recovery_destination: (
        Annotated[str, msgspec.Meta(description="Restore jobs: the new disk's id.")] | None
    ) = None
    source_recover_point: SourceRecoveryPoint | None = None
    warning_details: list[dict[str, Any]] | None = None


class JobError(msgspec.Struct, rename="camel", omit_defaults=True):
    code: str | None = None
    message: str | None = None
    is_retryable: bool | None = None


class AzureBackupJob(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    activityID: uuid.UUID
    backup_instance_friendly_name: str
    backup_instance_id: str | None = None
    data_source_id: str | None = None
    data_source_location: str | None = None
    data_source_name: str | None = None
    data_source_set_name: str | None = None
    data_source_type: Annotated[str, one_of(DISK_DATASOURCE_TYPE)]
    duration: Annotated[
        str,
        msgspec.Meta(description="ISO 8601 duration (so far, while in progress).", examples=["PT1M2.5S"]),
    ]
    start_time: Time
    end_time: Time | None = None
    extended_info: JobExtendedInfo | None = None
    error_details: list[JobError] | None = None
    is_user_triggered: bool
    operation: JobOperation
    operation_category: Annotated[
        str, one_of(*sorted({operation.operation_category for operation in JobOperation}))
    ]
    policy_id: str | None = None
    policy_name: str | None = None
    progress_enabled: bool | None = None
    source_resource_group: str | None = None
    sourceSubscriptionID: str | None = None
    status: JobStatus
    subscription_id: str | None = None
    supported_actions: list[str] | None = None
    vault_name: str


class AzureBackupJobResource(msgspec.Struct, omit_defaults=True):
    id: ResourceId
    name: ResourceName
    type: ResourceType
    properties: AzureBackupJob
