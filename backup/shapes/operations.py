"""Long-running operations as Azure's JSON spells them: ``OperationResource`` (the
Azure-AsyncOperation status) and ``OperationJobExtendedInfo`` (the result naming a job)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

import msgspec

from backup.shapes.arm import ErrorDetail, Time, one_of


class OperationStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def is_terminal(self) -> bool:
        return self is not OperationStatus.IN_PROGRESS


_JOB_ID = "The job the operation started (GET .../backupJobs/{jobId})."


class OperationJobExtendedInfo(msgspec.Struct, rename="camel", omit_defaults=True):
    """The result of an operation that started a job; an operation without one answers ``{}``
    (or only ``objectType``)."""

    object_type: Annotated[str, one_of("OperationJobExtendedInfo")] | None = None
    job_id: Annotated[uuid.UUID, msgspec.Meta(description=_JOB_ID)] | None = None


class OperationResource(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """The status of a long-running operation."""

    id: str
    name: Annotated[str, msgspec.Meta(description="The operation id.")]
    status: OperationStatus
    start_time: Time
    end_time: Time | None = None
    error: ErrorDetail | None = None
    properties: OperationJobExtendedInfo | None = None
    resource_location: str | None = None
