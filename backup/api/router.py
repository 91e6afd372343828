"""The internal router behind the one ARM HTTP trigger (``subscriptions/{*armPath}``).

Adding an endpoint::

    # backup/api/endpoints/instances.py
    from backup.api import paths
    from backup.api.auth import Role
    from backup.api.router import RequestContext, RouteTable
    from backup.api.http import ApiResponse, json_response

    routes = RouteTable()

    @routes.put(paths.BACKUP_INSTANCE)                      # role defaults: GET reader, else operator
    async def put_instance(ctx: RequestContext) -> ApiResponse:
        body = ctx.json_object()                            # 400 if missing / not JSON / not an object
        vault = ctx.vault                                   # VaultRef from the (validated) path
        name = ctx.params["backupInstanceName"]
        ...
        return json_response(201, resource)

and list ``instances.routes`` in :func:`backup.api.app.build_router`. Templates use ARM's
parameter names; each name has a strict validator (:data:`PARAM_VALIDATORS`), so a handler
only ever sees valid subscription ids, resource group names and resource names. Literal
segments match case-insensitively (ARM is case-insensitive); parameter values keep the
caller's spelling.

Before the handler runs the router has: matched the route (404 ``InvalidResourceType``,
405 with ``Allow``), capped the body (413), required a supported ``api-version`` (400),
validated path parameters (400), and resolved the :class:`~backup.api.auth.Caller`, its grants
and checked the route's role at the scope the path names (401/403, :mod:`backup.api.access`).
Every :class:`~backup.errors.BackupError` a handler
raises becomes its status and ARM error body; anything else is logged and answered 500
``InternalServerError`` without details. Every answer carries ``x-ms-request-id`` and
``x-ms-correlation-request-id``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backup.api.access import access_of, authorize, require, scope_of_request
from backup.api.auth import Caller, Role, caller_from_headers
from backup.api.dependencies import ApiContext
from backup.api.errors import InvalidRequestContentError, MethodNotAllowedError, RouteNotFoundError
from backup.api.http import ApiRequest, ApiResponse, json_response, parse_json, url_with_query
from backup.api.request_guard import check_write
from backup.api.versions import check_api_version
from backup.domain.access import Access, Scope
from backup.domain.instance import VaultRef
from backup.domain.resource_ids import (
    COMPUTE_NAME_PATTERN,
    DATAPROTECTION_NAME_PATTERN,
    GUID,
    GUID_PATTERN,
    RESOURCE_GROUP_NAME_PATTERN,
    check_compute_name,
    check_dataprotection_name,
    check_resource_group_name,
    check_subscription,
)
from backup.errors import BackupError, ValidationError

logger = logging.getLogger(__name__)

Handler = Callable[["RequestContext"], Awaitable[ApiResponse]]
EXTENSION_SEGMENT = "x"
ROOT_SEGMENTS = ("subscriptions", "providers")
"""The first segment of every ARM path served: ``/subscriptions/...``, or ``/providers/...`` for
the provider's tenant-level calls (its ``operations`` list)."""
ROOT_SEGMENTS_PREFIXES = tuple(f"/{segment}/" for segment in ROOT_SEGMENTS)
"""The path segment before ``subscriptions`` that marks a product-only call (``/api/x/...``)."""

PARAM_PATTERNS: dict[str, str] = {
    "subscriptionId": GUID_PATTERN,
    "resourceGroupName": RESOURCE_GROUP_NAME_PATTERN,
    "vaultName": DATAPROTECTION_NAME_PATTERN,
    "backupPolicyName": DATAPROTECTION_NAME_PATTERN,
    "backupInstanceName": DATAPROTECTION_NAME_PATTERN,
    "jobId": GUID_PATTERN,
    "recoveryPointId": r"^[0-9a-fA-F]{32}$",
    "location": r"^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$",
    "operationId": r"^[A-Za-z0-9_-]{1,600}$",
    "diskName": COMPUTE_NAME_PATTERN,
    "resourceGuardsName": DATAPROTECTION_NAME_PATTERN,
    "resourceGuardProxyName": DATAPROTECTION_NAME_PATTERN,
    "roleAssignmentName": GUID_PATTERN,
}
"""The pattern each path parameter must match: the validators below use these, the OpenAPI
document publishes them, so the two cannot drift."""
_HEX32 = re.compile(PARAM_PATTERNS["recoveryPointId"])
_LOCATION = re.compile(PARAM_PATTERNS["location"])
_OPERATION_ID = re.compile(PARAM_PATTERNS["operationId"])
_SAFE_HEADER_VALUE = re.compile(r"^[A-Za-z0-9{}._:-]{1,128}$")


def _job_id(value: str) -> str:
    if not GUID.fullmatch(value):
        raise ValidationError(f"'{value}' is not a job id (a GUID).", code="InvalidJobId", target="jobId")
    return value.lower()


def _recovery_point_id(value: str) -> str:
    if not _HEX32.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a recovery point id (32 hex digits).",
            code="InvalidRecoveryPointId",
            target="recoveryPointId",
        )
    return value.lower()


