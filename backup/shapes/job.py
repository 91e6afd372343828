"""``AzureBackupJobResource``, a backup, restore or retention job as the API answers it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from backup.domain.jobs import RESTORE_TYPE
from backup.domain.models import JobOperation, JobStatus
from backup.domain.policy import DISK_DATASOURCE_TYPE, OPERATIONAL_STORE
from backup.shapes.arm import ResourceId, ResourceName, ResourceType, Time, one_of

_Details = Annotated[
    dict[str, str],
    msgspec.Meta(
        description="InitiatedBy and TaskId (the job's id); backups: PolicyRuleName and "
        "RetentionTag, as Azure's; RecoveryPointId and ProgressPercent when known."
    ),
]
_Nullable = Annotated[str, msgspec.Meta(description="Null for a disk job, as in Azure.")]


class JobSubTask(msgspec.Struct, rename="camel", omit_defaults=True):
    task_id: int | None = None
    task_name: str | None = None
    task_status: str | None = None
    task_progress: str | None = None


class SourceRecoveryPoint(msgspec.Struct, omit_defaults=True):
    recoveryPointID: str | None = None
    recoveryPointTime: Time | None = None


class JobExtendedInfo(msgspec.Struct, rename="camel", omit_defaults=True):
    additional_details: _Details | None = None
    sub_tasks: list[JobSubTask] | None = None
    recovery_destination: (
        Annotated[str, msgspec.Meta(description="Restore jobs: the new disk's id.")] | None
    ) = None
    source_recover_point: SourceRecoveryPoint | None = None
    target_recover_point: (
        Annotated[dict[str, Any], msgspec.Meta(description="Null for a disk restore, as in Azure.")] | None
    ) = None
    backup_instance_state: (
        Annotated[str, msgspec.Meta(description="Restore jobs: the instance's state when it was accepted.")]
        | None
    ) = None
    dataTransferedInBytes: (
        Annotated[int, msgspec.Meta(description="Restore jobs: 0 (the REST docs' spelling).")] | None
    ) = None
    dataTransferredInBytes: (
        Annotated[int, msgspec.Meta(description="The same, as the SDKs' model spells it.")] | None
    ) = None
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
    operation: Annotated[
        str,
        one_of(
            *sorted({operation.rest_value for operation in JobOperation}),
            description="Azure's value: Backup (scheduled and on-demand; isUserTriggered tells them "
            "apart), Restore; RetentionDeletion is this app's (Azure shows no job for it).",
        ),
    ]
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
    etag: str | None = None
    progress_url: _Nullable | None = None
    rehydration_priority: _Nullable | None = None
    restore_type: Annotated[str, one_of(RESTORE_TYPE, description="Restore jobs.")] | None = None
    source_data_store_name: Annotated[str, one_of(OPERATIONAL_STORE, description="Restore jobs.")] | None = (
        None
    )
    destination_data_store_name: _Nullable | None = None


class AzureBackupJobResource(msgspec.Struct, omit_defaults=True):
    id: ResourceId
    name: ResourceName
    type: ResourceType
    properties: AzureBackupJob
