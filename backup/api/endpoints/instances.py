"""``backupInstances`` and their protection lifecycle, ``validateForBackup``, ``deletedBackupInstances``
and the cross-vault ``backupInstances`` view. The rules live in :mod:`backup.services.protection`.

=======================================================  ==========================================
request                                                  answer
=======================================================  ==========================================
PUT    backupVaults/{v}/backupInstances/{bi}             201 created + ``Azure-AsyncOperation``
                                                         (body: ``ConfiguringProtection``, its
                                                         operation already Succeeded; the GET the
                                                         poller ends with: ``ProtectionConfigured``)
                                                         / 200 updated; every check runs first
                                                         and fails it with a 4xx writing nothing
GET    backupVaults/{v}/backupInstances[/{bi}]           200 (list paged by ``nextLink``)
DELETE backupVaults/{v}/backupInstances/{bi}             202 + operation (soft delete); 204 if absent
POST   .../backupInstances/{bi}/stopProtection           202 + operation (``ProtectionStopped``)
POST   .../backupInstances/{bi}/suspendBackups           202 + operation (``BackupSchedulesSuspended``)
POST   .../backupInstances/{bi}/resumeProtection         202 + operation (``ProtectionConfigured``)
POST   .../backupInstances/{bi}/resumeBackups            202 + operation (``ProtectionConfigured``)
POST   backupVaults/{v}/validateForBackup                202 + operation: Succeeded, or Failed with
                                                         the failed check's code; request errors and
                                                         ``UserErrorDppDatasourceAlreadyProtected``
                                                         are a synchronous 400, as in Azure
GET    backupVaults/{v}/deletedBackupInstances[/{bi}]    200 (``DeletedBackupInstanceResource``)
POST   .../deletedBackupInstances/{bi}/undelete          202 + operation (back as ``ProtectionStopped``)
GET    /subscriptions/{s}[/resourceGroups/{rg}]          200, the cross-vault view (below)
         /providers/Microsoft.DataProtection/backupInstances
GET    {diskId}/providers/Microsoft.DataProtection/      200, the instance protecting that disk
         backupInstances
=======================================================  ==========================================

Lifecycle operations do their work before answering: the 202's operation is already
terminal, so the SDK's first poll ends it.

The cross-vault view is Azure's extension-resource list (SDK
``backup_instances_extension_routing.list(resource_id="subscriptions/{s}")``) scoped to a
subscription or resource group: every visible instance of every vault there, each
``properties`` carrying an extra ``backupSummary`` object (``vaultId``, ``vaultName``,
``health`` Healthy/Unhealthy/Inactive, ``consecutiveFailures``, ``lastErrorCode``,
``lastBackupTime``, ``nextScheduledBackupTime``, ``recoveryPointCount``,
``oldestRecoveryPointTime`` and ``newestRecoveryPointTime`` (how far back, and how recently, the
disk can be restored), ``policyDescription`` in words). One handler serves every scope; pages
are keyset (by vault, then instance name: ``docs/storage.md``), and filters on health and
protection state read the instance index. ``$filter`` takes
``vaultName``, ``health``, ``currentProtectionState`` and ``protectionStatus`` with ``eq``
(case-insensitive), joined by ``and``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import load_vault, visible_vault_documents
from backup.api.http import ApiResponse, json_response
from backup.api.linked_checks import DISK_READ, require_caller_may
from backup.api.odata import Comparison, decode_skip_token, encode_skip_token, parse_filter
from backup.api.operations import OperationRecord, accepted, created, new_operation_id
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import BackupInstance, VaultRef, vault_of_document
from backup.domain.instance_status import HEALTH_VALUES, buckets_with_status, protection_status, status_bucket
from backup.domain.models import ProtectionState
from backup.domain.policy import policy_version
from backup.domain.protection import InstanceSummary
from backup.domain.resource_ids import ComputeResourceId, check_dataprotection_name
from backup.domain.summary import describe_policy
from backup.domain.vault_limits import VaultLimits
from backup.errors import BackupError, ValidationError
from backup.services.protection import ProtectionCheckError, ProtectionService, with_vault_identity
from backup.services.protection.listing import (
    HEALTH_INDEX,
    STATUS_INDEX,
    IndexChoice,
    InstanceScope,
    ListedVault,
    Position,
)
from backup.shapes.backup_instance import parse_backup_instance
from backup.shapes.common import member_object
from backup.shapes.operations import OperationStatus
from backup.shapes.policy import parse_backup_policy

routes = RouteTable()

INSTANCE_TYPE = "Microsoft.DataProtection/backupVaults/backupInstances"
DELETED_INSTANCE_TYPE = "Microsoft.DataProtection/backupVaults/deletedBackupInstances"

VALIDATE_FOR_BACKUP = paths.VAULT + "/validateForBackup"
STOP_PROTECTION = paths.BACKUP_INSTANCE + "/stopProtection"
SUSPEND_BACKUPS = paths.BACKUP_INSTANCE + "/suspendBackups"
RESUME_PROTECTION = paths.BACKUP_INSTANCE + "/resumeProtection"
RESUME_BACKUPS = paths.BACKUP_INSTANCE + "/resumeBackups"
DELETED_INSTANCES = paths.VAULT + "/deletedBackupInstances"
DELETED_INSTANCE = DELETED_INSTANCES + "/{backupInstanceName}"
UNDELETE = DELETED_INSTANCE + "/undelete"
INSTANCES_IN_SUBSCRIPTION = paths.SUBSCRIPTION + paths.PROVIDER + "/backupInstances"
INSTANCES_IN_RESOURCE_GROUP = paths.RESOURCE_GROUP + paths.PROVIDER + "/backupInstances"
INSTANCES_OF_DISK = (
    paths.RESOURCE_GROUP
    + "/providers/Microsoft.Compute/disks/{diskName}"
    + paths.PROVIDER
    + "/backupInstances"
)

SUMMARY_FILTER_FIELDS = {
    "vaultName": ("eq",),
    "health": ("eq",),
    "currentProtectionState": ("eq",),
    "protectionStatus": ("eq",),
}

_DELETE_ACTIVITY_NAMESPACE = uuid.UUID("0c6f5a3e-2b1d-4f7a-9e8c-5d4b3a2f1e0d")


# --- rendering ------------------------------------------------------------------------------------


def instance_properties(instance: BackupInstance) -> dict[str, Any]:
    """The BackupInstance ``properties``: as configured, plus the state Azure reports."""
    properties = copy.deepcopy(dict(instance.document))
    properties["objectType"] = "BackupInstance"
    disk_name = instance.disk_id.rsplit("/", 1)[-1]
    properties.setdefault("friendlyName", disk_name)
    properties.setdefault(
        "dataSourceInfo",
        {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": instance.disk_id,
            "resourceLocation": instance.disk_location,
            "resourceName": disk_name,
            "resourceType": "Microsoft.Compute/disks",
            "resourceUri": instance.disk_id,
        },
    )
    properties.setdefault(
        "policyInfo",
        {
            "policyId": f"{instance.vault.id}/backupPolicies/{instance.policy_name}",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": instance.snapshot_resource_group_id,
                    }
                ]
            },
        },
    )
    properties["policyInfo"] = {
        **properties["policyInfo"],
        "policyVersion": policy_version(instance.policy_document),
    }
    state = instance.protection_state
    status: dict[str, Any] = {"status": protection_status(state)}
    error = user_facing_error(instance)
    if error is not None:
        status["errorDetails"] = error
        properties["protectionErrorDetails"] = error
    properties["protectionStatus"] = status
    properties["currentProtectionState"] = state.value
    properties["provisioningState"] = "Succeeded"
    return properties


def user_facing_error(instance: BackupInstance) -> dict[str, Any] | None:
    """Azure's UserFacingError for the last failed backup, while backups keep failing."""
    health = instance.health
    if health.consecutive_failures == 0 or not health.last_error_code:
        return None
    code = health.last_error_code
    user_error = code.startswith("UserError")
    return {
        "code": code,
        "message": health.last_error_message or code,
        "target": instance.disk_id,
        "isRetryable": not user_error,
        "isUserError": user_error,
        "properties": {"consecutiveFailures": str(health.consecutive_failures)},
    }


