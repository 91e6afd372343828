"""Long-running operations: the record, the 202 answer, and the routes the SDK pollers call.

Starting an LRO from a handler (how the instance endpoints use it)::

    from backup.api.operations import accepted, start_operation

    @routes.post(paths.BACKUP_INSTANCE + "/backup")
    async def adhoc_backup(ctx: RequestContext) -> ApiResponse:
        ...                                              # validate, 4xx on any refusal
        operation = await start_operation(
            ctx, location=vault_location, name="AdhocBackup", job_id=job.id
        )
        ...                                              # enqueue the work with operation.id
        return accepted(ctx, operation)                  # 202 + Azure-AsyncOperation, Location, Retry-After

and when the work ends (worker side, any process)::

    record = await load_operation(store, vault, operation_id)
    await save_operation(store, record.succeeded(now, job_id=job.id))     # or
    await save_operation(store, record.failed(now, error))                 # error: a BackupError

What the SDK's ``ARMPolling`` then does: it polls ``Azure-AsyncOperation`` (the location-level
``operationStatus/{id}``, an OperationResource) until ``status`` is terminal; a ``Failed``
status raises ``HttpResponseError`` carrying ``error``. On success, for a POST it GETs
``Location`` (the location-level ``operationResults/{id}``), whose 200 body is the result:
``{"objectType": "OperationJobExtendedInfo", "jobId": ...}`` when the operation has a job,
else ``result`` as stored. Pass ``location_url=ctx.url(<arm path>)`` to ``accepted`` to point
``Location`` elsewhere (for example ``backupInstances/{bi}/operationResults/{id}``). For a PUT
the poller GETs the resource's own URL at the end, so a PUT that answers 201 with
``provisioningState`` ``Provisioning`` (or 202) needs no result. Set ``resource_location``
on the record to make the poller GET that ARM path instead.

The record lives in the vault's partition, RowKey ``o|{operationId}``, ``Status`` column plus
``DocumentJson``::

    {"id": "<operationId>", "name": "AdhocBackup", "status": "InProgress|Succeeded|Failed|Canceled",
     "location": "westus", "vault": {"subscriptionId", "resourceGroup", "name"},
     "startTime": "...Z", "endTime": "...Z"?, "jobId"?, "result"?, "resourceLocation"?,
     "error"?: {"code", "message", "target"?, "additionalInfo", "status": <http status>},
     "initiatedBy": "..."}

Operation ids are URL-safe base64 (no padding) of ``{subscription}|{resourceGroup}|{vault}|{uuid}``
(lower case), so the location-level routes, which name no vault, find the partition from the
id alone; the subscription in the URL must match the one in the id.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from backup.api import paths
from backup.api.http import ApiResponse, json_response
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.arm import normalize_location
from backup.domain.instance import VaultRef
from backup.domain.resource_ids import (
    check_dataprotection_name,
    check_resource_group_name,
    check_subscription,
)
from backup.errors import BackupError, NotFoundError, ValidationError
from backup.ports import VaultStore
from backup.shapes.operations import OperationStatus

routes = RouteTable()


@dataclass(frozen=True)
class OperationRecord:
    id: str
    vault: VaultRef
    location: str
    name: str
    status: OperationStatus
    start_time: datetime
    end_time: datetime | None = None
    job_id: str | None = None
    result: Mapping[str, Any] | None = None
    resource_location: str | None = None
    error: Mapping[str, Any] | None = None
    initiated_by: str = "system"

    def succeeded(
        self, at: datetime, *, job_id: str | None = None, result: Mapping[str, Any] | None = None
    ) -> OperationRecord:
        return replace(
            self,
            status=OperationStatus.SUCCEEDED,
            end_time=at,
            job_id=job_id or self.job_id,
            result=result if result is not None else self.result,
        )

    def failed(self, at: datetime, error: BackupError) -> OperationRecord:
        # The whole ARM error object (its UserFacingError too, tied to this operation's id), so the
        # status and result answers show what the request's own answer would have shown.
        body: dict[str, Any] = {**error.error_detail(activity_id=self.id), "status": error.status}
        return replace(self, status=OperationStatus.FAILED, end_time=at, error=body)

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "location": self.location,
            "vault": {
                "subscriptionId": self.vault.subscription_id,
                "resourceGroup": self.vault.resource_group,
                "name": self.vault.name,
            },
            "startTime": rfc3339(self.start_time),
            "initiatedBy": self.initiated_by,
        }
        optional = {
            "endTime": rfc3339(self.end_time),
            "jobId": self.job_id,
            "result": dict(self.result) if self.result is not None else None,
            "resourceLocation": self.resource_location,
            "error": dict(self.error) if self.error is not None else None,
        }
        document.update({key: value for key, value in optional.items() if value is not None})
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> OperationRecord:
        vault = document["vault"]
        end = document.get("endTime")
        return cls(
            id=document["id"],
            vault=VaultRef(vault["subscriptionId"], vault["resourceGroup"], vault["name"]),
            location=document["location"],
            name=document["name"],
            status=OperationStatus(document["status"]),
            start_time=datetime.fromisoformat(document["startTime"].replace("Z", "+00:00")),
            end_time=datetime.fromisoformat(end.replace("Z", "+00:00")) if end else None,
            job_id=document.get("jobId"),
            result=document.get("result"),
            resource_location=document.get("resourceLocation"),
            error=document.get("error"),
            initiated_by=document.get("initiatedBy", "system"),
        )


def new_operation_id(vault: VaultRef) -> str:
    raw = "|".join((vault.subscription_id, vault.resource_group, vault.name, uuid.uuid4().hex)).lower()
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def vault_of_operation(operation_id: str) -> VaultRef | None:
    """The vault an operation id names, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(operation_id + "=" * (-len(operation_id) % 4)).decode()
        subscription, resource_group, vault, token = raw.split("|")
        check_subscription(subscription)
        check_resource_group_name(resource_group)
        check_dataprotection_name(vault, "backup vault", "operationId")
    except (binascii.Error, ValueError, UnicodeDecodeError, ValidationError):
        return None
    if len(token) != 32:
        return None
    return VaultRef(subscription, resource_group, vault)


