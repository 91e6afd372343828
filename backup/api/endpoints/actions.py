"""Actions on a backup instance: on-demand backup, validate restore, restore.

=====================================================  ====================  ===========================
``POST backupInstances/{bi}/backup``                   BackupOperator        202, result ``{"jobId"}``
``POST backupInstances/{bi}/validateRestore``          RestoreOperator       202, result ``{}``
``POST backupInstances/{bi}/restore``                  RestoreOperator       202, result ``{"jobId"}``
=====================================================  ====================  ===========================

Every refusal is answered at once with its 4xx and an ARM error body (the SDK raises
``HttpResponseError`` from ``begin_*`` itself); what is accepted answers 202 with
``Azure-AsyncOperation``, ``Location`` and ``Retry-After``. As in Azure, the operation ends
when the job is accepted, not when it finishes: its result is ``OperationJobExtendedInfo``
``{"objectType": "OperationJobExtendedInfo", "jobId": "<job GUID>"}``, so
``begin_adhoc_backup(...).result().job_id`` and ``begin_trigger_restore(...).result().job_id``
name the job to follow with ``jobs.get``. The job records the caller's principal as
``InitiatedBy``.

On-demand limits answer 409 (not 429: the SDK's retry policy would sleep through a 429's
``Retry-After`` for hours): ``OnDemandBackupDailyLimitReached`` (10 per rolling 24 hours, the
message says when the next is allowed), ``OnDemandRecoveryPointLimitReached`` (50 live
on-demand recovery points) and ``RestoreDailyLimitReached`` (10 restores per rolling 24 hours).
See :mod:`backup.services.restore` for the restore checks and what the new disk gets.
"""

from __future__ import annotations

from typing import Any

from backup.api import paths
from backup.api.auth import Role
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse
from backup.api.linked_checks import DISK_WRITE, require_caller_may
from backup.api.operations import accepted, save_operation, start_operation
from backup.api.router import RequestContext, RouteTable
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.vault_limits import VaultLimits
from backup.services.on_demand import OnDemandBackups
from backup.services.restore import RestoreService
from backup.shapes.on_demand import parse_trigger_backup_request
from backup.shapes.restore import parse_restore_request, parse_validate_restore_request

routes = RouteTable()

ADHOC_BACKUP = paths.BACKUP_INSTANCE + "/backup"
VALIDATE_RESTORE = paths.BACKUP_INSTANCE + "/validateRestore"
RESTORE = paths.BACKUP_INSTANCE + "/restore"
_JOB_INFO = "OperationJobExtendedInfo"


def _on_demand(ctx: RequestContext) -> OnDemandBackups:
    return ctx.api.services.on_demand


def _restores(ctx: RequestContext) -> RestoreService:
    return ctx.api.services.restores


def _vault_location(document: Any) -> str:
    return str(document.get("location") or "westus")


@routes.post(ADHOC_BACKUP, role=Role.OPERATOR)
async def adhoc_backup(ctx: RequestContext) -> ApiResponse:
    request = parse_trigger_backup_request(ctx.json_object())
    vault, stored = await load_vault(ctx)
    job = await _on_demand(ctx).request(
        vault,
        ctx.params["backupInstanceName"],
        rule_name=request.rule_name,
        retention_tag_override=request.retention_tag_override,
        requested_by=ctx.caller.principal_name,
    )
    operation = await start_operation(
        ctx, vault=vault, location=_vault_location(stored.value), name="AdhocBackup", job_id=job.id
    )
    await save_operation(ctx.api.store, operation.succeeded(ctx.now, job_id=job.id))
    return accepted(ctx, operation)


@routes.post(VALIDATE_RESTORE, role=Role.RESTORE_OPERATOR)
async def validate_restore(ctx: RequestContext) -> ApiResponse:
    spec = parse_validate_restore_request(ctx.json_object())
    vault, stored = await load_vault(ctx)
    await _caller_may_restore_into(ctx, spec.target, "restoreRequestObject.restoreTargetInfo")
    await _restores(ctx).validate(vault, ctx.params["backupInstanceName"], spec)
    operation = await start_operation(
        ctx, vault=vault, location=_vault_location(stored.value), name="ValidateRestore"
    )
    await save_operation(ctx.api.store, operation.succeeded(ctx.now, result={"objectType": _JOB_INFO}))
    return accepted(ctx, operation)


@routes.post(RESTORE, role=Role.RESTORE_OPERATOR)
async def trigger_restore(ctx: RequestContext) -> ApiResponse:
    spec = parse_restore_request(ctx.json_object())
    vault, stored = await load_vault(ctx)
    await _caller_may_restore_into(ctx, spec.target, "restoreTargetInfo")
    job = await _restores(ctx).trigger(
        vault, ctx.params["backupInstanceName"], spec, requested_by=ctx.caller.principal_name
    )
    operation = await start_operation(
        ctx, vault=vault, location=_vault_location(stored.value), name="Restore", job_id=job.id
    )
    await save_operation(ctx.api.store, operation.succeeded(ctx.now, job_id=job.id))
    return accepted(ctx, operation)


async def _caller_may_restore_into(ctx: RequestContext, target: ComputeResourceId, field: str) -> None:
    """The target group is inside the vault's restore-target scopes (whoever asks), and the
    signed-in caller may itself create disks there (a linked check)."""
    limits = await ctx.api.store.get_vault_limits(ctx.vault) or VaultLimits()
    limits.check_restore_target(target.resource_group_id, target=field)
    await require_caller_may(
        ctx,
        target.resource_group_id,
        (DISK_WRITE,),
        why="a restore creates a disk there",
        target=field,
    )
