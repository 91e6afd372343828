"""The HTTPS front door: ARM routing, authentication, api-version, throttling, faults, headers.

It mirrors ARM's order of checks (authentication, throttling, api-version, subscription,
authorization, resource group, then the resource provider's own rules) so that the product
sees the same error for the same mistake as it would in Azure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .config import EmulatorConfig
from .errors import ArmError
from .faults import Faults
from .lro import Operation
from .state import EmulatorState
from .throttle import ComputePolicyMeter, PrincipalThrottler, category_for
from .tls import TlsMaterial, make_tls

log = logging.getLogger("localdev.compute_emulator")

HOST = "127.0.0.1"
JSON_TYPE = "application/json"

# Real DiskRP versions. The SDK pins 2026-03-02; older ones stay accepted because other tools
# (az CLI, Terraform) send them and the wire format of what we serve has not changed.
COMPUTE_API_VERSIONS = (
    "2020-12-01", "2021-04-01", "2021-08-01", "2021-12-01", "2022-03-02", "2022-07-02", "2023-01-02",
    "2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02", "2026-03-02",
)  # fmt: skip
PERMISSIONS_API_VERSIONS = ("2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview")
RESOURCES_API_VERSIONS = (
    "2016-09-01", "2018-05-01", "2019-05-10", "2019-07-01", "2019-08-01", "2019-10-01", "2020-06-01",
    "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01",
    "2024-11-01", "2025-04-01",
)  # fmt: skip
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_KIND = r"(?P<kind>disks|snapshots)"


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    operation: str  # SDK operationId; {Kind} becomes Disks or Snapshots
    handler: str
    api_versions: tuple[str, ...]
    compute_family: str | None = None  # x-ms-ratelimit-remaining-resource policy family


def _route(
    methods: str,
    pattern: str,
    operation: str,
    handler: str,
    versions: tuple[str, ...],
    family: str | None = None,
) -> Route:
    return Route(
        tuple(methods.split()), re.compile("^" + pattern + "$", re.I), operation, handler, versions, family
    )


_ITEMS = _RG + r"/providers/microsoft\.compute/" + _KIND
_ITEM = _ITEMS + r"/(?P<name>[^/]+)"
_PERMS = r"/providers/microsoft\.authorization/permissions"
_OPS = (
    _SUB
    + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/(?:diskoperations|operations)/(?P<op>[^/]+)"
)
_COMPUTE = COMPUTE_API_VERSIONS

ROUTES: tuple[Route, ...] = (
    _route("GET", _RG + _PERMS, "Permissions_ListForResourceGroup", "permissions", PERMISSIONS_API_VERSIONS),
    _route("GET", _RG + r"/providers/(?P<res>.+?)" + _PERMS, "Permissions_ListForResource", "permissions",
           PERMISSIONS_API_VERSIONS),
    _route("GET", _ITEMS, "{Kind}_ListByResourceGroup", "list", _COMPUTE, "Get{Kind1}"),
    _route("GET", _SUB + r"/providers/microsoft\.compute/" + _KIND, "{Kind}_List", "list", _COMPUTE,
           "Get{Kind1}"),
    _route("GET", _ITEM, "{Kind}_Get", "get", _COMPUTE, "Get{Kind1}"),
    _route("PUT", _ITEM, "{Kind}_CreateOrUpdate", "put", _COMPUTE, "CreateUpdate{Kind}"),
    _route("PATCH", _ITEM, "{Kind}_Update", "patch", _COMPUTE, "CreateUpdate{Kind}"),
    _route("DELETE", _ITEM, "{Kind}_Delete", "delete", _COMPUTE, "Delete{Kind}"),
    _route("GET", _OPS, "DiskOperations_Get", "operation", _COMPUTE, "GetOperation"),
    _route("GET", _RG, "ResourceGroups_Get", "resource_group", RESOURCES_API_VERSIONS),
    _route("HEAD", _RG, "ResourceGroups_CheckExistence", "resource_group", RESOURCES_API_VERSIONS),
)  # fmt: skip


@dataclass
class Matched:
    route: Route
    operation: str
    params: dict[str, str]


def match_route(method: str, path: str) -> tuple[Matched | None, bool]:
    """Returns the match, and whether the path exists for some other method (for 405)."""
    path_known = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if not found:
            continue
        if method not in route.methods:
            path_known = True
            continue
        params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items() if v is not None}
        operation = route.operation
        if "kind" in params:
            kind = params["kind"].lower()
            params["kind"] = kind
            operation = operation.replace("{Kind}", kind.capitalize())
        return Matched(route, operation, params), True
    return None, path_known


UNAUTHENTICATED = "unauthenticated"


@dataclass
class PrincipalCounters:
    """One caller's share of the traffic: what a benchmark counts to measure only the app."""

    total: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    throttled_by_category: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "byCategory": dict(self.by_category),
            "byOperation": dict(self.by_operation),
            "byStatus": dict(self.by_status),
            "faults": dict(self.faults),
            "throttled": self.throttled,
            "throttledByCategory": dict(self.throttled_by_category),
        }


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as far as its bearer token tells: both None without a known token."""

    principal: str | None = None
    token: str | None = None


@dataclass
class RequestCounters:
    """What the product actually sent, for tests that assert call counts (e.g. no extra polls),
    in total, per principal (``byPrincipal``, keyed by principal id) and per bearer token
    (``byToken``): two clients sharing one identity share its ARM buckets, and a benchmark tells
    them apart by token. Requests without a known token count as ``unauthenticated``."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    throttled_by_category: Counter[str] = field(default_factory=Counter)
    # Which bucket refused: the caller's own ("principal") or the subscription's global one.
    throttled_by_scope: Counter[str] = field(default_factory=Counter)
    by_principal: dict[str, PrincipalCounters] = field(default_factory=dict)
    by_token: dict[str, PrincipalCounters] = field(default_factory=dict)

    def _views(self, caller: Caller) -> tuple[PrincipalCounters, PrincipalCounters]:
        views = []
        for table, key in ((self.by_principal, caller.principal), (self.by_token, caller.token)):
            key = key or UNAUTHENTICATED
            counters = table.get(key)
            if counters is None:
                counters = table[key] = PrincipalCounters()
            views.append(counters)
        return views[0], views[1]

    def request(self, caller: Caller, method: str, category: str, operation: str) -> None:
        self.total += 1
        self.by_method[method] += 1
        self.by_category[category] += 1
        self.by_operation[operation] += 1
        for mine in self._views(caller):
            mine.total += 1
            mine.by_category[category] += 1
            mine.by_operation[operation] += 1

    def fault(self, caller: Caller, kind: str) -> None:
        self.faults[kind] += 1
        for mine in self._views(caller):
            mine.faults[kind] += 1

    def refused(self, caller: Caller, category: str, scope: str) -> None:
        self.throttled += 1
        self.throttled_by_category[category] += 1
        self.throttled_by_scope[scope] += 1
        for mine in self._views(caller):
            mine.throttled += 1
            mine.throttled_by_category[category] += 1

    def answered(self, caller: Caller, status: int) -> None:
        self.by_status[str(status)] += 1
        for mine in self._views(caller):
            mine.by_status[str(status)] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "byMethod": dict(self.by_method),
            "byCategory": dict(self.by_category),
            "byOperation": dict(self.by_operation),
            "byStatus": dict(self.by_status),
            "faults": dict(self.faults),
            "throttled": self.throttled,
            "throttledByCategory": dict(self.throttled_by_category),
            "throttledByScope": dict(self.throttled_by_scope),
            "byPrincipal": {key: value.to_dict() for key, value in sorted(self.by_principal.items())},
            "byToken": {key: value.to_dict() for key, value in sorted(self.by_token.items())},
        }


