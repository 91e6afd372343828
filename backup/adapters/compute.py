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

Pacing: with an :class:`~backup.ports.ArmBudget`, every request first holds a token of its
(subscription, principal, category) bucket, and every answer's
``x-ms-ratelimit-remaining-subscription-*`` header and every 429's Retry-After is reported
back to it. The backup worker's snapshot PUT and operation polls are *paced by the caller*
(:meth:`ComputeGateway.begin_incremental_snapshot`, :meth:`ComputeGateway.poll_snapshot`): it
holds the token itself, so it can wait as a delayed queue message instead of in-process, and
the SDK never sleeps on their 429s: a 429 comes back at once as :class:`ThrottledError` with
its Retry-After. 5xx and connection failures are still retried by the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.authorization.v2022_04_01.aio import AuthorizationManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.compute.models import Disk, Snapshot

from backup.credentials import token_principal
from backup.domain.arm import ArmPrincipal, DiskInfo, Permissions, SnapshotInfo
from backup.domain.lro import Accepted, InProgress, retry_after_seconds
from backup.domain.pacing import BudgetScope, Category
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

    from backup.ports import ArmBudget

_log = logging.getLogger(__name__)

ARM_SCOPE = "https://management.azure.com/.default"
UNPACED_WAIT_SECONDS = 60.0
"""How long a call its caller does not pace may wait for ARM's budget before it gives up."""
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


PACED = "backup_paced"
"""Per-request option: the caller holds the budget token, so a 429 must come straight back."""
_SUBSCRIPTION_IN_PATH = re.compile(r"/subscriptions/([^/?#]+)", re.IGNORECASE)
_REMAINING_HEADER = "x-ms-ratelimit-remaining-subscription-{}"


class PacedRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """The SDK's retry policy, except that a request sent with ``backup_paced=True`` is not
    retried on 429: its caller re-schedules it (as a delayed message) after Retry-After."""

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        paced = bool(options.pop(PACED, False))
        settings = super().configure_retries(options)
        settings[PACED] = paced
        return settings

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        if settings.get(PACED) and response.http_response.status_code == 429:
            return False
        return bool(super().is_retry(settings, response))


def category_of(method: str) -> Category:
    """ARM's throttling category of an HTTP method."""
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        return Category.READS
    if verb == "DELETE":
        return Category.DELETES
    return Category.WRITES


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


