"""The OpenAPI 3.0 component schemas of the declared shapes.

msgspec writes JSON Schema (2020-12); OpenAPI 3.0 spells ``null`` as ``nullable``, so this turns
``anyOf: [X, {type: null}]`` into ``X`` with ``nullable: true``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from backup.shapes.arm import ErrorResponse, ResourceGuardOperationRequest, page_of
from backup.shapes.backup_instance import (
    BackupInstanceResource,
    BackupInstanceSummaryResource,
    DeletedBackupInstanceResource,
    ValidateForBackupRequest,
)
from backup.shapes.common import CASE_INSENSITIVE_PATTERN
from backup.shapes.instance_operations import (
    AzureBackupFindRestorableTimeRangesRequest,
    AzureBackupFindRestorableTimeRangesResponseResource,
    SyncBackupInstanceRequest,
    ValidateForModifyBackupRequest,
)
from backup.shapes.job import AzureBackupJobResource
from backup.shapes.job_export import ExportJobsResult
from backup.shapes.on_demand import TriggerBackupRequest
from backup.shapes.operations import OperationJobExtendedInfo, OperationResource
from backup.shapes.overview import SubscriptionOverview
from backup.shapes.policy import BaseBackupPolicyResource
from backup.shapes.provider import (
    CheckNameAvailabilityRequest,
    CheckNameAvailabilityResult,
    ClientDiscoveryResponse,
    FeatureValidationRequest,
    FeatureValidationResponse,
)
from backup.shapes.recovery_point import AzureBackupRecoveryPointResource
from backup.shapes.resource_guard import (
    GuardApprovalList,
    GuardApprovalRequest,
    GuardApprovalResource,
    PatchResourceGuardInput,
    ResourceGuardProxyBaseResource,
    ResourceGuardResource,
    UnlockDeleteRequest,
    UnlockDeleteResponse,
)
from backup.shapes.restore import AzureBackupRecoveryPointBasedRestoreRequest, ValidateRestoreRequestObject
from backup.shapes.role_assignment import (
    RoleAssignment,
    RoleAssignmentCreateParameters,
    RoleAssignmentListResult,
)
from backup.shapes.vault import BackupVaultResource, PatchResourceRequestInput
from backup.shapes.vault_limits import VaultScopeLimits

REF_TEMPLATE = "#/components/schemas/{name}"
LISTED: tuple[type[msgspec.Struct], ...] = (
    BackupVaultResource,
    BaseBackupPolicyResource,
    BackupInstanceResource,
    DeletedBackupInstanceResource,
    BackupInstanceSummaryResource,
    AzureBackupJobResource,
    AzureBackupRecoveryPointResource,
    ResourceGuardResource,
    ResourceGuardProxyBaseResource,
)
"""Resources the API lists: each gets a ``{name}List`` page (``value``, ``nextLink``)."""
SHAPES: tuple[type[msgspec.Struct], ...] = (
    *LISTED,
    *(page_of(resource) for resource in LISTED),
    PatchResourceRequestInput,
    ResourceGuardOperationRequest,
    ValidateForBackupRequest,
    TriggerBackupRequest,
    AzureBackupRecoveryPointBasedRestoreRequest,
    ValidateRestoreRequestObject,
    OperationResource,
    OperationJobExtendedInfo,
    ErrorResponse,
    SubscriptionOverview,
    SyncBackupInstanceRequest,
    ValidateForModifyBackupRequest,
    AzureBackupFindRestorableTimeRangesRequest,
    AzureBackupFindRestorableTimeRangesResponseResource,
    CheckNameAvailabilityRequest,
    CheckNameAvailabilityResult,
    FeatureValidationRequest,
    FeatureValidationResponse,
    ClientDiscoveryResponse,
    ExportJobsResult,
    UnlockDeleteRequest,
    UnlockDeleteResponse,
    PatchResourceGuardInput,
    GuardApprovalRequest,
    GuardApprovalResource,
    GuardApprovalList,
    RoleAssignment,
    RoleAssignmentCreateParameters,
    RoleAssignmentListResult,
    VaultScopeLimits,
)
"""Every request and response shape the document publishes, by its OpenAPI component name (the
class name), with the shapes they contain."""


def component_schemas() -> dict[str, Any]:
    """``components.schemas`` entries for every shape (and the shapes they contain)."""
    _, components = msgspec.json.schema_components(SHAPES, ref_template=REF_TEMPLATE)
    return {name: _openapi_30(schema) for name, schema in components.items()}


def _openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    # 3.0 has no propertyNames, and refuses an empty required list.
    converted = {key: _openapi_30(value) for key, value in node.items() if key != "propertyNames"}
    if converted.get("required") == []:
        del converted["required"]
    if CASE_INSENSITIVE_PATTERN in converted:
        converted["pattern"] = converted.pop(CASE_INSENSITIVE_PATTERN)
    if "examples" in converted:  # 3.0 has one example
        converted["example"] = converted.pop("examples")[0]
    if "default" in converted and converted["default"] is None:
        del converted["default"]  # absent and null are one to ARM
    options = converted.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del converted["anyOf"]
        only = rest[0] if len(rest) == 1 else {"anyOf": rest}
        converted = {**only, **converted, "nullable": True}
    if "$ref" in converted and len(converted) > 1:
        # 3.0 ignores the siblings of a $ref.
        converted = {"allOf": [{"$ref": converted.pop("$ref")}], **converted}
    return converted
