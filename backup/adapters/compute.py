"""The only code that talks to Azure Resource Manager: disks, snapshots and permissions.

Built on the async ``azure-mgmt-compute`` and ``azure-mgmt-authorization`` clients. Results
come back as the product's own small dataclasses, and every ARM failure leaves here as one
of the product's errors (``backup.errors``), so callers decide retry or fail on the class:

* 429 -> :class:`ThrottledError` (with Retry-After), 5xx and connection failures ->
  :class:`TransientError`: **retryable**.
* 400 -> :class:`ValidationError`, 401/403 -> :class:`AuthorizationError`, 404 ->
  :class:`NotFoundError`, 409 -> :class:`ConflictError` or :class:`LimitExceededError`:
  **permanent**, never retried.

Who retries what: the SDK's retry policy retries retryable responses a small bounded
number of times (``retry_total``, honouring Retry-After); when that is exhausted the error
propagates as retryable, the queue-triggered function re-raises it, and the Functions host
redelivers the message up to ``maxDequeueCount`` times before it becomes a poison message
(and a failed job). Permanent errors are recorded on the job at once and never retried.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from azure.mgmt.authorization.v2022_04_01.aio import AuthorizationManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.compute.models import Disk, Snapshot

from backup.domain.arm import DiskInfo, Permissions, SnapshotInfo
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline import PipelineResponse

ARM_SCOPE = "https://management.azure.com/.default"
RESOURCE_GROUPS_API_VERSION = "2021-04-01"
# ARM error codes for quotas rather than plain conflicts.
_LIMIT_CODES = frozenset(
    {"SnapshotsLimitReached", "IncrementalSnapshotsPerDiskLimitReached", "TooManySnapshots", "QuotaExceeded"}
)


_PERMANENT_LRO_CODES: dict[str, type[BackupError]] = {
    "BadRequest": ValidationError,
    "InvalidParameter": ValidationError,
    "AuthorizationFailed": AuthorizationError,
    "LinkedAuthorizationFailed": AuthorizationError,
    "ResourceNotFound": NotFoundError,
    "NotFound": NotFoundError,
    "OperationNotAllowed": ConflictError,
    "PropertyChangeNotAllowed": ConflictError,
    **{code: LimitExceededError for code in _LIMIT_CODES},
}


def _error_details(error: HttpResponseError) -> tuple[str, str]:
    odata = getattr(error, "error", None)
    code = getattr(odata, "code", None) or "ArmError"
    message = getattr(odata, "message", None) or error.message or str(error)
    return str(code), str(message)


def _retry_after(error: HttpResponseError) -> float | None:
    response = error.response
    if response is None:
        return None
    value = getattr(response, "headers", {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(error: Exception) -> BackupError:
    """Map an azure-core failure onto the product's exception tree."""
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return TransientError(f"ARM could not be reached: {error}", code="ArmUnreachable")
    if isinstance(error, ClientAuthenticationError) and error.status_code in (None, 401):
        code, message = _error_details(error)
        return AuthorizationError(message, code=code)
    if not isinstance(error, HttpResponseError):
        return TransientError(f"unexpected ARM failure: {error!r}", code="ArmUnexpected")
    code, message = _error_details(error)
    status = error.status_code or 0
    if status < 400:
        # A long-running operation that ended Failed: the status poll itself answered 200.
        # Its code decides; anything not known to be the caller's fault is worth a retry.
        return _PERMANENT_LRO_CODES.get(code, TransientError)(message, code=code)
    if status == 429:
        return ThrottledError(message, code=code, retry_after=_retry_after(error))
    if status >= 500:
        return TransientError(message, code=code)
    if status in (401, 403):
        return AuthorizationError(message, code=code)
    if status == 404:
        return NotFoundError(message, code=code)
    if status == 409:
        return (
            LimitExceededError(message, code=code)
            if code in _LIMIT_CODES
            else ConflictError(message, code=code)
        )
    return ValidationError(message, code=code)


@contextlib.asynccontextmanager
async def _arm_call() -> AsyncIterator[None]:
    try:
        yield
    except BackupError:
        raise
    except Exception as error:
        raise translate(error) from error


def _disk_from_wire(body: Mapping[str, Any]) -> DiskInfo:
    properties = body.get("properties") or {}
    zones = body.get("zones") or []
    encryption = properties.get("encryption") or {}
    return DiskInfo(
        id=body["id"],
        name=body["name"],
        location=body["location"],
        sku=(body.get("sku") or {}).get("name", ""),
        size_gb=int(properties.get("diskSizeGB") or 0),
        unique_id=properties.get("uniqueId"),
        provisioning_state=properties.get("provisioningState"),
        zone=zones[0] if zones else None,
        tier=properties.get("tier"),
        disk_encryption_set_id=encryption.get("diskEncryptionSetId"),
        tags=dict(body.get("tags") or {}),
        source_resource_id=(properties.get("creationData") or {}).get("sourceResourceId"),
    )