def instance_resource(instance: BackupInstance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "name": instance.name,
        "type": INSTANCE_TYPE,
        "properties": instance_properties(instance),
    }


def deleted_instance_resource(instance: BackupInstance) -> dict[str, Any]:
    properties = instance_properties(instance)
    deleted_at = instance.deleted_at
    properties["deletionInfo"] = {
        "deletionTime": rfc3339(deleted_at),
        "billingEndDate": rfc3339(instance.purge_at),
        "scheduledPurgeTime": rfc3339(instance.purge_at),
        "deleteActivityID": str(
            uuid.uuid5(_DELETE_ACTIVITY_NAMESPACE, f"{instance.id.lower()}|{rfc3339(deleted_at)}")
        ),
    }
    return {
        "id": f"{instance.vault.id}/deletedBackupInstances/{instance.name}",
        "name": instance.name,
        "type": DELETED_INSTANCE_TYPE,
        "properties": properties,
    }


def summary_resource(summary: InstanceSummary) -> dict[str, Any]:
    instance = summary.instance
    has_points = instance.live_recovery_points > 0
    resource = instance_resource(instance)
    resource["properties"]["backupSummary"] = {
        "vaultId": instance.vault.id,
        "vaultName": instance.vault.name,
        "health": summary.health,
        "consecutiveFailures": instance.health.consecutive_failures,
        "lastErrorCode": instance.health.last_error_code,
        "lastBackupTime": rfc3339(instance.health.last_successful_backup),
        "nextScheduledBackupTime": rfc3339(summary.next_backup),
        "recoveryPointCount": instance.live_recovery_points,
        "oldestRecoveryPointTime": rfc3339(instance.health.oldest_point_at if has_points else None),
        "newestRecoveryPointTime": rfc3339(instance.health.last_successful_backup if has_points else None),
        "policyDescription": describe_policy(parse_backup_policy(instance.policy_document)),
    }
    return resource