CALLER = web.RequestKey("caller", Caller)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type=JSON_TYPE,
        charset="utf-8",
        headers=headers,
    )


class Emulator:
    """State plus the request pipeline; one per server."""

    def __init__(
        self, seed: dict[str, Any] | None, config: EmulatorConfig, state_file: Path | None = None
    ) -> None:
        self.initial_config = EmulatorConfig.from_dict(config.to_dict())
        self.config = config
        self.state = EmulatorState(config)
        self.throttler = PrincipalThrottler(config.throttle)
        self.meter = ComputePolicyMeter()
        self.faults = Faults()
        self.counters = RequestCounters()
        self.state_file = state_file
        self.tls: TlsMaterial | None = None
        self.public_url = ""
        if state_file is not None and state_file.exists():
            self.reset(json.loads(state_file.read_text()))
        else:
            self.reset(seed)

    # ------------------------------------------------------------------ admin-facing controls

    def reset(self, seed: dict[str, Any] | None) -> None:
        """Back to a known world: state, counters, faults, clock, buckets and the start-up config
        (plus any ``config`` the seed carries)."""
        self.configure(self.initial_config.to_dict(), replace=True)
        if seed and isinstance(seed.get("config"), dict):
            self.configure(seed["config"])
        self.state.load(seed)
        self.counters = RequestCounters()
        self.faults = Faults()
        self.throttler.reset()
        self.meter.reset()

    def configure(self, patch: dict[str, Any], replace: bool = False) -> None:
        candidate = EmulatorConfig() if replace else EmulatorConfig.from_dict(self.config.to_dict())
        candidate.update(patch)
        if candidate.pageSize < 1:
            raise ValueError("pageSize must be at least 1")
        # Mutate in place: the state holds the same object.
        for key, value in vars(candidate).items():
            setattr(self.config, key, value)
        self.throttler.reset(self.config.throttle)

    def save(self, path: Path | None = None) -> Path:
        target = path or self.state_file
        if target is None:
            raise ValueError('no state file: start with --state FILE or pass {"path": ...}')
        self.state.tick()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(self.state.dump(), indent=2))
        tmp.replace(target)
        return target

    # ------------------------------------------------------------------ ARM pipeline

    async def handle_arm(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        correlation_id = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        path = re.sub(r"/{2,}", "/", request.rel_url.raw_path).rstrip("/") or "/"
        matched, path_known = match_route(request.method, path)
        operation = matched.operation if matched else "Unrecognized"
        subscription = matched.params.get("sub") if matched else None
        category = category_for(request.method)
        # Counted under the token's principal even when the request fails before authentication
        # completes (an injected fault), so a benchmark sees every request its client sent.
        caller = self._caller(request)
        request[CALLER] = caller
        self.counters.request(caller, request.method, category, operation)
        remaining: int | None = None
        resource_header: str | None = None
        extra_headers: dict[str, str] = {}
        try:
            if self.faults.latencyMs > 0:
                await asyncio.sleep(self.faults.latencyMs / 1000.0)
            drawn = self.faults.draw(operation)
            if drawn is not None:
                kind, rule = drawn
                self.counters.fault(caller, kind)
                if kind == "connectionReset":
                    return self._reset_connection(request)
                if kind == "throttle429":
                    raise _throttled(subscription or "", "read" if category == "reads" else category[:-1],
                                     rule.retryAfterSeconds)  # fmt: skip
                raise ArmError(
                    500,
                    "InternalServerError",
                    "Encountered internal server error. Diagnostic information: timestamp "
                    f"'{self.state.clock.now():%Y%m%dT%H%M%SZ}', correlation id '{correlation_id}'.",
                )
            principal = self._authenticate(request)
            if matched is None:
                if path_known:
                    raise ArmError(
                        405, "MethodNotAllowed", f"The method '{request.method}' is not allowed for '{path}'."
                    )
                raise ArmError(
                    404,
                    "InvalidResourceType",
                    f"The resource type could not be found for path '{path}': the Compute emulator serves "
                    "disks, snapshots, their operations, resource groups and permissions only.",
                )
            if subscription is not None:
                decision = self.throttler.take(subscription, principal, category, self.now_ts())
                remaining = decision.remaining
                if not decision.allowed:
                    self.counters.refused(caller, category, decision.scope)
                    kind_word = "read" if category == "reads" else category[:-1]
                    raise _throttled(subscription, kind_word, decision.retry_after,
                                     principal if decision.scope == "principal" else None)  # fmt: skip
                if matched.route.compute_family:
                    family = matched.route.compute_family
                    kind_name = matched.params.get("kind", "disks")
                    family = family.replace("{Kind1}", kind_name.capitalize()[:-1]).replace(
                        "{Kind}", kind_name.capitalize()
                    )
                    resource_header = self.meter.record(subscription, family, self.now_ts())
            api_version = self._api_version(request, matched)
            self.state.tick()
            response = await self._dispatch(request, matched, principal, api_version)
        except ArmError as err:
            extra_headers.update(err.headers)
            response = json_response(err.body(), err.status)
        if subscription is not None:
            if remaining is None:
                # Refused before throttling (a fault, an authentication error): the caller's own
                # bucket if the token names one, else the subscription's.
                remaining = self.throttler.remaining(subscription, caller.principal, category, self.now_ts())
            response.headers[f"x-ms-ratelimit-remaining-subscription-{category}"] = str(remaining)
        if resource_header:
            response.headers["x-ms-ratelimit-remaining-resource"] = resource_header
        response.headers.update(extra_headers)
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = correlation_id
        response.headers["x-ms-routing-request-id"] = (
            f"EASTUS:{self.state.clock.now():%Y%m%dT%H%M%SZ}:{request_id}"
        )
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            response.headers["x-ms-client-request-id"] = client_request_id
        self.counters.answered(caller, response.status)
        return response

    def now_ts(self) -> float:
        return self.state.clock.timestamp()

    def _reset_connection(self, request: web.Request) -> web.StreamResponse:
        """Drop the TCP connection without an answer, as a load balancer reset would."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    def _caller(self, request: web.Request) -> Caller:
        """Who the bearer token names, without judging the request (for counting)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        principal = self.state.principal_for_token(token.strip()) if scheme.lower() == "bearer" else None
        return Caller(principal, token.strip()) if principal is not None else Caller()

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization")
        challenge = {
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
            'error="invalid_token", error_description="The authentication failed because of missing '
            "'Authorization' header.\""
        }
        if not header:
            raise ArmError(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                headers=challenge,
            )  # fmt: skip
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                headers=challenge,
            )
        principal = self.state.principal_for_token(token.strip())
        if principal is None:
            challenge["WWW-Authenticate"] = (
                'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
                'error_description="The access token is invalid."'
            )
            raise ArmError(
                401, "InvalidAuthenticationToken", "The access token is invalid.", headers=challenge
            )
        return principal

    @staticmethod
    def _api_version(request: web.Request, matched: Matched) -> str:
        values = [v for k, v in request.query.items() if k.lower() == "api-version"]
        if not values or not values[0]:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        version = values[0]
        supported = matched.route.api_versions
        if version in supported:
            return version
        if not API_VERSION_RE.match(version):
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. "
                f"The supported versions are '{', '.join(supported)}'.",
            )
        namespace, rtype = {
            "Permissions": ("Microsoft.Authorization", "permissions"),
            "ResourceGroups": ("Microsoft.Resources", "resourceGroups"),
            "DiskOperations": ("Microsoft.Compute", "locations/DiskOperations"),
        }.get(matched.operation.split("_")[0], ("Microsoft.Compute", matched.params.get("kind", "disks")))
        raise ArmError(
            400,
            "NoRegisteredProviderFound",
            "No registered resource provider found for location 'global' and API version "
            f"'{version}' for type "
            f"'{rtype}' of namespace '{namespace}'. The supported api-versions are '{', '.join(supported)}'.",
        )

    async def _dispatch(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        handler: Callable[[web.Request, Matched, str, str], Awaitable[web.Response]] = getattr(
            self, "_h_" + m.route.handler
        )
        return await handler(request, m, principal, api_version)

    def _base_url(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def _lro_headers(self, request: web.Request, op: Operation, retry_after: int) -> dict[str, str]:
        base = self._base_url(request)
        return {
            "Azure-AsyncOperation": op.status_url(base),
            "Location": op.monitor_url(base),
            "Retry-After": str(retry_after),
        }

    def _lro_seconds(self) -> float:
        if self.faults.lroDurationSeconds is not None:
            return self.faults.lroDurationSeconds
        return self.config.lroDurationSeconds

    def _lro_failure(self, request: web.Request, operation: str) -> Any:
        failure = self.faults.draw_lro_failure(operation)
        if failure is not None:
            self.counters.fault(request[CALLER], "lroFailed")
        return failure

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            ) from None

    # ---- handlers

    async def _h_get(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        return json_response(self.state.get(principal, p["kind"], p["sub"], p["rg"], p["name"]))  # type: ignore[arg-type]

    async def _h_list(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        items = self.state.list_resources(principal, p["kind"], p["sub"], p.get("rg"))  # type: ignore[arg-type]
        token = request.query.get("$skipToken") or request.query.get("$skiptoken") or "0"
        try:
            start = int(token)
        except ValueError:
            raise ArmError(400, "InvalidParameter", f"The $skipToken '{token}' is invalid.") from None
        size = max(1, self.config.pageSize)
        body: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            query = urllib.parse.urlencode({"api-version": api_version, "$skipToken": start + size})
            body["nextLink"] = f"{self._base_url(request)}{request.rel_url.raw_path}?{query}"
        return json_response(body)

    async def _h_put(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        body = await self._json_body(request)
        doc, op = self.state.put(
            principal, p["kind"], p["sub"], p["rg"], p["name"], body, api_version,  # type: ignore[arg-type]
            self._lro_failure(request, m.operation), self._lro_seconds(),
        )  # fmt: skip
        return json_response(doc, 202, self._lro_headers(request, op, self.config.retryAfterAcceptedSeconds))

    async def _h_patch(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        body = await self._json_body(request)
        doc, op = self.state.patch(
            principal, p["kind"], p["sub"], p["rg"], p["name"], body, api_version,  # type: ignore[arg-type]
            self._lro_failure(request, m.operation), self._lro_seconds(),
        )  # fmt: skip
        return json_response(doc, 202, self._lro_headers(request, op, self.config.retryAfterAcceptedSeconds))

    async def _h_delete(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        op = self.state.delete(
            principal, p["kind"], p["sub"], p["rg"], p["name"], api_version,  # type: ignore[arg-type]
            self._lro_failure(request, m.operation), self._lro_seconds(),
        )  # fmt: skip
        if op is None:
            return web.Response(status=204)
        return web.Response(
            status=202, headers=self._lro_headers(request, op, self.config.retryAfterAcceptedSeconds)
        )

    async def _h_operation(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        op = self.state.operation(m.params["sub"], m.params["op"])
        poll_after = str(self.config.retryAfterPollSeconds)
        if not op.done:
            self.state.answered_in_progress(op)
        if request.query.get("monitor", "").lower() == "true":
            if not op.done:
                return web.Response(
                    status=202,
                    headers={"Location": op.monitor_url(self._base_url(request)), "Retry-After": poll_after},
                )
            if op.status == "Failed" and op.failure is not None:
                error = ArmError(op.failure.status, op.failure.code, op.failure.message)
                return json_response(error.body(), error.status)
            result = self.state.operation_result(op)
            if result is None:
                return web.Response(status=200)
            return json_response(result)
        headers = {} if op.done else {"Retry-After": poll_after}
        return json_response(op.status_body(), 200, headers)

    async def _h_resource_group(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        body = self.state.get_resource_group(principal, m.params["sub"], m.params["rg"])
        if request.method == "HEAD":
            return web.Response(status=204)
        return json_response(body)

    async def _h_permissions(
        self, request: web.Request, m: Matched, principal: str, api_version: str
    ) -> web.Response:
        p = m.params
        scope = f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}"
        if p.get("res"):
            scope += "/providers/" + p["res"]
        return json_response({"value": self.state.permissions(principal, p["sub"], p["rg"], scope)})


def _throttled(subscription: str, kind: str, retry_after: int, principal: str | None = None) -> ArmError:
    actor = f" actor '{principal}'" if principal else ""
    return ArmError(
        429,
        "SubscriptionRequestsThrottled",
        f"Number of '{kind}' requests for subscription '{subscription}'{actor} exceeded. "
        "Please try again after "
        f"'{retry_after}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling",
        headers={"Retry-After": str(retry_after)},
    )


def build_app(emulator: Emulator) -> web.Application:
    from .admin import add_admin_routes

    app = web.Application(client_max_size=16 * 1024 * 1024)
    add_admin_routes(app, emulator)
    app.router.add_route("*", "/{tail:.*}", emulator.handle_arm)
    return app


def load_seed(seed: dict[str, Any] | str | Path | None) -> dict[str, Any] | None:
    if seed is None or isinstance(seed, dict):
        return seed
    loaded: dict[str, Any] = json.loads(Path(seed).read_text())
    return loaded


async def start_site(emulator: Emulator, port: int, cert_dir: Path) -> tuple[web.AppRunner, str]:
    """Bind 127.0.0.1:port with a fresh CA; returns the runner and the base URL."""
    emulator.tls = make_tls(cert_dir)
    runner = web.AppRunner(build_app(emulator), access_log=None, handle_signals=False)
    await runner.setup()
    # A deep accept queue: a benchmark opens hundreds of connections at once (aiohttp's default is 128).
    site = web.TCPSite(runner, HOST, port, ssl_context=emulator.tls.server_context, backlog=2048)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    emulator.public_url = f"https://{HOST}:{bound_port}"
    return runner, emulator.public_url


async def stop_site(runner: web.AppRunner) -> None:
    """Stop serving and drop every connection, so no TLS transport outlives the loop (a client's
    pooled keep-alive connection would otherwise leave one half-closed)."""
    server = runner.server
    transports = list(getattr(server, "_connections", {}).values()) if server is not None else []
    for transport in transports:
        transport.abort()  # a graceful TLS close would wait for the peer's close_notify
    await runner.cleanup()
    # Let aborted SSL transports release their sockets before the loop closes.
    await asyncio.sleep(0.05)


class EmulatorServer:
    """The emulator in a background thread with its own event loop, for tests and tools.

    ``with EmulatorServer(seed, config={"retryAfterAcceptedSeconds": 0}) as emu:`` gives
    ``emu.url`` (ARM base URL), ``emu.ca_bundle`` (for ``connection_verify``), ``emu.admin_url``
    and ``emu.admin`` (an :class:`AdminClient`).
    """

    def __init__(
        self,
        seed: dict[str, Any] | str | Path | None = None,
        port: int = 0,
        config: EmulatorConfig | dict[str, Any] | None = None,
        cert_dir: str | Path | None = None,
        state_file: str | Path | None = None,
    ) -> None:
        if isinstance(config, dict) or config is None:
            config = EmulatorConfig.from_dict(config)
        self._config = config
        self._seed = load_seed(seed)
        self._port = port
        self._cert_dir = Path(cert_dir) if cert_dir else None
        self._state_file = Path(state_file) if state_file else None
        self._tmp: Any = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.emulator: Emulator | None = None
        self.url = ""

    @property
    def ca_bundle(self) -> str:
        if self.emulator is None or self.emulator.tls is None:
            raise RuntimeError("server not started")
        return str(self.emulator.tls.ca_bundle)

    @property
    def admin_url(self) -> str:
        return self.url + "/_admin"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def admin(self) -> Any:
        from .client import AdminClient

        return AdminClient(self.admin_url, self.ca_bundle)

    def start(self) -> EmulatorServer:
        if self._cert_dir is None:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="compute-emulator-")
            self._cert_dir = Path(self._tmp.name)
        self._thread = threading.Thread(target=self._run, name="compute-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"Compute emulator failed to start: {self._error}") from self._error
        if not self._ready.is_set():
            raise TimeoutError("Compute emulator did not start within 30 s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.emulator = Emulator(self._seed, self._config, self._state_file)
            assert self._cert_dir is not None
            self._runner, self.url = loop.run_until_complete(
                start_site(self.emulator, self._port, self._cert_dir)
            )
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(stop_site(self._runner))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            if self.emulator is not None and self._state_file is not None:
                emulator = self.emulator
                future = asyncio.run_coroutine_threadsafe(_call(lambda: emulator.save()), self._loop)
                future.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _call(fn: Callable[[], Any]) -> Any:
    return fn()