def _snapshot_from_wire(body: Mapping[str, Any]) -> SnapshotInfo:
    properties = body.get("properties") or {}
    creation = properties.get("creationData") or {}
    created = properties.get("timeCreated")
    completion = properties.get("completionPercent")
    return SnapshotInfo(
        id=body["id"],
        name=body["name"],
        location=body["location"],
        tags=dict(body.get("tags") or {}),
        incremental=bool(properties.get("incremental")),
        provisioning_state=properties.get("provisioningState"),
        time_created=datetime.fromisoformat(created) if isinstance(created, str) else None,
        completion_percent=float(completion) if completion is not None else None,
        source_resource_id=creation.get("sourceResourceId"),
        source_unique_id=creation.get("sourceUniqueId"),
    )


class ComputeGateway:
    """ARM Compute and permissions for one identity, with clients cached per subscription."""

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        endpoint: str = "https://management.azure.com",
        ca_bundle: str | None = None,
        retry_total: int = 3,
        retry_backoff_factor: float = 0.8,
        polling_interval: float | None = None,
        response_hook: Callable[[PipelineResponse[Any, Any]], None] | None = None,
        credential_for: Callable[[str], AsyncTokenCredential] | None = None,
    ) -> None:
        self._credential = credential
        self._credential_for = credential_for
        self._identities: dict[str, ComputeGateway] = {}
        self._options: dict[str, Any] = {
            "base_url": endpoint.rstrip("/"),
            "credential_scopes": [ARM_SCOPE],
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
        }
        if ca_bundle:
            self._options["connection_verify"] = ca_bundle
        if response_hook is not None:
            # Runs after the retry policy, so it sees every attempt's response (telemetry counts 429s).
            self._options["raw_response_hook"] = response_hook
        self._polling: dict[str, Any] = (
            {} if polling_interval is None else {"polling_interval": polling_interval}
        )
        self._compute: dict[str, ComputeManagementClient] = {}
        self._authorization: dict[str, AuthorizationManagementClient] = {}

    def for_identity(self, identity: str | None) -> ComputeGateway:
        """The gateway acting as a vault's own user-assigned identity (``None``: the app's).

        Vaults with an identity of their own get their own RBAC: every ARM call for their
        instances is made as that identity.
        """
        if identity is None:
            return self
        key = identity.lower()
        if key not in self._identities:
            if self._credential_for is None:
                raise AuthorizationError(
                    f"This app has no credential for the identity '{identity}': attach it to the app "
                    "(deploy parameter extraUserAssignedIdentities).",
                    code="UserErrorIdentityNotAttached",
                )
            child = ComputeGateway(self._credential_for(identity))
            child._options = dict(self._options)
            child._polling = dict(self._polling)
            self._identities[key] = child
        return self._identities[key]

    def _compute_client(self, subscription_id: str) -> ComputeManagementClient:
        key = subscription_id.lower()
        if key not in self._compute:
            self._compute[key] = ComputeManagementClient(self._credential, subscription_id, **self._options)
        return self._compute[key]

    def _authorization_client(self, subscription_id: str) -> AuthorizationManagementClient:
        key = subscription_id.lower()
        if key not in self._authorization:
            self._authorization[key] = AuthorizationManagementClient(
                self._credential, subscription_id, **self._options
            )
        return self._authorization[key]

    async def get_disk(self, disk: ComputeResourceId) -> DiskInfo:
        async with _arm_call():
            result = await self._compute_client(disk.subscription_id).disks.get(
                disk.resource_group, disk.name
            )
        return _disk_from_wire(result.as_dict())

    async def find_disk(self, disk: ComputeResourceId) -> DiskInfo | None:
        try:
            return await self.get_disk(disk)
        except NotFoundError:
            return None

    async def create_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> SnapshotInfo:
        """PUT an incremental snapshot of ``source`` and wait for it.

        The name is derived from (instance, slot), so a retried call re-PUTs the same
        snapshot: ARM treats that as an idempotent update and keeps the first capture.
        """
        body = {
            "location": source.location,
            "tags": dict(tags),
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": source.id},
                "incremental": True,
            },
        }
        client = self._compute_client(snapshot.subscription_id)
        async with _arm_call():
            poller = await client.snapshots.begin_create_or_update(
                snapshot.resource_group, snapshot.name, Snapshot(body)
            )
            result = await poller.result()
        return _snapshot_from_wire(result.as_dict())

    async def get_snapshot(self, snapshot: ComputeResourceId) -> SnapshotInfo | None:
        client = self._compute_client(snapshot.subscription_id)
        try:
            async with _arm_call():
                result = await client.snapshots.get(snapshot.resource_group, snapshot.name)
        except NotFoundError:
            return None
        return _snapshot_from_wire(result.as_dict())

    async def delete_snapshot(self, snapshot: ComputeResourceId) -> None:
        """Delete and wait; deleting a snapshot that is already gone succeeds (ARM answers 204)."""
        client = self._compute_client(snapshot.subscription_id)
        try:
            async with _arm_call():
                poller = await client.snapshots.begin_delete(snapshot.resource_group, snapshot.name)
                await poller.result()
        except NotFoundError:
            return

    async def list_snapshots(self, resource_group: ResourceGroupId) -> list[SnapshotInfo]:
        """Every snapshot in a resource group (ARM has no server-side tag filter for snapshots)."""
        client = self._compute_client(resource_group.subscription_id)
        snapshots: list[SnapshotInfo] = []
        async with _arm_call():
            async for item in client.snapshots.list_by_resource_group(resource_group.resource_group):
                snapshots.append(_snapshot_from_wire(item.as_dict()))
        return snapshots

    async def create_disk_from_snapshot(
        self,
        target: ComputeResourceId,
        snapshot: SnapshotInfo,
        *,
        location: str,
        sku: str,
        zone: str | None = None,
        tier: str | None = None,
        disk_encryption_set_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> DiskInfo:
        properties: dict[str, Any] = {
            "creationData": {"createOption": "Copy", "sourceResourceId": snapshot.id}
        }
        if tier:
            properties["tier"] = tier
        if disk_encryption_set_id:
            properties["encryption"] = {
                "type": "EncryptionAtRestWithCustomerKey",
                "diskEncryptionSetId": disk_encryption_set_id,
            }
        body: dict[str, Any] = {
            "location": location,
            "sku": {"name": sku},
            "tags": dict(tags or {}),
            "properties": properties,
        }
        if zone:
            body["zones"] = [zone]
        client = self._compute_client(target.subscription_id)
        async with _arm_call():
            poller = await client.disks.begin_create_or_update(target.resource_group, target.name, Disk(body))
            result = await poller.result()
        return _disk_from_wire(result.as_dict())

    async def resource_group_exists(self, group: ResourceGroupId) -> bool:
        """Whether the resource group exists (``GET /subscriptions/{s}/resourcegroups/{rg}``).

        A raw GET through the Compute client's pipeline (same credential, retries and TLS
        settings), so no Microsoft.Resources client is needed. An unknown subscription counts
        as "does not exist"; a caller without ``Microsoft.Resources/subscriptions/resourceGroups/read``
        gets :class:`AuthorizationError`.
        """
        client = self._compute_client(group.subscription_id)
        request = HttpRequest(
            "GET",
            f"/subscriptions/{group.subscription_id}/resourcegroups/{group.resource_group}"
            f"?api-version={RESOURCE_GROUPS_API_VERSION}",
        )
        async with _arm_call():
            response = await client.send_request(request)
            if response.status_code == 404:
                return False
            response.raise_for_status()
        return True

    async def ping(self) -> None:
        """Raise unless ARM answers at all. Unauthenticated: any HTTP status proves it is reachable,
        and a health check must not depend on a token (that is the triggers' business)."""
        import ssl

        import aiohttp

        verify = self._options.get("connection_verify")
        context: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else True
        )
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(
                f"{self._options['base_url']}/providers?api-version=2021-04-01", ssl=context
            ) as answer,
        ):
            await answer.read()

    async def permissions(self, scope: ResourceGroupId | ComputeResourceId) -> Permissions:
        """The calling identity's effective actions at a resource group or a Compute resource."""
        client = self._authorization_client(scope.subscription_id)
        if isinstance(scope, ResourceGroupId):
            pages = client.permissions.list_for_resource_group(scope.resource_group)
        else:
            pages = client.permissions.list_for_resource(
                scope.resource_group, "Microsoft.Compute", "", scope.resource_type, scope.name
            )
        entries: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        async with _arm_call():
            async for permission in pages:
                entries.append((tuple(permission.actions or ()), tuple(permission.not_actions or ())))
        return Permissions(tuple(entries))

    async def close(self) -> None:
        for child in self._identities.values():
            await child.close()
        self._identities.clear()
        for compute in self._compute.values():
            await compute.close()
        for authorization in self._authorization.values():
            await authorization.close()
        self._compute.clear()
        self._authorization.clear()