def _location(value: str) -> str:
    if not _LOCATION.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not an Azure location.", code="InvalidLocation", target="location"
        )
    return value


def _operation_id(value: str) -> str:
    if not _OPERATION_ID.fullmatch(value):
        raise ValidationError(
            f"'{value[:80]}' is not an operation id.", code="InvalidOperationId", target="operationId"
        )
    return value


def _role_assignment_name(value: str) -> str:
    if not GUID.fullmatch(value):
        raise ValidationError(
            f"'{value[:80]}' is not a role assignment name (a GUID).",
            code="InvalidRoleAssignmentName",
            target="roleAssignmentName",
        )
    return value.lower()


def _name(what: str, target: str) -> Callable[[str], str]:
    return lambda value: check_dataprotection_name(value, what, target)


PARAM_VALIDATORS: dict[str, Callable[[str], str]] = {
    "subscriptionId": check_subscription,
    "resourceGroupName": check_resource_group_name,
    "vaultName": _name("backup vault", "vaultName"),
    "backupPolicyName": _name("backup policy", "backupPolicyName"),
    "backupInstanceName": _name("backup instance", "backupInstanceName"),
    "jobId": _job_id,
    "recoveryPointId": _recovery_point_id,
    "location": _location,
    "operationId": _operation_id,
    "diskName": lambda value: check_compute_name(value, "disk", "diskName"),
    "resourceGuardsName": _name("resource guard", "resourceGuardsName"),
    "resourceGuardProxyName": _name("resource guard proxy", "resourceGuardProxyName"),
    "roleAssignmentName": _role_assignment_name,
}
"""Path parameter name -> validator returning the value to use (or raising ValidationError)."""


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    segments: tuple[tuple[bool, str], ...]
    """(is_parameter, literal-casefolded or parameter name) per segment."""
    handler: Handler
    role: Role
    extension: bool = False
    """A product-only call (no Azure equivalent), served under ``/x/`` before the ARM path."""

    @property
    def literal_count(self) -> int:
        return sum(1 for is_param, _ in self.segments if not is_param)


def _compile(template: str) -> tuple[tuple[bool, str], ...]:
    if not template.startswith(ROOT_SEGMENTS_PREFIXES):
        raise ValueError(f"route templates start with /subscriptions/ or /providers/: {template!r}")
    compiled: list[tuple[bool, str]] = []
    for segment in template[1:].split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name not in PARAM_VALIDATORS:
                raise ValueError(f"no validator for path parameter {name!r} in {template!r}")
            compiled.append((True, name))
        elif not segment or "{" in segment or "}" in segment:
            raise ValueError(f"bad segment {segment!r} in {template!r}")
        else:
            compiled.append((False, segment.casefold()))
    return tuple(compiled)