def _failed_operation(body: Mapping[str, Any]) -> BackupError:
    """A long-running operation that ended Failed (or Canceled): its code decides, as in ``translate``."""
    error = body.get("error") or {}
    code = str(error.get("code") or "OperationFailed")
    message = str(error.get("message") or f"The operation ended {body.get('status')}.")
    return _PERMANENT_LRO_CODES.get(code, TransientError)(message, code=code)


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
        budget: ArmBudget | None = None,
    ) -> None:
        self._credential = credential
        self._credential_for = credential_for
        self._identities: dict[str, ComputeGateway] = {}
        self._identity: str | None = None
        self._principal: ArmPrincipal | None = None
        self._principal_known = False
        self._budget = budget
        self._reports: list[tuple[BudgetScope, Category, int | None, float | None]] = []
        self._telemetry_hook = response_hook
        self._options: dict[str, Any] = {
            "base_url": endpoint.rstrip("/"),
            "credential_scopes": [ARM_SCOPE],
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "retry_policy": PacedRetryPolicy(
                retry_total=retry_total, retry_backoff_factor=retry_backoff_factor
            ),
        }
        if ca_bundle:
            self._options["connection_verify"] = ca_bundle
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
            child = ComputeGateway(
                self._credential_for(identity), budget=self._budget, response_hook=self._telemetry_hook
            )
            child._options = dict(self._options)
            child._polling = dict(self._polling)
            child._identity = identity
            self._identities[key] = child
        return self._identities[key]

    async def calling_principal(self) -> ArmPrincipal | None:
        """The ``oid``/``tid``/``appid`` of this gateway's ARM access token (see the port).

        The token is the one the SDK clients send (same credential, same scope), fetched through
        the credential's own cache; its signature is not checked (we only learn who we are).
        """
        if self._principal_known:
            return self._principal
        who = f"the identity '{self._identity}'" if self._identity else "the app's identity"
        try:
            token = await self._credential.get_token(ARM_SCOPE)
        except Exception as error:  # shown as unknown now, asked again on the next call
            _log.warning("could not get an ARM token for %s to learn its principal id: %s", who, error)
            return None
        try:
            self._principal = token_principal(token.token)
        except ValueError as reason:
            _log.warning(
                "vaults acting as %s show no principalId: %s (a local opaque token? use the "
                "Compute emulator's JWT for the principal)",
                who,
                reason,
            )
        self._principal_known = True
        return self._principal

    def _client_options(self) -> dict[str, Any]:
        # The hook runs after the retry policy, so it sees every attempt's response.
        return {**self._options, "raw_response_hook": self._on_response}

    def _compute_client(self, subscription_id: str) -> ComputeManagementClient:
        key = subscription_id.lower()
        if key not in self._compute:
            self._compute[key] = ComputeManagementClient(
                self._credential, subscription_id, **self._client_options()
            )
        return self._compute[key]

    def _authorization_client(self, subscription_id: str) -> AuthorizationManagementClient:
        key = subscription_id.lower()
        if key not in self._authorization:
            self._authorization[key] = AuthorizationManagementClient(
                self._credential, subscription_id, **self._client_options()
            )
        return self._authorization[key]

    # --- the budget ---------------------------------------------------------------------------

    def budget_scope(self, subscription_id: str) -> BudgetScope:
        """Whose bucket this gateway's calls in ``subscription_id`` spend."""
        return BudgetScope(subscription_id.lower(), self._identity.lower() if self._identity else None)

    def _on_response(self, response: PipelineResponse[Any, Any]) -> None:
        """Every ARM answer: telemetry sees it, and what it says about the budget is kept for
        :meth:`_flush_reports` (the hook is synchronous; reporting is not)."""
        if self._telemetry_hook is not None:
            self._telemetry_hook(response)
        if self._budget is None:
            return
        request, answer = response.http_request, response.http_response
        found = _SUBSCRIPTION_IN_PATH.search(urlsplit(request.url).path)
        if found is None:
            return
        category = category_of(request.method)
        headers = answer.headers
        raw_remaining = headers.get(_REMAINING_HEADER.format(category.value))
        remaining: int | None = None
        if raw_remaining is not None:
            with contextlib.suppress(ValueError):
                remaining = int(raw_remaining)
        retry_after = (
            retry_after_seconds(headers.get("Retry-After"), 1.0) if answer.status_code == 429 else None
        )
        if remaining is not None or retry_after is not None:
            self._reports.append((self.budget_scope(found.group(1)), category, remaining, retry_after))

    async def _flush_reports(self) -> None:
        if self._budget is None or not self._reports:
            return
        reports, self._reports = self._reports, []
        for scope, category, remaining, retry_after in reports:
            try:
                await self._budget.report(scope, category, remaining=remaining, retry_after=retry_after)
            except Exception:  # a report is advice; the ARM call it describes has already happened
                _log.warning("could not report ARM's budget for %s", scope, exc_info=True)

    async def _hold(self, subscription_id: str, category: Category) -> None:
        """Hold one token and wait until it may be spent (calls the caller does not pace).

        These callers (retention, reconciliation, protection checks, restores) can wait in
        process: a budget with no token soon is asked again after the wait it names, up to
        :data:`UNPACED_WAIT_SECONDS` in all, then the caller gets the ``ThrottledError``."""
        if self._budget is None:
            return
        scope = self.budget_scope(subscription_id)
        waited = 0.0
        while True:
            try:
                [delay] = await self._budget.reserve(scope, category)
            except ThrottledError as error:
                pause = error.retry_after or 1.0
                if waited + pause > UNPACED_WAIT_SECONDS:
                    raise
                waited += pause
                await asyncio.sleep(pause)
                continue
            if delay > 0:
                await asyncio.sleep(delay)
            return

    @contextlib.asynccontextmanager
    async def _call(
        self, subscription_id: str, category: Category, *, paced: bool = False
    ) -> AsyncIterator[None]:
        """One ARM call: hold its token (unless the caller paced it), translate its failure,
        report what ARM said about the budget."""
        if not paced:
            await self._hold(subscription_id, category)
        try:
            async with _arm_call():
                yield
        finally:
            await self._flush_reports()

    async def get_disk(self, disk: ComputeResourceId) -> DiskInfo:
        async with self._call(disk.subscription_id, Category.READS):
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
        body = self._snapshot_body(source, tags)
        client = self._compute_client(snapshot.subscription_id)
        async with self._call(snapshot.subscription_id, Category.WRITES):
            poller = await client.snapshots.begin_create_or_update(
                snapshot.resource_group, snapshot.name, Snapshot(body)
            )
            result = await poller.result()
        return _snapshot_from_wire(result.as_dict())

    def _snapshot_body(self, source: DiskInfo, tags: Mapping[str, str]) -> dict[str, Any]:
        return {
            "location": source.location,
            "tags": dict(tags),
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": source.id},
                "incremental": True,
            },
        }

    async def begin_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> Accepted | SnapshotInfo:
        """PUT an incremental snapshot of ``source`` and return ARM's first answer, without waiting:
        :class:`Accepted` (poll it with :meth:`poll_snapshot`) or the finished snapshot.

        Paced by the caller, who holds a write token of :meth:`budget_scope`; a 429 raises
        :class:`ThrottledError` at once. Same idempotency as :meth:`create_incremental_snapshot`.
        """
        client = self._compute_client(snapshot.subscription_id)

        def first_answer(response: PipelineResponse[Any, Any], deserialized: Any, _: Any) -> Any:
            return response.http_response, deserialized

        async with self._call(snapshot.subscription_id, Category.WRITES, paced=True):
            poller = await client.snapshots.begin_create_or_update(  # type: ignore[call-overload]
                snapshot.resource_group,
                snapshot.name,
                Snapshot(self._snapshot_body(source, tags)),
                polling=False,
                cls=first_answer,
                **{PACED: True},
            )
            answer, result = await poller.result()
        headers = answer.headers
        operation_url = headers.get("Azure-AsyncOperation") or headers.get("Location")
        body = result.as_dict() if result is not None else {}
        state = (body.get("properties") or {}).get("provisioningState")
        if operation_url and (answer.status_code == 202 or state not in ("Succeeded", "Failed")):
            return Accepted(self._trusted(operation_url), retry_after_seconds(headers.get("Retry-After")))
        if state == "Failed":
            return await self._settled_snapshot(snapshot)
        return _snapshot_from_wire(body)

    async def poll_snapshot(
        self, operation_url: str, snapshot: ComputeResourceId
    ) -> InProgress | SnapshotInfo:
        """One GET of a snapshot PUT's operation: :class:`InProgress`, or the snapshot it made
        (``properties.output`` of the status, or one GET of the snapshot when ARM sends none).

        A Failed operation raises the product's error for its code (as ``translate`` does). Only
        URLs on the configured ARM endpoint are followed. Paced by the caller (a read token).
        """
        url = self._trusted(operation_url)
        client = self._compute_client(snapshot.subscription_id)
        async with self._call(snapshot.subscription_id, Category.READS, paced=True):
            response = await client.send_request(HttpRequest("GET", url), **{PACED: True})
            response.raise_for_status()
            await response.read()
            body = response.json() if response.content else {}
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if response.status_code == 202:
            return InProgress(retry_after)  # the Location view: still running
        if not isinstance(body, dict):
            return await self._settled_snapshot(snapshot)
        if "status" not in body:
            return _snapshot_from_wire(body)  # the Location view once done: the resource itself
        status = str(body.get("status"))
        if status.lower() in ("succeeded",):
            output = (body.get("properties") or {}).get("output")
            if isinstance(output, dict) and output.get("id"):
                return _snapshot_from_wire(output)
            return await self._settled_snapshot(snapshot)
        if status.lower() in ("failed", "canceled", "cancelled"):
            raise _failed_operation(body)
        return InProgress(retry_after)

    async def _settled_snapshot(self, snapshot: ComputeResourceId) -> SnapshotInfo:
        found = await self.get_snapshot(snapshot)
        if found is None:
            raise NotFoundError(f"The snapshot {snapshot} was not found after its operation ended.")
        if found.provisioning_state == "Failed":
            raise TransientError(
                f"The snapshot {snapshot} ended in provisioning state Failed.",
                code="SnapshotProvisioningFailed",
            )
        return found

    def _trusted(self, url: str) -> str:
        """An operation URL ARM handed out, followed only on the configured ARM endpoint
        (scheme, host and port): the bearer token must never go anywhere else."""
        endpoint = urlsplit(self._options["base_url"])
        target = urlsplit(url)
        same = (
            target.scheme.lower() == endpoint.scheme.lower()
            and (target.hostname or "").lower() == (endpoint.hostname or "").lower()
            and target.port == endpoint.port
        )
        if not same:
            raise ValidationError(
                f"The operation URL {target.scheme}://{target.netloc}{target.path} is not on the ARM "
                f"endpoint {endpoint.scheme}://{endpoint.netloc}; it is not followed.",
                code="UntrustedOperationUrl",
            )
        return url

    async def get_snapshot(self, snapshot: ComputeResourceId) -> SnapshotInfo | None:
        client = self._compute_client(snapshot.subscription_id)
        try:
            async with self._call(snapshot.subscription_id, Category.READS):
                result = await client.snapshots.get(snapshot.resource_group, snapshot.name)
        except NotFoundError:
            return None
        return _snapshot_from_wire(result.as_dict())

    async def delete_snapshot(self, snapshot: ComputeResourceId) -> None:
        """Delete and wait; deleting a snapshot that is already gone succeeds (ARM answers 204)."""
        client = self._compute_client(snapshot.subscription_id)
        try:
            async with self._call(snapshot.subscription_id, Category.DELETES):
                poller = await client.snapshots.begin_delete(snapshot.resource_group, snapshot.name)
                await poller.result()
        except NotFoundError:
            return

    async def list_disks(self, resource_group: ResourceGroupId) -> list[DiskInfo]:
        """Every disk in a resource group, one ARM read per page (not one per disk)."""
        client = self._compute_client(resource_group.subscription_id)
        disks: list[DiskInfo] = []
        async with self._call(resource_group.subscription_id, Category.READS):
            async for item in client.disks.list_by_resource_group(resource_group.resource_group):
                disks.append(_disk_from_wire(item.as_dict()))
        return disks

    async def list_snapshots(self, resource_group: ResourceGroupId) -> list[SnapshotInfo]:
        """Every snapshot in a resource group (ARM has no server-side tag filter for snapshots)."""
        client = self._compute_client(resource_group.subscription_id)
        snapshots: list[SnapshotInfo] = []
        async with self._call(resource_group.subscription_id, Category.READS):
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
        async with self._call(target.subscription_id, Category.WRITES):
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
        async with self._call(group.subscription_id, Category.READS):
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
        async with self._call(scope.subscription_id, Category.READS):
            async for permission in pages:
                entries.append((tuple(permission.actions or ()), tuple(permission.not_actions or ())))
        return Permissions(tuple(entries))

    async def close(self) -> None:
        await self._flush_reports()
        for child in self._identities.values():
            await child.close()
        self._identities.clear()
        for compute in self._compute.values():
            await compute.close()
        for authorization in self._authorization.values():
            await authorization.close()
        self._compute.clear()
        self._authorization.clear()