async def start_operation(
    ctx: RequestContext,
    *,
    location: str,
    name: str,
    vault: VaultRef | None = None,
    job_id: str | None = None,
    resource_location: str | None = None,
) -> OperationRecord:
    """Create and store an InProgress operation for the request's vault, started by the caller."""
    target = vault or ctx.vault
    record = OperationRecord(
        id=new_operation_id(target),
        vault=target,
        location=location,
        name=name,
        status=OperationStatus.IN_PROGRESS,
        start_time=ctx.now,
        job_id=job_id,
        resource_location=resource_location,
        initiated_by=ctx.caller.principal_name,
    )
    await ctx.api.store.put_operation(
        target, record.id, record.to_document(), status=record.status.value, create=True
    )
    return record


async def save_operation(store: VaultStore, record: OperationRecord) -> None:
    await store.put_operation(record.vault, record.id, record.to_document(), status=record.status.value)


async def load_operation(store: VaultStore, vault: VaultRef, operation_id: str) -> OperationRecord | None:
    stored = await store.get_operation(vault, operation_id)
    return OperationRecord.from_document(stored.value) if stored else None


def accepted(
    ctx: RequestContext, operation: OperationRecord, *, location_url: str | None = None
) -> ApiResponse:
    """202 Accepted with absolute ``Azure-AsyncOperation``, ``Location`` and ``Retry-After``."""
    return ApiResponse(202, None, _poll_headers(ctx, operation, location_url))


def created(ctx: RequestContext, operation: OperationRecord, body: Any) -> ApiResponse:
    """201 Created that starts a long-running operation (a backup instance's PUT, as Azure
    answers it): the body, ``Azure-AsyncOperation`` and ``Retry-After``; the SDK's poller polls the
    operation, then GETs the resource."""
    headers = _poll_headers(ctx, operation)
    return ApiResponse(201, body, {name: headers[name] for name in ("Azure-AsyncOperation", "Retry-After")})


def _poll_headers(
    ctx: RequestContext, operation: OperationRecord, location_url: str | None = None
) -> dict[str, str]:
    subscription = f"/subscriptions/{operation.vault.subscription_id}{paths.PROVIDER}/locations/"
    location = normalize_location(operation.location)
    return {
        "Azure-AsyncOperation": ctx.url(f"{subscription}{location}/operationStatus/{operation.id}"),
        "Location": location_url or ctx.url(f"{subscription}{location}/operationResults/{operation.id}"),
        "Retry-After": str(ctx.api.retry_after_seconds),
    }


def status_body(record: OperationRecord, arm_id: str) -> dict[str, Any]:
    """The OperationResource the ``operationStatus`` routes answer."""
    body: dict[str, Any] = {
        "id": arm_id,
        "name": record.id,
        "status": record.status.value,
        "startTime": rfc3339(record.start_time),
    }
    if record.end_time is not None:
        body["endTime"] = rfc3339(record.end_time)
    if record.error is not None:
        body["error"] = {key: value for key, value in record.error.items() if key != "status"}
    if record.job_id is not None:
        body["properties"] = {"objectType": "OperationJobExtendedInfo", "jobId": record.job_id}
    if record.resource_location is not None and record.status is OperationStatus.SUCCEEDED:
        body["resourceLocation"] = record.resource_location
    return body