# --- helpers ------------------------------------------------------------------------------------


def _service(ctx: RequestContext) -> ProtectionService:
    return ctx.api.services.protection


def _optional_body(ctx: RequestContext) -> None:
    """Stop and suspend take an optional body (Multi-User Authorization requests, unused here)."""
    if ctx.request.body and ctx.request.body.strip():
        ctx.json_object()


async def _finished_operation(
    ctx: RequestContext,
    vault: VaultRef,
    location: str,
    name: str,
    *,
    error: BackupError | None = None,
    result: Mapping[str, Any] | None = None,
) -> OperationRecord:
    """An operation that already ended, stored so the SDK's poller can read it."""
    now = ctx.now
    record = OperationRecord(
        id=new_operation_id(vault),
        vault=vault,
        location=location,
        name=name,
        status=OperationStatus.SUCCEEDED,
        start_time=now,
        end_time=now,
        result=result,
        initiated_by=ctx.caller.principal_name,
    )
    if error is not None:
        record = record.failed(now, error)
    await ctx.api.store.put_operation(
        vault, record.id, record.to_document(), status=record.status.value, create=True
    )
    return record


async def _lifecycle(
    ctx: RequestContext,
    operation: str,
    action: Callable[[ProtectionService], Callable[[VaultRef, str], Awaitable[BackupInstance]]],
) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    _optional_body(ctx)
    instance = await action(_service(ctx))(vault, ctx.params["backupInstanceName"])
    record = await _finished_operation(ctx, vault, stored.value["location"], operation)
    result_path = f"{instance.id}/operationResults/{record.id}"
    return accepted(ctx, record, location_url=ctx.url(result_path))


