"""The OpenAPI 3.0.3 document of the ARM surface, built from the router's route tables.

Regenerate the committed copy after changing a route or a schema::

    python -m backup.api.openapi > docs/openapi.json

The paths come from :func:`backup.api.app.build_router` (every :class:`~backup.api.router.Route`,
its template, method and role); what a route does, takes and answers comes from
:data:`OPERATIONS`, keyed by ``(method, template)``. A route without an entry there, or an
entry without a route, fails :func:`build_document`, so the document cannot drift from the
router. Path parameters are those of the template (patterns as the router's validators check
them), ``api-version`` is required on every operation (the versions of
:mod:`backup.api.versions`), ``$filter`` fields are read from the endpoint modules' filter
tables, and every error answer is the ARM error body.

``GET /api/openapi.json`` (:mod:`backup.entrypoints.openapi`) serves :func:`document_text`,
generated in-process on first request: the deployed package excludes ``docs/``, and what is
served is then by construction what this build routes. The committed ``docs/openapi.json`` is
the same text (a test compares them).

Schemas describe what the handlers produce and accept, not all of Microsoft.DataProtection:
objects allow further properties and ``readOnly`` marks what a PUT ignores. They are generated
from the shapes (:mod:`backup.shapes.schemas`), which also validate the requests. An ``enum``
lists the exact spellings; request values that ARM compares case-insensitively publish no enum
but a pattern of character classes and a description naming the canonical values.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from backup.api import paths
from backup.api.auth import PRINCIPAL_HEADER, Role
from backup.api.endpoints import (
    actions,
    instance_operations,
    instances,
    job_export,
    jobs,
    overview,
    provider,
    recovery_points,
    resource_guards,
    role_assignments,
    vault_limits,
)
from backup.api.examples import REQUEST_EXAMPLES
from backup.api.router import EXTENSION_SEGMENT, PARAM_PATTERNS, Route, Router
from backup.api.versions import LATEST_API_VERSION, STABLE_API_VERSIONS
from backup.domain.limits import MAX_REQUEST_BODY_BYTES
from backup.shapes.schemas import component_schemas

OPENAPI_VERSION = "3.0.3"
SERVER_URL = "/api"
"""The Functions route prefix; relative, so it resolves against wherever the document is read from."""

Schema = dict[str, Any]
EXTENSION_MARK = "x-product-extension"
"""Set (true) on an operation Azure does not have: a product-only call, under ``/x/``."""


@dataclass(frozen=True)
class Operation:
    """What the document says about one route, besides what the route itself knows."""

    operation_id: str
    """Azure's operationId where the route is Azure's (so generated clients name it alike)."""
    summary: str
    tag: str
    responses: Mapping[int, str | None]
    """Success status -> schema name of the JSON body, or None for no body. 202 is always the LRO answer."""
    body: str | None = None
    """Schema name of the JSON request body."""
    body_required: bool = True
    errors: tuple[int, ...] = ()
    """Error statuses worth naming besides 400, 401, 403, 404 (every route has those)."""
    query: tuple[str, ...] = ()
    """Names of components/parameters besides ``api-version``."""
    description: str = ""
    created_is_lro: bool = False
    """A 201 that starts a long-running operation: it carries Azure-AsyncOperation and Retry-After."""


_V = "Vaults"
_P = "Policies"
_I = "Backup instances"
_D = "Deleted backup instances"
_A = "Backup and restore"
_J = "Jobs"
_R = "Recovery points"
_O = "Operations"
_X = "Product extensions"
_G = "Resource guards"
_RA = "Role assignments"

_OVERVIEW_TEXT = (
    "A product extension: Azure has no such call, so it lives under /x/ and no Azure client "
    "knows it. Reads one summary row per vault, recomputed every 5 minutes (a vault without one "
    "is counted on the spot): its cost grows with the vaults, not the instances or jobs. exact "
    "is false, with inexactReasons, when a vault's counts are older than 15 minutes."
)

OPERATIONS: dict[tuple[str, str], Operation] = {
    # --- vaults -----------------------------------------------------------------------------------
    ("PUT", paths.VAULT): Operation(
        "BackupVaults_CreateOrUpdate",
        "Create or update a backup vault",
        _V,
        {200: "BackupVaultResource", 201: "BackupVaultResource"},
        body="BackupVaultResource",
        description="Synchronous: the answer carries provisioningState Succeeded. The location of an "
        "existing vault cannot change.",
    ),
    ("PATCH", paths.VAULT): Operation(
        "BackupVaults_Update",
        "Update a backup vault's tags, identity and settings",
        _V,
        {200: "BackupVaultResource"},
        body="PatchResourceRequestInput",
        description="Merges tags, identity and properties.monitoringSettings, securitySettings and "
        "featureSettings into the vault.",
    ),
    ("GET", paths.VAULT): Operation(
        "BackupVaults_Get", "Get a backup vault", _V, {200: "BackupVaultResource"}
    ),
    ("DELETE", paths.VAULT): Operation(
        "BackupVaults_Delete",
        "Delete a backup vault",
        _V,
        {200: None, 204: None},
        errors=(409,),
        description="204 when there is no such vault. 409 UserErrorVaultHasBackupInstances while the vault "
        "has backup instances.",
    ),
    ("GET", paths.VAULTS): Operation(
        "BackupVaults_GetInResourceGroup",
        "List the backup vaults of a resource group",
        _V,
        {200: "BackupVaultResourceList"},
        query=("skipToken",),
    ),
    ("GET", paths.VAULTS_IN_SUBSCRIPTION): Operation(
        "BackupVaults_GetInSubscription",
        "List the backup vaults of a subscription",
        _V,
        {200: "BackupVaultResourceList"},
        query=("skipToken",),
    ),
    # --- policies ---------------------------------------------------------------------------------
    ("PUT", paths.POLICY): Operation(
        "BackupPolicies_CreateOrUpdate",
        "Create or replace a disk backup policy",
        _P,
        {200: "BaseBackupPolicyResource"},
        body="BaseBackupPolicyResource",
        errors=(409,),
        description="Only Microsoft.Compute/disks policies are accepted. A policy that a backup instance "
        "uses cannot change (409 UserErrorPolicyInUse); sending the same policy again is a 200.",
    ),
    ("GET", paths.POLICY): Operation(
        "BackupPolicies_Get", "Get a backup policy", _P, {200: "BaseBackupPolicyResource"}
    ),
    ("DELETE", paths.POLICY): Operation(
        "BackupPolicies_Delete",
        "Delete a backup policy",
        _P,
        {200: None, 204: None},
        errors=(409,),
        description="204 when there is no such policy. 409 UserErrorPolicyInUse while an instance uses it.",
    ),
    ("GET", paths.POLICIES): Operation(
        "BackupPolicies_List",
        "List the backup policies of a vault",
        _P,
        {200: "BaseBackupPolicyResourceList"},
        query=("skipToken",),
    ),
    # --- backup instances -------------------------------------------------------------------------
    ("PUT", paths.BACKUP_INSTANCE): Operation(
        "BackupInstances_CreateOrUpdate",
        "Protect a disk (create or update a backup instance)",
        _I,
        {200: "BackupInstanceResource", 201: "BackupInstanceResource"},
        body="BackupInstanceResource",
        errors=(409,),
        created_is_lro=True,
        description="Every check runs before the answer, and a failed check writes nothing. A new "
        "instance answers 201 as Azure does: Azure-AsyncOperation, and the instance as the operation "
        "starts (ConfiguringProtection, provisioningState Provisioning); the operation has already "
        "ended, so a poller's first poll ends it and its final GET shows ProtectionConfigured. An "
        "update answers 200 with the instance as updated.",
    ),
    ("GET", paths.BACKUP_INSTANCE): Operation(
        "BackupInstances_Get", "Get a backup instance", _I, {200: "BackupInstanceResource"}
    ),
    ("DELETE", paths.BACKUP_INSTANCE): Operation(
        "BackupInstances_Delete",
        "Delete a backup instance (soft delete)",
        _I,
        {202: None, 204: None},
        errors=(409,),
        description="The instance becomes a deleted backup instance (undelete brings it back) until the "
        "vault's soft-delete retention ends (Off: purged by the next retention run). 204 when there is no "
        "such instance. 409 UserErrorImmutableVaultOperationNotAllowed in an immutable vault while a "
        "recovery point has not expired; 403 LinkedAuthorizationFailed when the vault is linked to a "
        "resource guard and the caller has no active approval on it.",
    ),
    ("GET", paths.BACKUP_INSTANCES): Operation(
        "BackupInstances_List",
        "List the backup instances of a vault",
        _I,
        {200: "BackupInstanceResourceList"},
        query=("skipToken",),
    ),
    ("POST", instances.STOP_PROTECTION): Operation(
        "BackupInstances_StopProtection",
        "Stop protection, keeping the recovery points",
        _I,
        {202: None},
        body="ResourceGuardOperationRequest",
        body_required=False,
        errors=(409,),
    ),
    ("POST", instances.SUSPEND_BACKUPS): Operation(
        "BackupInstances_SuspendBackups",
        "Suspend scheduled backups, keeping retention running",
        _I,
        {202: None},
        body="ResourceGuardOperationRequest",
        body_required=False,
        errors=(409,),
    ),
    ("POST", instances.RESUME_PROTECTION): Operation(
        "BackupInstances_ResumeProtection",
        "Resume protection of a stopped backup instance",
        _I,
        {202: None},
        body="ResourceGuardOperationRequest",
        body_required=False,
        errors=(409,),
    ),
    ("POST", instances.RESUME_BACKUPS): Operation(
        "BackupInstances_ResumeBackups",
        "Resume suspended scheduled backups",
        _I,
        {202: None},
        body="ResourceGuardOperationRequest",
        body_required=False,
        errors=(409,),
    ),
    ("POST", instances.VALIDATE_FOR_BACKUP): Operation(
        "BackupInstances_ValidateForBackup",
        "Check that a disk can be protected",
        _I,
        {202: None},
        body="ValidateForBackupRequest",
        description="Request errors are a synchronous 400. Otherwise the operation ends Succeeded, or "
        "Failed with the failed check's code.",
    ),
    ("GET", instances.INSTANCES_IN_SUBSCRIPTION): Operation(
        "BackupInstancesExtensionRouting_List",
        "List every backup instance of a subscription, with its backup summary",
        _I,
        {200: "BackupInstanceSummaryResourceList"},
        query=("backupInstancesFilter", "skipToken"),
        description="The cross-vault view: each instance's properties carry backupSummary.",
    ),
    ("GET", instances.INSTANCES_IN_RESOURCE_GROUP): Operation(
        "BackupInstancesExtensionRouting_ListInResourceGroup",
        "List every backup instance of a resource group, with its backup summary",
        _I,
        {200: "BackupInstanceSummaryResourceList"},
        query=("backupInstancesFilter", "skipToken"),
        description="The cross-vault view: each instance's properties carry backupSummary.",
    ),
    ("GET", instances.INSTANCES_OF_DISK): Operation(
        "BackupInstancesExtensionRouting_ListForDisk",
        "List the backup instance protecting a disk, with its backup summary",
        _I,
        {200: "BackupInstanceSummaryResourceList"},
        query=("backupInstancesFilter", "skipToken"),
        description="Azure's extension-resource list on a datasource: the one instance protecting the disk, "
        "if any, from any vault of the subscription.",
    ),
    ("POST", instance_operations.SYNC): Operation(
        "BackupInstances_SyncBackupInstance",
        "Re-read the policy and the disk, clearing a protection error",
        _I,
        {202: None},
        body="SyncBackupInstanceRequest",
        errors=(409,),
        description="syncType Default syncs an instance in error only, ForceResync any instance. The "
        "operation ends Succeeded, or Failed with the failed check's code; nothing changes on a failure.",
    ),
    ("POST", instance_operations.VALIDATE_FOR_MODIFY_BACKUP): Operation(
        "BackupInstances_ValidateForModifyBackup",
        "Check that an update of a backup instance would be accepted",
        _I,
        {202: None},
        body="ValidateForModifyBackupRequest",
        errors=(409,),
        description="Request errors (a changed disk or snapshot resource group, a missing policy) are a "
        "synchronous 4xx. Otherwise the operation ends Succeeded, or Failed with the failed check's code.",
    ),
    ("POST", instance_operations.FIND_RESTORABLE_TIME_RANGES): Operation(
        "RestorableTimeRanges_Find",
        "The restorable moments of a backup instance, as time ranges",
        _R,
        {200: "AzureBackupFindRestorableTimeRangesResponseResource"},
        body="AzureBackupFindRestorableTimeRangesRequest",
        description="Disk backups are discrete: each live recovery point in the window is a range that "
        "starts and ends at its recoveryPointTime, oldest first. Only the OperationalStore exists for disks.",
    ),
    # --- deleted backup instances -----------------------------------------------------------------
    ("GET", instances.DELETED_INSTANCES): Operation(
        "DeletedBackupInstances_List",
        "List the soft-deleted backup instances of a vault",
        _D,
        {200: "DeletedBackupInstanceResourceList"},
        query=("skipToken",),
    ),
    ("GET", instances.DELETED_INSTANCE): Operation(
        "DeletedBackupInstances_Get",
        "Get a soft-deleted backup instance",
        _D,
        {200: "DeletedBackupInstanceResource"},
    ),
    ("POST", instances.UNDELETE): Operation(
        "DeletedBackupInstances_Undelete",
        "Undelete a soft-deleted backup instance",
        _D,
        {202: None},
        body="ResourceGuardOperationRequest",
        body_required=False,
        errors=(409,),
        description="The instance comes back with protection stopped.",
    ),
    # --- actions ----------------------------------------------------------------------------------
    ("POST", actions.ADHOC_BACKUP): Operation(
        "BackupInstances_AdhocBackup",
        "Back up a disk now",
        _A,
        {202: None},
        body="TriggerBackupRequest",
        errors=(409,),
        description="The operation's result is OperationJobExtendedInfo naming the backup job. "
        "409 OnDemandBackupDailyLimitReached or OnDemandRecoveryPointLimitReached at the limits.",
    ),
    ("POST", actions.VALIDATE_RESTORE): Operation(
        "BackupInstances_ValidateForRestore",
        "Check that a restore would be accepted",
        _A,
        {202: None},
        body="ValidateRestoreRequestObject",
        errors=(409,),
    ),
    ("POST", actions.RESTORE): Operation(
        "BackupInstances_TriggerRestore",
        "Restore a recovery point to a new disk",
        _A,
        {202: None},
        body="AzureBackupRecoveryPointBasedRestoreRequest",
        errors=(409,),
        description="The operation's result is OperationJobExtendedInfo naming the restore job. "
        "409 RestoreDailyLimitReached at the limit.",
    ),
    # --- jobs -------------------------------------------------------------------------------------
    ("GET", paths.JOB): Operation("Jobs_Get", "Get a job", _J, {200: "AzureBackupJobResource"}),
    ("GET", paths.JOBS): Operation(
        "Jobs_List",
        "List the jobs of a vault, newest first",
        _J,
        {200: "AzureBackupJobResourceList"},
        query=("jobsFilter", "skipToken"),
    ),
    ("POST", job_export.EXPORT_BACKUP_JOBS): Operation(
        "ExportJobs_Trigger",
        "Export the vault's jobs to a blob",
        _J,
        {202: None},
        errors=(409,),
        description="Every job of the vault, as jobs.list renders them, written as one JSON array to a "
        "blob of the app's storage; the operation result (ExportJobsOperationResult_Get) gives its URL and "
        "a read-only user-delegation SAS valid 24 hours. 409 UserErrorJobsExportNeedsIdentityStorage "
        "where the app reaches storage by a connection string (no SAS is ever signed with an account key).",
    ),
    ("GET", job_export.EXPORT_OPERATION_RESULT): Operation(
        "ExportJobsOperationResult_Get",
        "Where a jobs export is",
        _J,
        {200: "ExportJobsResult", 202: None},
        description="blobUrl + '?' + blobSasKey downloads the export. 202 while it is written.",
    ),
    # --- recovery points --------------------------------------------------------------------------
    ("GET", paths.RECOVERY_POINT): Operation(
        "RecoveryPoints_Get", "Get a recovery point", _R, {200: "AzureBackupRecoveryPointResource"}
    ),
    ("GET", paths.RECOVERY_POINTS): Operation(
        "RecoveryPoints_List",
        "List the recovery points of a backup instance",
        _R,
        {200: "AzureBackupRecoveryPointResourceList"},
        query=("recoveryPointsFilter", "skipToken"),
    ),
    # --- long-running operations ------------------------------------------------------------------
    ("GET", paths.LOCATION_OPERATION_STATUS): Operation(
        "OperationStatus_Get",
        "Status of a long-running operation (the Azure-AsyncOperation URL)",
        _O,
        {200: "OperationResource"},
    ),
    ("GET", paths.RESOURCE_GROUP_OPERATION_STATUS): Operation(
        "OperationStatusResourceGroupContext_Get",
        "Status of a long-running operation, by resource group",
        _O,
        {200: "OperationResource"},
    ),
    ("GET", paths.VAULT_OPERATION_STATUS): Operation(
        "OperationStatusBackupVaultContext_Get",
        "Status of a long-running operation, by vault",
        _O,
        {200: "OperationResource"},
    ),
    ("GET", paths.LOCATION_OPERATION_RESULT): Operation(
        "OperationResult_Get",
        "Result of a long-running operation (the Location URL)",
        _O,
        {200: "OperationJobExtendedInfo", 202: None},
        description="202 while the operation runs; a failed operation answers its error's status and "
        "ARM error body.",
    ),
    ("GET", paths.VAULT_OPERATION_RESULT): Operation(
        "BackupVaultOperationResults_Get",
        "Result of a long-running operation, by vault",
        _O,
        {200: "OperationJobExtendedInfo", 202: None},
        description="202 while the operation runs; a failed operation answers its error's status and "
        "ARM error body.",
    ),
    ("GET", paths.BACKUP_INSTANCE_OPERATION_RESULT): Operation(
        "BackupInstances_GetBackupInstanceOperationResult",
        "Result of a long-running operation on a backup instance",
        _O,
        {200: "OperationJobExtendedInfo", 202: None},
        description="202 while the operation runs; a failed operation answers its error's status and "
        "ARM error body.",
    ),
    # --- provider ---------------------------------------------------------------------------------
    ("GET", provider.OPERATIONS_LIST): Operation(
        "Operations_List",
        "List the operations of the provider",
        _O,
        {200: "ClientDiscoveryResponse"},
        description="One entry per Azure call this app serves, named as Azure RBAC names its action.",
    ),
    ("POST", provider.CHECK_NAME_AVAILABILITY): Operation(
        "BackupVaults_CheckNameAvailability",
        "Check whether a backup vault name is available",
        _V,
        {200: "CheckNameAvailabilityResult"},
        body="CheckNameAvailabilityRequest",
        description="nameAvailable is false with reason Invalid for a name a vault cannot have, "
        "AlreadyExists when the resource group has a vault of that name (in any letter case).",
    ),
    ("POST", provider.CHECK_FEATURE_SUPPORT): Operation(
        "DataProtection_CheckFeatureSupport",
        "Check whether a datasource type is supported",
        _V,
        {200: "FeatureValidationResponse"},
        body="FeatureValidationRequest",
        description="Microsoft.Compute/disks is GenerallyAvailable; any other datasource type NotSupported.",
    ),
    # --- multi-user authorization -------------------------------------------------------------------
    ("PUT", resource_guards.RESOURCE_GUARD): Operation(
        "ResourceGuards_Put",
        "Create or update a resource guard",
        _G,
        {200: "ResourceGuardResource", 201: "ResourceGuardResource"},
        body="ResourceGuardResource",
        description="The creator holds the standing role on the guard: only that principal may change or "
        "delete it or approve requests on it (403 LinkedAuthorizationFailed for anyone else).",
    ),
    ("PATCH", resource_guards.RESOURCE_GUARD): Operation(
        "ResourceGuards_Patch",
        "Update a resource guard's tags",
        _G,
        {200: "ResourceGuardResource"},
        body="PatchResourceGuardInput",
        description="By its holder only (403 LinkedAuthorizationFailed for anyone else).",
    ),
    ("GET", resource_guards.RESOURCE_GUARD): Operation(
        "ResourceGuards_Get", "Get a resource guard", _G, {200: "ResourceGuardResource"}
    ),
    ("DELETE", resource_guards.RESOURCE_GUARD): Operation(
        "ResourceGuards_Delete",
        "Delete a resource guard",
        _G,
        {200: None, 204: None},
        description="By its holder only. Vaults linked to it are no longer protected by it, as in Azure.",
    ),
    ("GET", resource_guards.RESOURCE_GUARDS): Operation(
        "ResourceGuards_GetResourcesInResourceGroup",
        "List the resource guards of a resource group",
        _G,
        {200: "ResourceGuardResourceList"},
        query=("skipToken",),
    ),
    ("GET", resource_guards.RESOURCE_GUARDS_IN_SUBSCRIPTION): Operation(
        "ResourceGuards_GetResourcesInSubscription",
        "List the resource guards of a subscription",
        _G,
        {200: "ResourceGuardResourceList"},
        query=("skipToken",),
    ),
    ("PUT", resource_guards.GUARD_PROXY): Operation(
        "DppResourceGuardProxy_CreateOrUpdate",
        "Link a vault to a resource guard",
        _G,
        {200: "ResourceGuardProxyBaseResource"},
        body="ResourceGuardProxyBaseResource",
        errors=(409,),
        description="From then on the vault's critical operations need an approval on the guard. 409 when "
        "the vault is linked to another guard already.",
    ),
    ("GET", resource_guards.GUARD_PROXY): Operation(
        "DppResourceGuardProxy_Get",
        "Get a vault's link to a resource guard",
        _G,
        {200: "ResourceGuardProxyBaseResource"},
    ),
    ("GET", resource_guards.GUARD_PROXIES): Operation(
        "DppResourceGuardProxy_List",
        "List a vault's links to resource guards",
        _G,
        {200: "ResourceGuardProxyBaseResourceList"},
    ),
    ("DELETE", resource_guards.GUARD_PROXY): Operation(
        "DppResourceGuardProxy_Delete",
        "Unlink a vault from its resource guard",
        _G,
        {200: None, 204: None},
        description="A critical operation: 403 LinkedAuthorizationFailed without an active approval.",
    ),
    ("POST", resource_guards.UNLOCK_DELETE): Operation(
        "DppResourceGuardProxy_UnlockDelete",
        "Check the caller's approval before a guarded delete",
        _G,
        {200: "UnlockDeleteResponse"},
        body="UnlockDeleteRequest",
        description="Answers when the caller's approval ends; 403 LinkedAuthorizationFailed without one.",
    ),
    ("POST", resource_guards.GUARD_APPROVALS): Operation(
        "ResourceGuards_Approve",
        "Approve another principal's critical operations for a while",
        _X,
        {200: "GuardApprovalResource"},
        body="GuardApprovalRequest",
        description="A product extension standing in for Azure's PIM activation of a role on the guard: "
        "the caller must hold the guard's role and cannot approve themselves (403 "
        "LinkedAuthorizationFailed); the approval lasts durationInMinutes (at most 24 hours).",
    ),
    ("GET", resource_guards.GUARD_APPROVALS): Operation(
        "ResourceGuards_ListApprovals",
        "List the approvals on a resource guard that have not expired",
        _X,
        {200: "GuardApprovalList"},
    ),
    # --- product extensions (no Azure equivalent; under /x/) ------------------------------------
    ("GET", overview.OVERVIEW_OF_SUBSCRIPTION): Operation(
        "Overview_GetInSubscription",
        "Counts over every vault of a subscription (Backup Center's tiles)",
        _X,
        {200: "SubscriptionOverview"},
        description=_OVERVIEW_TEXT,
    ),
    ("GET", vault_limits.SCOPE_LIMITS): Operation(
        "VaultScopeLimits_Get",
        "Where a vault's protected disks and restore targets may be",
        _X,
        {200: "VaultScopeLimits"},
        description="A product extension (under /x/). {} when an owner never set them: unbounded.",
    ),
    ("PUT", vault_limits.SCOPE_LIMITS): Operation(
        "VaultScopeLimits_Put",
        "Bound where a vault's protected disks and restore targets may be (BackupOwner)",
        _X,
        {200: "VaultScopeLimits"},
        body="VaultScopeLimits",
        description="A product extension (under /x/). Replaces the limits whole. Configuring protection "
        "of a disk outside datasourceScopes, or restoring into a group outside restoreTargetScopes, is "
        "then a 403 UserErrorOutsideVaultScopeLimits, whoever asks (a function key included).",
    ),
    ("GET", overview.OVERVIEW_OF_RESOURCE_GROUP): Operation(
        "Overview_GetInResourceGroup",
        "Counts over every vault of a resource group (Backup Center's tiles)",
        _X,
        {200: "SubscriptionOverview"},
        description=_OVERVIEW_TEXT,
    ),
}
"""Per-route metadata, keyed by ``(method, template)`` exactly as the route tables declare them."""

_ROLE_ASSIGNMENT_TEXT = (
    "This app's own role assignments, in Azure's Microsoft.Authorization shape (api-version "
    "2022-04-01 is accepted): the app stores and enforces them; Azure RBAC is not involved. "
    "Creating and deleting needs BackupOwner at the scope or above; reading, any role there."
)
for _scope_name, _list_template, _item_template in zip(
    ("Vault", "ResourceGroup", "Subscription"), role_assignments.LISTS, role_assignments.ITEMS, strict=True
):
    OPERATIONS[("PUT", _item_template)] = Operation(
        f"RoleAssignments_CreateAt{_scope_name}",
        f"Grant an app role at a {_scope_name.lower()} scope",
        _RA,
        {200: "RoleAssignment", 201: "RoleAssignment"},
        body="RoleAssignmentCreateParameters",
        errors=(409,),
        description=_ROLE_ASSIGNMENT_TEXT + " 200 when the same grant exists under this name; "
        "409 RoleAssignmentExists (the name or the grant exists elsewhere) or "
        "RoleAssignmentUpdateNotPermitted.",
    )
    OPERATIONS[("GET", _item_template)] = Operation(
        f"RoleAssignments_GetAt{_scope_name}",
        f"Get a role assignment at a {_scope_name.lower()} scope",
        _RA,
        {200: "RoleAssignment"},
        description=_ROLE_ASSIGNMENT_TEXT,
    )
    OPERATIONS[("DELETE", _item_template)] = Operation(
        f"RoleAssignments_DeleteAt{_scope_name}",
        f"Revoke a role assignment at a {_scope_name.lower()} scope",
        _RA,
        {200: "RoleAssignment", 204: None},
        description=_ROLE_ASSIGNMENT_TEXT,
    )
    OPERATIONS[("GET", _list_template)] = Operation(
        f"RoleAssignments_ListAt{_scope_name}",
        f"List the role assignments that apply at a {_scope_name.lower()} scope",
        _RA,
        {200: "RoleAssignmentListResult"},
        description=_ROLE_ASSIGNMENT_TEXT + " Lists those made at the scope and at every scope above it; "
        "$filter=atScope() means the same, principalId eq '{id}' narrows to one principal.",
        query=("roleAssignmentsFilter",),
    )

TAGS = (_V, _P, _I, _D, _A, _J, _R, _O, _G, _RA, _X)

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: poll Azure-AsyncOperation until the status is terminal, then GET Location.",
    204: "No content: there was nothing to delete.",
}
_ERROR_RESPONSES = {
    400: (
        "BadRequest",
        "The request is invalid: missing or unsupported api-version, an invalid path parameter, "
        "or a body that is not JSON or fails a check (target names the field).",
    ),
    401: ("Unauthorized", "App Service Authentication is on and the request carries no principal."),
    403: ("Forbidden", "The caller lacks the role the operation needs at the scope it names."),
    404: ("NotFound", "The resource, or one it belongs to, does not exist."),
    409: ("Conflict", "The resource's state or a limit forbids the operation."),
    413: ("PayloadTooLarge", f"The body is larger than {MAX_REQUEST_BODY_BYTES} bytes."),
}
_ALWAYS = (400, 401, 403, 404)
_TRACKING_HEADERS = ("x-ms-request-id", "x-ms-correlation-request-id", "x-ms-client-request-id")
_METHOD_ORDER = {"GET": 0, "PUT": 1, "PATCH": 2, "POST": 3, "DELETE": 4}


# --- schemas ----------------------------------------------------------------------------------------


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(description: str = "", **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def _enum(values: Any, description: str = "", **extra: Any) -> Schema:
    return _string(description, enum=[str(value) for value in values], **extra)


def _schemas() -> dict[str, Schema]:
    """Every request and response shape, as its declaration (:mod:`backup.shapes`) generates it."""
    return component_schemas()


# --- parameters, responses, security ----------------------------------------------------------------


_PATH_PARAMETER_TEXT = {
    "subscriptionId": "The subscription id (a GUID).",
    "resourceGroupName": "The resource group.",
    "vaultName": "The backup vault.",
    "backupPolicyName": "The backup policy.",
    "backupInstanceName": "The backup instance.",
    "jobId": "The job id (a GUID).",
    "recoveryPointId": "The recovery point id (32 hex digits).",
    "location": "The Azure location of the operation.",
    "operationId": "The operation id, from a 202's URLs.",
    "diskName": "The managed disk (the datasource of an extension-routed list).",
    "resourceGuardsName": "The resource guard.",
    "resourceGuardProxyName": "The vault's link to a resource guard (a vault has at most one).",
    "roleAssignmentName": "The role assignment's name (a GUID).",
}
# The router's own patterns: what the document publishes is what the router enforces.
_PATH_PARAMETERS: dict[str, tuple[Schema, str]] = {
    name: (_string(pattern=pattern), _PATH_PARAMETER_TEXT[name]) for name, pattern in PARAM_PATTERNS.items()
}


def _filter_description(fields: Mapping[str, tuple[str, ...]], what: str) -> str:
    listed = "; ".join(f"{name} ({', '.join(ops)})" for name, ops in fields.items())
    return (
        f"OData filter on {what}: clauses `field op 'value'` joined by `and`. Fields and operators: {listed}."
    )


def _parameters() -> dict[str, Schema]:
    parameters: dict[str, Schema] = {
        name: {"name": name, "in": "path", "required": True, "description": text, "schema": schema}
        for name, (schema, text) in _PATH_PARAMETERS.items()
    }
    parameters["apiVersion"] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "A stable Microsoft.DataProtection api-version; every version gets the same answer.",
        "schema": _enum(STABLE_API_VERSIONS),
    }
    parameters["skipToken"] = {
        "name": "$skipToken",
        "in": "query",
        "required": False,
        "description": "Continuation token; follow nextLink rather than building it.",
        "schema": _string(),
    }
    filters: dict[str, tuple[Mapping[str, tuple[str, ...]], str]] = {
        "jobsFilter": (
            jobs.FILTER_FIELDS,
            "jobs; times are ISO 8601, for example startTime ge '2026-01-01T00:00:00Z'",
        ),
        "recoveryPointsFilter": (
            recovery_points.FILTER_FIELDS,
            "recovery points: startDate <= recoveryPointTime <= endDate, times ISO 8601",
        ),
        "backupInstancesFilter": (
            instances.SUMMARY_FILTER_FIELDS,
            "backup instances; values case-insensitive",
        ),
        "roleAssignmentsFilter": (
            role_assignments.FILTER_FIELDS,
            "role assignments (atScope() is accepted too and filters nothing)",
        ),
    }
    for key, (fields, what) in filters.items():
        parameters[key] = {
            "name": "$filter",
            "in": "query",
            "required": False,
            "description": _filter_description(fields, what),
            "schema": _string(),
        }
    return parameters


def _tracking_headers() -> dict[str, Schema]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in _TRACKING_HEADERS}


def _headers() -> dict[str, Schema]:
    return {
        "x-ms-request-id": {"description": "This request's id (in logs).", "schema": _string()},
        "x-ms-correlation-request-id": {
            "description": "The caller's x-ms-correlation-request-id or x-ms-client-request-id, else the "
            "request id.",
            "schema": _string(),
        },
        "x-ms-client-request-id": {"description": "Echoed when the request sent one.", "schema": _string()},
        "Azure-AsyncOperation": {
            "description": "Absolute URL of the operation's status (GET until status is terminal).",
            "required": True,
            "schema": _string(format="uri"),
        },
        "Location": {
            "description": "Absolute URL of the operation's result (GET once the status is Succeeded).",
            "required": True,
            "schema": _string(format="uri"),
        },
        "Retry-After": {
            "description": "Seconds to wait before polling.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    }


def _error_content() -> Schema:
    return {"application/json": {"schema": _ref("ErrorResponse")}}


def _responses() -> dict[str, Schema]:
    responses: dict[str, Schema] = {
        name: {"description": text, "headers": _tracking_headers(), "content": _error_content()}
        for name, text in _ERROR_RESPONSES.values()
    }
    responses["Error"] = {
        "description": "Any other error, with the ARM error body: 429 (with Retry-After) or 503 when "
        "Azure throttles or fails, 500 InternalServerError, or a failed operation's own status.",
        "headers": _tracking_headers(),
        "content": _error_content(),
    }
    responses["Accepted"] = {
        "description": _STATUS_TEXT[202],
        "headers": {
            "Azure-AsyncOperation": {"$ref": "#/components/headers/Azure-AsyncOperation"},
            "Location": {"$ref": "#/components/headers/Location"},
            "Retry-After": {"$ref": "#/components/headers/Retry-After"},
            **_tracking_headers(),
        },
    }
    return responses


_SECURITY_SCHEMES: dict[str, Schema] = {
    "functionKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-functions-key",
        "description": "An Azure Functions key of the app (function or host key). Not needed locally "
        "(func start / make run).",
    },
    "functionKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "code",
        "description": "The same key as the code query parameter.",
    },
    "appServiceAuthentication": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "App Service Authentication (Entra ID), when the app is deployed with "
        "AUTH_CLIENT_ID: a token for api://<client id> on every request, besides the key. The app "
        f"roles {', '.join(role.value for role in Role)} decide what the caller may do "
        f"(App Service passes them in {PRINCIPAL_HEADER}); each operation's x-required-role names its "
        "role.",
    },
}
_SECURITY: list[dict[str, list[str]]] = [
    {"functionKey": []},
    {"functionKeyQuery": []},
    {"functionKey": [], "appServiceAuthentication": []},
    {"functionKeyQuery": [], "appServiceAuthentication": []},
]

_DESCRIPTION = """\
A self-hosted Azure Disk Backup that answers Azure's Microsoft.DataProtection resource model \
for managed disks (datasource type Microsoft.Compute/disks), so the official clients \
(azure-mgmt-dataprotection, az dataprotection) work against it with this app's URL as their \
endpoint.

