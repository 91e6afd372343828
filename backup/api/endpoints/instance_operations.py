"""Calls on a backup instance beside its lifecycle: ``sync``, ``validateForModifyBackup`` and
``findRestorableTimeRanges``.

=========================================================  ================  =======================
``POST .../backupInstances/{bi}/sync``                     BackupOperator    202 + operation
``POST .../backupInstances/{bi}/validateForModifyBackup``  BackupOperator    202 + operation
``POST .../backupInstances/{bi}/findRestorableTimeRanges`` BackupReader      200
=========================================================  ================  =======================

``sync`` (body ``{"syncType": "Default" | "ForceResync"}``) re-reads the instance's policy and
disk and runs the protection checks again as the instance's identity; when they pass the
instance takes them as they are now and a protection error is cleared. ``Default`` leaves an
instance without an error as it is. The work is done before the answer: the 202's operation is
already terminal, ``Succeeded``, or ``Failed`` with the failed check's code (a missing role, a
deleted disk), as ``validateForBackup``'s is.

``validateForModifyBackup`` (body ``{"backupInstance": <properties>}``) runs what a PUT of those
properties over the existing instance would: the request errors (a changed disk or snapshot
resource group, a missing policy, a soft-deleted instance) answer at once, the checks on Azure
end the operation ``Failed``; nothing is written.

``findRestorableTimeRanges``: Azure's documents show it only for datasources with continuous
backup (blobs) and say nothing of disks. Disk backups are discrete snapshots, so each live
recovery point in the window is answered as a range that starts and ends at its
``recoveryPointTime`` (oldest first), in Azure's response shape; restore still names a
recovery point. ``VaultStore`` and ``ArchiveStore`` are refused (400
``UserErrorInvalidSourceDataStore``): disks have neither.
"""

from __future__ import annotations

from datetime import datetime

from backup.api import paths
from backup.api.auth import Role
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.operations import OperationRecord, accepted, save_operation, start_operation
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import VaultRef
from backup.domain.models import RecoveryPointState
from backup.domain.protection import check_unchangeable
from backup.services.protection import ProtectionCheckError, with_vault_identity
from backup.shapes.backup_instance import parse_backup_instance
from backup.shapes.common import member_object
from backup.shapes.instance_operations import (
    SYNC_FORCE,
    parse_find_restorable_time_ranges,
    parse_sync_request,
)

routes = RouteTable()

SYNC = paths.BACKUP_INSTANCE + "/sync"
VALIDATE_FOR_MODIFY_BACKUP = paths.BACKUP_INSTANCE + "/validateForModifyBackup"
FIND_RESTORABLE_TIME_RANGES = paths.BACKUP_INSTANCE + "/findRestorableTimeRanges"
TIME_RANGES_TYPE = "Microsoft.DataProtection/backupVaults/backupInstances/findRestorableTimeRanges"
_POINTS_PER_READ = 200


async def finished_operation(
    ctx: RequestContext, vault: VaultRef, location: str, name: str, *, error: ProtectionCheckError | None
) -> OperationRecord:
    """An operation whose work is already done, stored so the SDK's poller can read it."""
    record = await start_operation(ctx, vault=vault, location=location, name=name)
    ended = record.failed(ctx.now, error) if error is not None else record.succeeded(ctx.now)
    await save_operation(ctx.api.store, ended)
    return ended


@routes.post(SYNC, role=Role.OPERATOR)
async def sync_backup_instance(ctx: RequestContext) -> ApiResponse:
    sync_type = parse_sync_request(ctx.json_object())
    vault, stored = await load_vault(ctx)
    location = stored.value["location"]
    name = ctx.params["backupInstanceName"]
    service = ctx.api.services.protection
    failure: ProtectionCheckError | None = None
    try:
        instance = await service.sync(vault, location, name, force=sync_type == SYNC_FORCE)
        name = instance.name
    except ProtectionCheckError as error:
        failure = error
    record = await finished_operation(ctx, vault, location, "SyncBackupInstance", error=failure)
    result_path = f"{vault.id}/backupInstances/{name}/operationResults/{record.id}"
    return accepted(ctx, record, location_url=ctx.url(result_path))


@routes.post(VALIDATE_FOR_MODIFY_BACKUP, role=Role.OPERATOR)
async def validate_for_modify_backup(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    properties = member_object(ctx.json_object(), "backupInstance")
    request = with_vault_identity(
        parse_backup_instance(properties, vault, path="backupInstance"),
        stored.value,
        ctx.api.settings.identity_bindings,
    )
    service = ctx.api.services.protection
    current = await service.get(vault, ctx.params["backupInstanceName"])
    check_unchangeable(current.value, request.disk, request.snapshot_resource_group)
    _, policy = await service.check_request(vault, request, instance=current.value.name)
    location = stored.value["location"]
    failure: ProtectionCheckError | None = None
    try:
        await service.check_resources(location, request, policy)
    except ProtectionCheckError as error:
        failure = error
    record = await finished_operation(ctx, vault, location, "ValidateForModifyBackup", error=failure)
    return accepted(ctx, record)


@routes.post(FIND_RESTORABLE_TIME_RANGES, role=Role.READER)
async def find_restorable_time_ranges(ctx: RequestContext) -> ApiResponse:
    window = parse_find_restorable_time_ranges(ctx.json_object())
    vault, _ = await load_vault(ctx)
    current = await ctx.api.services.protection.get(vault, ctx.params["backupInstanceName"])
    instance = current.value
    times: list[datetime] = []
    after: str | None = None
    while True:
        points, more = await ctx.api.store.recovery_points_page(
            vault,
            instance.name,
            limit=_POINTS_PER_READ,
            after_id=after,
            created_from=window.start,
            created_to=window.end,
        )
        times += [point.created_at for point in points if point.state is RecoveryPointState.COMMITTED]
        if not more or not points:
            break
        after = points[-1].id
    ranges = [
        {"startTime": rfc3339(moment), "endTime": rfc3339(moment), "objectType": "RestorableTimeRange"}
        for moment in sorted(times)
    ]
    return json_response(
        200,
        {
            "id": instance.name,
            "type": TIME_RANGES_TYPE,
            "properties": {
                "objectType": "AzureBackupFindRestorableTimeRangesResponse",
                "restorableTimeRanges": ranges,
            },
        },
    )