async def _vault_page(
    ctx: RequestContext, vault: VaultRef, *, deleted: bool, template: str
) -> tuple[list[BackupInstance], str | None]:
    """A keyset page of one vault's instances by lower-cased name; the token is the last name served."""
    after = decode_skip_token(ctx.query("$skipToken"))
    if after is not None and not _is_instance_key(after):
        raise _bad_token()
    instances, more = await _service(ctx).instances_page(
        vault, after=after, limit=ctx.api.page_size, deleted=deleted
    )
    if not more or not instances:
        return instances, None
    return instances, _next_link(ctx, template, instances[-1].name.lower())


def _is_instance_key(text: str) -> bool:
    try:
        check_dataprotection_name(text, "backup instance", "$skipToken")
    except ValidationError:
        return False
    return True


def _bad_token() -> ValidationError:
    return ValidationError(
        "The $skipToken is not one this API issued.", code="InvalidQueryParameterValue", target="$skipToken"
    )


def _next_link(ctx: RequestContext, template: str, last_key: str) -> str:
    query = {"$skipToken": encode_skip_token(last_key)}
    filter_text = ctx.query("$filter")
    if filter_text:
        query["$filter"] = filter_text
    return ctx.url(template.format(**ctx.params), query)


def _listing(values: list[dict[str, Any]], next_link: str | None) -> ApiResponse:
    body: dict[str, Any] = {"value": values}
    if next_link is not None:
        body["nextLink"] = next_link
    return json_response(200, body)


# --- routes ---------------------------------------------------------------------------------------