Paths are ARM paths under the Functions route prefix /api. Literal path segments match \
case-insensitively, as in ARM. Every answer carries x-ms-request-id and \
x-ms-correlation-request-id; every error is the ARM error body {"error": {"code", "message", \
"target", "details", "additionalInfo"}}, whose additionalInfo holds Azure Backup's \
UserFacingError (recommendedAction, isRetryable, isUserError, properties.ActivityId = the \
x-ms-request-id). Property names and objectType discriminators of request bodies match in any \
letter case, as Azure's service matches them. A method a path does not take is answered 405 \
with Allow; a path not listed here, 404 InvalidResourceType.

Operations marked x-product-extension are this product's own (Backup Center's counts): Azure \
has no such call, so their paths start with /x/ and Azure's clients do not know them.

Long-running operations answer 202 with Azure-AsyncOperation, Location and Retry-After, as \
ARM's pollers expect.

Generated by `python -m backup.api.openapi` from the app's route tables."""


# --- the document -----------------------------------------------------------------------------------


def _operation(role: Role, meta: Operation, *, extension: bool = False) -> Schema:
    operation: Schema = {
        "operationId": meta.operation_id,
        "summary": meta.summary,
        "tags": [meta.tag],
    }
    if meta.description:
        operation["description"] = meta.description
    if meta.query:
        operation["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in meta.query]
    if meta.body is not None:
        summary, example = REQUEST_EXAMPLES[meta.body]
        operation["requestBody"] = {
            "required": meta.body_required,
            "content": {
                "application/json": {
                    "schema": _ref(meta.body),
                    "examples": {"example": {"summary": summary, "value": example}},
                }
            },
        }
    responses: dict[str, Schema] = {}
    for status, schema in sorted(meta.responses.items()):
        if status == 202:
            responses["202"] = {"$ref": "#/components/responses/Accepted"}
            continue
        response: Schema = {"description": _STATUS_TEXT[status], "headers": _tracking_headers()}
        if status == 201 and meta.created_is_lro:
            response["headers"] = {
                "Azure-AsyncOperation": {"$ref": "#/components/headers/Azure-AsyncOperation"},
                "Retry-After": {"$ref": "#/components/headers/Retry-After"},
                **_tracking_headers(),
            }
        if schema is not None:
            response["content"] = {"application/json": {"schema": _ref(schema)}}
        responses[str(status)] = response
    errors = set(_ALWAYS) | set(meta.errors)
    if meta.body is not None:
        errors.add(413)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status][0]}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    operation["responses"] = responses
    operation["x-required-role"] = role.value
    if extension:
        operation[EXTENSION_MARK] = True
    return operation