def _not_found(operation_id: str) -> NotFoundError:
    return NotFoundError(
        f"The operation '{operation_id[:120]}' was not found.", code="OperationNotFound", target="operationId"
    )


async def _find(ctx: RequestContext, *, vault_from_path: bool = False) -> OperationRecord:
    operation_id = ctx.params["operationId"]
    vault = vault_of_operation(operation_id)
    if vault is None or vault.subscription_id.lower() != ctx.params["subscriptionId"].lower():
        raise _not_found(operation_id)
    if (
        "resourceGroupName" in ctx.params
        and vault.resource_group.lower() != ctx.params["resourceGroupName"].lower()
    ):
        raise _not_found(operation_id)
    if vault_from_path and vault.name.lower() != ctx.params["vaultName"].lower():
        raise _not_found(operation_id)
    if not ctx.access.sees(vault):
        raise _not_found(operation_id)  # another vault's operation: as if it did not exist
    record = await load_operation(ctx.api.store, vault, operation_id)
    if record is None:
        raise _not_found(operation_id)
    if "location" in ctx.params and normalize_location(ctx.params["location"]) != normalize_location(
        record.location
    ):
        raise _not_found(operation_id)
    return record


def _arm_path(ctx: RequestContext) -> str:
    from urllib.parse import urlsplit

    path = urlsplit(ctx.request.url).path
    return path[len(ctx.prefix) :] if ctx.prefix and path.startswith(ctx.prefix) else path


def _result(ctx: RequestContext, record: OperationRecord, *, job_result: bool) -> ApiResponse:
    if not record.status.is_terminal:
        return ApiResponse(202, None, _poll_headers(ctx, record))
    if record.status is not OperationStatus.SUCCEEDED:
        error = dict(record.error or {"code": "OperationCanceled", "message": "The operation was canceled."})
        status = int(error.pop("status", 400) or 400)
        if "additionalInfo" not in error:  # recorded before errors carried their UserFacingError
            failure = BackupError(
                str(error.get("message", "")), code=str(error.get("code")), target=error.get("target")
            )
            failure.user_error = status < 500
            error = failure.error_detail(activity_id=record.id)
        return json_response(status, {"error": error})
    if record.result is not None:
        return json_response(200, dict(record.result))
    if job_result and record.job_id is not None:
        return json_response(200, {"objectType": "OperationJobExtendedInfo", "jobId": record.job_id})
    return json_response(200, {})


@routes.get(paths.LOCATION_OPERATION_STATUS)
async def location_operation_status(ctx: RequestContext) -> ApiResponse:
    record = await _find(ctx)
    return json_response(200, status_body(record, _arm_path(ctx)))


@routes.get(paths.RESOURCE_GROUP_OPERATION_STATUS)
async def resource_group_operation_status(ctx: RequestContext) -> ApiResponse:
    record = await _find(ctx)
    return json_response(200, status_body(record, _arm_path(ctx)))


@routes.get(paths.VAULT_OPERATION_STATUS)
async def vault_operation_status(ctx: RequestContext) -> ApiResponse:
    record = await _find(ctx, vault_from_path=True)
    return json_response(200, status_body(record, _arm_path(ctx)))


@routes.get(paths.LOCATION_OPERATION_RESULT)
async def location_operation_result(ctx: RequestContext) -> ApiResponse:
    return _result(ctx, await _find(ctx), job_result=True)


@routes.get(paths.VAULT_OPERATION_RESULT)
async def vault_operation_result(ctx: RequestContext) -> ApiResponse:
    return _result(ctx, await _find(ctx, vault_from_path=True), job_result=False)


@routes.get(paths.BACKUP_INSTANCE_OPERATION_RESULT)
async def backup_instance_operation_result(ctx: RequestContext) -> ApiResponse:
    """Azure's swagger declares the instance itself as a finished operation's result: the
    instance as it is now (an empty body once it is gone, after a delete)."""
    record = await _find(ctx, vault_from_path=True)
    if record.status is OperationStatus.SUCCEEDED and record.result is None:
        # Imported here: the instance endpoints build their operations with this module.
        from backup.api.endpoints.instances import instance_resource

        current = await ctx.api.store.get_instance(ctx.vault, ctx.params["backupInstanceName"])
        if current is not None:
            return json_response(200, instance_resource(current.value))
    return _result(ctx, record, job_result=False)