@routes.put(paths.BACKUP_INSTANCE)
async def put_instance(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    request = with_vault_identity(
        parse_backup_instance(member_object(ctx.json_object(), "properties"), vault),
        stored.value,
        ctx.api.settings.identity_bindings,
    )
    await _caller_may_read(ctx, request.disk, "properties.dataSourceInfo.resourceID")
    instance, is_new = await _service(ctx).configure(
        vault,
        stored.value["location"],
        ctx.params["backupInstanceName"],
        request,
        requester=ctx.caller.principal_name,
    )
    if not is_new:
        return json_response(200, instance_resource(instance))
    record = await _finished_operation(ctx, vault, stored.value["location"], "ConfigureProtection")
    return created(ctx, record, configuring_resource(instance))


def configuring_resource(instance: BackupInstance) -> dict[str, Any]:
    """A new instance as Azure's 201 shows it: the operation configuring protection has started.

    Here every check ran before the answer (a failed one wrote nothing), so the operation this
    201 points at has already Succeeded and a GET shows ``ProtectionConfigured``; the body keeps
    Azure's starting state so that code written against Azure's 201 reads what it expects.
    """
    resource = instance_resource(instance)
    properties = resource["properties"]
    properties["currentProtectionState"] = ProtectionState.CONFIGURING_PROTECTION.value
    properties["protectionStatus"] = {"status": protection_status(ProtectionState.CONFIGURING_PROTECTION)}
    properties["provisioningState"] = "Provisioning"
    properties.pop("protectionErrorDetails", None)
    return resource


@routes.get(paths.BACKUP_INSTANCE)
async def get_instance(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    current = await _service(ctx).get(vault, ctx.params["backupInstanceName"])
    return json_response(200, instance_resource(current.value))


@routes.get(paths.BACKUP_INSTANCES)
async def list_instances(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    instances, next_link = await _vault_page(ctx, vault, deleted=False, template=paths.BACKUP_INSTANCES)
    return _listing([instance_resource(instance) for instance in instances], next_link)


@routes.delete(paths.BACKUP_INSTANCE)
async def delete_instance(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    deleted = await _service(ctx).delete(
        vault, ctx.params["backupInstanceName"], requester=ctx.caller.principal_name
    )
    if deleted is None:
        return ApiResponse(204)
    record = await _finished_operation(ctx, vault, stored.value["location"], "DeleteBackupInstance")
    return accepted(ctx, record, location_url=ctx.url(f"{deleted.id}/operationResults/{record.id}"))


@routes.post(STOP_PROTECTION)
async def stop_protection(ctx: RequestContext) -> ApiResponse:
    return await _lifecycle(ctx, "StopProtection", lambda service: service.stop_protection)


@routes.post(SUSPEND_BACKUPS)
async def suspend_backups(ctx: RequestContext) -> ApiResponse:
    return await _lifecycle(ctx, "SuspendBackups", lambda service: service.suspend_backups)


@routes.post(RESUME_PROTECTION)
async def resume_protection(ctx: RequestContext) -> ApiResponse:
    return await _lifecycle(ctx, "ResumeProtection", lambda service: service.resume_protection)


@routes.post(RESUME_BACKUPS)
async def resume_backups(ctx: RequestContext) -> ApiResponse:
    return await _lifecycle(ctx, "ResumeBackups", lambda service: service.resume_backups)


@routes.post(VALIDATE_FOR_BACKUP)
async def validate_for_backup(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    request = with_vault_identity(
        parse_backup_instance(
            member_object(ctx.json_object(), "backupInstance"), vault, path="backupInstance"
        ),
        stored.value,
        ctx.api.settings.identity_bindings,
    )
    await _caller_may_read(ctx, request.disk, "backupInstance.dataSourceInfo.resourceID")
    service = _service(ctx)
    _, policy = await service.check_request(vault, request)
    location = stored.value["location"]
    failure: ProtectionCheckError | None = None
    try:
        await service.check_resources(location, request, policy)
    except ProtectionCheckError as error:
        failure = error
    record = await _finished_operation(
        ctx,
        vault,
        location,
        "ValidateForBackup",
        error=failure,
        result={"objectType": "OperationJobExtendedInfo"},
    )
    return accepted(ctx, record)


@routes.get(DELETED_INSTANCES)
async def list_deleted_instances(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    instances, next_link = await _vault_page(ctx, vault, deleted=True, template=DELETED_INSTANCES)
    return _listing([deleted_instance_resource(instance) for instance in instances], next_link)


@routes.get(DELETED_INSTANCE)
async def get_deleted_instance(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    current = await _service(ctx).get_deleted(vault, ctx.params["backupInstanceName"])
    return json_response(200, deleted_instance_resource(current.value))


@routes.post(UNDELETE)
async def undelete_instance(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    _optional_body(ctx)
    await _service(ctx).undelete(vault, ctx.params["backupInstanceName"])
    record = await _finished_operation(ctx, vault, stored.value["location"], "UndeleteBackupInstance")
    return accepted(ctx, record)


@routes.get(INSTANCES_IN_SUBSCRIPTION)
async def list_instances_in_subscription(ctx: RequestContext) -> ApiResponse:
    return await _summaries(ctx, INSTANCES_IN_SUBSCRIPTION)


@routes.get(INSTANCES_IN_RESOURCE_GROUP)
async def list_instances_in_resource_group(ctx: RequestContext) -> ApiResponse:
    return await _summaries(ctx, INSTANCES_IN_RESOURCE_GROUP)


@routes.get(INSTANCES_OF_DISK)
async def list_instances_of_disk(ctx: RequestContext) -> ApiResponse:
    return await _summaries(ctx, INSTANCES_OF_DISK)


def _scope(ctx: RequestContext) -> InstanceScope:
    """The scope the path names: a subscription, a resource group, or (extension routing) a disk."""
    subscription = ctx.params["subscriptionId"]
    resource_group = ctx.params.get("resourceGroupName")
    disk = ctx.params.get("diskName")
    if disk is None or resource_group is None:
        return InstanceScope(subscription, resource_group)
    datasource = ComputeResourceId(subscription, resource_group, "disks", disk)
    return InstanceScope(subscription, resource_group, datasource)


async def _summaries(ctx: RequestContext, template: str) -> ApiResponse:
    """One handler for every scope: the registry's vaults in scope, then keyset pages across them."""
    clauses = parse_filter(ctx.query("$filter"), SUMMARY_FILTER_FIELDS)
    scope = _scope(ctx)
    listing = _service(ctx).listing
    if scope.datasource_id is not None:
        found = [
            s
            for s in await listing.for_datasource(scope)
            if _matches_all(s, clauses) and ctx.access.sees(s.instance.vault)
        ]
        return _listing([summary_resource(summary) for summary in found], None)
    token = decode_skip_token(ctx.query("$skipToken"))
    after = Position.decode(token) if token is not None else None
    vaults = [
        ListedVault(key, vault)
        for key, document in await visible_vault_documents(ctx, scope.subscription_id, scope.resource_group)
        if (vault := vault_of_document(document.value)) is not None and ctx.access.sees(vault)
    ]
    vault_names = {c.value.casefold() for c in clauses if c.field == "vaultName"}
    if vault_names:
        vaults = [v for v in vaults if {v.vault.name.casefold()} >= vault_names]
    others = [c for c in clauses if c.field != "vaultName"]
    index = _index_for(others)
    if index is _NOTHING:
        return _listing([], None)
    page = await listing.page(
        vaults,
        after=after,
        limit=ctx.api.page_size,
        matches=(lambda summary: _matches_all(summary, others)) if others else None,
        index=index,
    )
    next_link = None
    if page.next_position is not None:
        next_link = _next_link(ctx, template, page.next_position.encode())
    return _listing([summary_resource(summary) for summary in page.summaries], next_link)


_NOTHING = IndexChoice("", "")
"""A filter no instance can match (an unknown health or state): answered without reading."""


def _index_for(clauses: list[Comparison]) -> IndexChoice | None:
    """The instance index that answers one of the clauses, health first (the most selective
    when users look for trouble); the other clauses are checked on the rows it yields."""
    for clause in clauses:
        wanted = clause.value.casefold()
        if clause.field == "health":
            known = [value for value in HEALTH_VALUES if value.casefold() == wanted]
            return IndexChoice(HEALTH_INDEX, known[0]) if known else _NOTHING
    for clause in clauses:
        wanted = clause.value.casefold()
        if clause.field == "protectionStatus":
            # ProtectionConfigured spans two index keys (ProtectionError has its own): no one
            # range holds it, and it is most instances anyway, so those are read in full.
            buckets = buckets_with_status(wanted)
            if len(buckets) > 1:
                continue
            return IndexChoice(STATUS_INDEX, next(iter(buckets))) if buckets else _NOTHING
        if clause.field == "currentProtectionState":
            state = next((s for s in ProtectionState if s.value.casefold() == wanted), None)
            return IndexChoice(STATUS_INDEX, status_bucket(state)) if state else _NOTHING
    return None


def _matches_all(summary: InstanceSummary, clauses: list[Comparison]) -> bool:
    return all(_summary_field(summary, clause.field) == clause.value.casefold() for clause in clauses)


def _summary_field(summary: InstanceSummary, name: str) -> str:
    instance = summary.instance
    state = instance.protection_state
    value = {
        "vaultName": instance.vault.name,
        "health": summary.health,
        "currentProtectionState": state.value,
        "protectionStatus": protection_status(state),
    }[name]
    return value.casefold()


async def _caller_may_read(ctx: RequestContext, disk: ComputeResourceId, field: str) -> None:
    """The disk is inside the vault's datasource scopes (whoever asks), and the signed-in caller
    may itself read it (a linked check): the app's identity reading it is not enough, or anyone
    could back up another team's disk."""
    (await ctx.api.store.get_vault_limits(ctx.vault) or VaultLimits()).check_datasource(disk, target=field)
    await require_caller_may(ctx, disk, (DISK_READ,), why="protecting a disk copies its data", target=field)