class RouteTable:
    """Routes declared next to their handlers; a :class:`Router` is built from several tables."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, template: str, *, role: Role | None = None, extension: bool = False
    ) -> Callable[[Handler], Handler]:
        method = method.upper()
        required = role or (Role.READER if method == "GET" else Role.OPERATOR)

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, _compile(template), handler, required, extension))
            return handler

        return register

    def get(
        self, template: str, *, role: Role | None = None, extension: bool = False
    ) -> Callable[[Handler], Handler]:
        return self.route("GET", template, role=role, extension=extension)

    def put(self, template: str, *, role: Role | None = None) -> Callable[[Handler], Handler]:
        return self.route("PUT", template, role=role)

    def post(self, template: str, *, role: Role | None = None) -> Callable[[Handler], Handler]:
        return self.route("POST", template, role=role)

    def patch(self, template: str, *, role: Role | None = None) -> Callable[[Handler], Handler]:
        return self.route("PATCH", template, role=role)

    def delete(self, template: str, *, role: Role | None = None) -> Callable[[Handler], Handler]:
        return self.route("DELETE", template, role=role)


@dataclass
class RequestContext:
    """What a handler gets: the request, validated path parameters, the caller and the services."""

    request: ApiRequest
    params: Mapping[str, str]
    api: ApiContext
    caller: Caller
    api_version: str
    route: Route
    access: Access
    """What the caller holds where; lists show only the vaults :meth:`Access.sees` allows."""
    prefix: str = ""
    """The URL path before ``/subscriptions`` (the Functions route prefix, normally ``/api``)."""
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def now(self) -> datetime:
        return self.api.clock.now()

    @property
    def vault(self) -> VaultRef:
        return VaultRef(
            self.params["subscriptionId"], self.params["resourceGroupName"], self.params["vaultName"]
        )

    def require(self, role: Role, scope: Scope, action: str) -> None:
        """403 unless the caller holds ``role`` at ``scope`` or above (checks beyond the route's)."""
        require(self.caller, self.access, role, scope, action)

    def query(self, name: str) -> str | None:
        return self.request.query.get(name)

    def json(self) -> Any:
        """The body parsed as JSON (400 ``InvalidRequestContent`` if absent or malformed)."""
        if not self._parsed:
            self._json = parse_json(self.request.body)
            self._parsed = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise InvalidRequestContentError("The request content must be a JSON object.")
        return body

    def url(self, arm_path: str, query: Mapping[str, str] | None = None) -> str:
        """Absolute URL of an ARM path on this API (same origin and route prefix as the request),
        with this request's ``api-version`` and any further query parameters."""
        params = {"api-version": self.api_version, **(query or {})}
        return url_with_query(self.request.origin + self.prefix + arm_path, params)


class Router:
    def __init__(self, tables: Iterable[RouteTable]) -> None:
        self._routes = sorted(
            (route for table in tables for route in table.routes), key=lambda r: -r.literal_count
        )
        seen: set[tuple[str, bool, tuple[tuple[bool, str], ...]]] = set()
        for route in self._routes:
            key = (route.method, route.extension, tuple((p, "" if p else s) for p, s in route.segments))
            if key in seen:
                raise ValueError(f"duplicate route {route.method} {route.template}")
            seen.add(key)

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    async def handle(self, request: ApiRequest, context: ApiContext) -> ApiResponse:
        request_id = str(uuid.uuid4())
        try:
            response = await self._dispatch(request, context)
        except BackupError as error:
            response = error_response(error, request_id)
        except Exception:
            logger.exception(
                "Unhandled error in %s %s (x-ms-request-id %s)",
                request.method,
                _path_only(request),
                request_id,
            )
            internal = BackupError(
                f"The server encountered an internal error. Request id: {request_id}.",
                code="InternalServerError",
            )
            response = json_response(500, internal.to_arm_error(request_id))
        response.headers.update(_tracking_headers(request, request_id))
        return response

    async def _dispatch(self, request: ApiRequest, context: ApiContext) -> ApiResponse:
        segments = request.path_segments
        start = next((i for i, s in enumerate(segments) if s.casefold() in ROOT_SEGMENTS), None)
        if start is None:
            raise _no_route(request)
        # Product-only calls live under ``/x/``: ``/api/x/subscriptions/...`` (never Azure's paths).
        extension = start > 0 and segments[start - 1].casefold() == EXTENSION_SEGMENT
        prefix = "".join("/" + s for s in segments[: start - 1 if extension else start])
        arm = segments[start:]
        route, raw_params = self._match(request, arm, extension)
        request.checked_body()
        check_write(request)
        api_version = check_api_version(request.query.get("api-version"))
        params = {name: PARAM_VALIDATORS[name](value) for name, value in raw_params.items()}
        caller = caller_from_headers(request.headers, auth_enabled=context.auth_enabled)
        access = await access_of(caller, context.role_assignments)
        action = f"{route.method} on {_path_only(request)}"
        authorize(caller, access, route.role, scope_of_request(params), action)
        ctx = RequestContext(request, params, context, caller, api_version, route, access, prefix)
        return await route.handler(ctx)

    def _match(self, request: ApiRequest, arm: list[str], extension: bool) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self._routes:
            if route.extension != extension or len(route.segments) != len(arm):
                continue
            params: dict[str, str] = {}
            for (is_param, expected), actual in zip(route.segments, arm, strict=True):
                if is_param:
                    if not actual:
                        break
                    params[expected] = actual
                elif actual.casefold() != expected:
                    break
            else:
                if route.method == request.method:
                    return route, params
                allowed.append(route.method)
        if allowed:
            methods = tuple(sorted(set(allowed)))
            raise MethodNotAllowedError(
                f"The requested resource does not support http method '{request.method}'; "
                f"it supports {', '.join(methods)}.",
                allowed=methods,
            )
        raise _no_route(request)


def _no_route(request: ApiRequest) -> RouteNotFoundError:
    return RouteNotFoundError(
        f"No route matches '{request.method} {_path_only(request)}' in the Microsoft.DataProtection API "
        "served here (backup vaults, backup policies, backup instances, recovery points, jobs, operations).",
    )


def _path_only(request: ApiRequest) -> str:
    from urllib.parse import urlsplit

    return urlsplit(request.url).path[:300]


def error_response(error: BackupError, activity_id: str | None = None) -> ApiResponse:
    """The ARM error body for ``error``; ``activity_id`` (the request's x-ms-request-id) becomes the
    UserFacingError's ``properties.ActivityId``, so a user can quote it and we can find the logs."""
    body = error.to_arm_error(activity_id)
    details = getattr(error, "details", None)
    if details:
        inner = body["error"]
        if isinstance(inner, dict):
            inner["details"] = list(details)
    response = json_response(error.status, body)
    if isinstance(error, MethodNotAllowedError):
        response.headers["Allow"] = ", ".join(error.allowed)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(0, int(retry_after)))
    return response


def _tracking_headers(request: ApiRequest, request_id: str) -> dict[str, str]:
    def safe(name: str) -> str | None:
        value = request.headers.get(name)
        return value if value is not None and _SAFE_HEADER_VALUE.fullmatch(value) else None

    client_request_id = safe("x-ms-client-request-id")
    correlation = safe("x-ms-correlation-request-id") or client_request_id or request_id
    headers = {"x-ms-request-id": request_id, "x-ms-correlation-request-id": correlation}
    if client_request_id is not None:
        headers["x-ms-client-request-id"] = client_request_id
    return headers