def document_path(route: Route) -> str:
    """The route's path under the route prefix: a product extension's under ``/x``."""
    return f"/{EXTENSION_SEGMENT}{route.template}" if route.extension else route.template


def _path_parameters(template: str) -> list[str]:
    return [segment[1:-1] for segment in template.split("/") if segment.startswith("{")]


def build_document(router: Router | None = None) -> dict[str, Any]:
    """The OpenAPI document of ``router`` (the app's router by default); raises if metadata is missing."""
    if router is None:
        from backup.api.app import build_router

        router = build_router()
    routes = sorted(router.routes, key=lambda r: (r.template.lower(), _METHOD_ORDER.get(r.method, 9)))
    keys = {(route.method, route.template) for route in routes}
    undocumented = sorted(keys - OPERATIONS.keys())
    unrouted = sorted(OPERATIONS.keys() - keys)
    if undocumented or unrouted:
        raise LookupError(
            "backup.api.openapi.OPERATIONS must describe exactly the routed (method, template) pairs; "
            f"undocumented routes: {undocumented}; entries without a route: {unrouted}"
        )
    path_items: dict[str, Schema] = {}
    for route in routes:
        item = path_items.setdefault(
            document_path(route),
            {
                "parameters": [
                    *(
                        {"$ref": f"#/components/parameters/{name}"}
                        for name in _path_parameters(route.template)
                    ),
                    {"$ref": "#/components/parameters/apiVersion"},
                ]
            },
        )
        item[route.method.lower()] = _operation(
            route.role, OPERATIONS[(route.method, route.template)], extension=route.extension
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Azure Disk Backup (Microsoft.DataProtection for managed disks)",
            "version": LATEST_API_VERSION,
            "description": _DESCRIPTION,
            "license": {"name": "MIT"},
        },
        "servers": [{"url": SERVER_URL, "description": "The Function App (route prefix /api)"}],
        "security": _SECURITY,
        "tags": [{"name": tag} for tag in TAGS],
        "paths": path_items,
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "headers": _headers(),
            "responses": _responses(),
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


def render(document: Mapping[str, Any]) -> str:
    """The committed and served text: two-space indent, ASCII, trailing newline."""
    return json.dumps(document, indent=2) + "\n"


@cache
def document_text() -> str:
    """The app's document as served (built once per process, on first use)."""
    return render(build_document())


def main() -> None:
    sys.stdout.write(document_text())


if __name__ == "__main__":
    main()
