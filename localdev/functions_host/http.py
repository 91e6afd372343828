"""HTTP triggers served with aiohttp under host.json's route prefix."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from azure.functions import _abc as func_abc
from azure.functions.http import HttpRequest as WorkerHttpRequest
from multidict import CIMultiDict

from localdev.functions_host.easy_auth import EasyAuthStandIn
from localdev.functions_host.indexing import IndexedFunction, Outcome
from localdev.functions_host.routing import RouteTemplate

log = logging.getLogger("localdev.functions_host")

Invoker = Callable[[IndexedFunction, Any, str], Awaitable[Outcome]]
# Functions accepts request bodies up to 100 MB.
MAX_BODY = 100 * 1024 * 1024


@dataclass
class HttpRoute:
    function: IndexedFunction
    template: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str
    output_name: str


def build_routes(functions: Iterable[IndexedFunction]) -> list[HttpRoute]:
    routes = []
    for function in functions:
        trigger = function.trigger
        methods = trigger.get("methods")
        output = function.output("http")
        routes.append(
            HttpRoute(
                function=function,
                template=RouteTemplate.parse(str(trigger.get("route") or function.name)),
                methods=frozenset(str(m).upper() for m in methods) if methods else None,
                auth_level=str(trigger.get("authLevel") or "function").lower(),
                output_name=output["name"] if output else "$return",
            )
        )
    return sorted(routes, key=lambda route: route.template.precedence)


class Keys:
    """Host keys. With none configured (the default, like ``func start``), no key is checked."""

    def __init__(self, host_keys: Iterable[str] = (), master_key: str | None = None) -> None:
        self.host_keys = [key for key in host_keys if key]
        self.master_key = master_key or None

    @property
    def enforced(self) -> bool:
        return bool(self.host_keys or self.master_key)

    def allows(self, level: str, key: str | None) -> bool:
        if not self.enforced or level == "anonymous":
            return True
        if not key:
            return False
        is_master = self.master_key is not None and hmac.compare_digest(key, self.master_key)
        if level == "admin":
            return is_master
        return is_master or any(hmac.compare_digest(key, candidate) for candidate in self.host_keys)


def _response(value: Any) -> web.Response:
    if isinstance(value, func_abc.HttpResponse):
        headers = CIMultiDict((str(k), str(v)) for k, v in value.headers.items())
        if "content-type" not in headers:
            mimetype = value.mimetype
            headers["Content-Type"] = (
                f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
            )
        return web.Response(status=value.status_code, body=value.get_body(), headers=headers)
    if isinstance(value, str):
        return web.Response(
            status=200, body=value.encode("utf-8"), content_type="text/plain", charset="utf-8"
        )
    if isinstance(value, bytes | bytearray):
        return web.Response(status=200, body=bytes(value), content_type="application/octet-stream")
    if value is None:
        return web.Response(status=204)
    raise TypeError(f"an HTTP function must return func.HttpResponse or str, not {type(value).__name__}")


def _joined(pairs: Iterable[tuple[str, str]], separator: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        values[key] = f"{values[key]}{separator}{value}" if key in values else value
    return values


class HttpServer:
    def __init__(
        self,
        routes: list[HttpRoute],
        route_prefix: str,
        keys: Keys,
        invoke: Invoker,
        easy_auth: EasyAuthStandIn | None = None,
    ) -> None:
        self.routes = routes
        self.easy_auth = easy_auth
        self.prefix = [segment for segment in route_prefix.split("/") if segment]
        self.keys = keys
        self._invoke = invoke

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        segments = [segment for segment in raw_path.split("/") if segment]
        if [s.lower() for s in segments] == ["admin", "host", "status"]:
            return web.json_response({"state": "Running"})
        if [s.lower() for s in segments[: len(self.prefix)]] != [p.lower() for p in self.prefix]:
            return web.Response(status=404)
        rest = segments[len(self.prefix) :]
        matches = [
            (route, values) for route in self.routes if (values := route.template.match(rest)) is not None
        ]
        if not matches:
            return web.Response(status=404)
        allowed = [(r, v) for r, v in matches if r.methods is None or request.method in r.methods]
        if not allowed:
            methods = sorted({m for r, _ in matches for m in (r.methods or ())})
            return web.Response(status=405, headers={"Allow": ", ".join(methods)})
        route, values = allowed[0]
        key = request.headers.get("x-functions-key") or request.query.get("code")
        if not self.keys.allows(route.auth_level, key):
            return web.Response(status=401)

        headers = _joined(request.headers.items(), ", ")
        if self.easy_auth is not None:
            signed_in = self.easy_auth.principal_headers(headers)
            if signed_in is None and route.auth_level != "anonymous":
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
            headers = signed_in if signed_in is not None else self.easy_auth.stripped(headers)
        body = await request.read()
        worker_request = WorkerHttpRequest(
            method=request.method,
            url=str(request.url),
            headers=headers,
            params=_joined(request.query.items(), ","),
            route_params=values,
            body_type="bytes",
            body=body,
        )
        outcome = await self._invoke(
            route.function, worker_request, f"trigger=http {request.method} {request.path}"
        )
        if not outcome.succeeded:
            return web.Response(status=500)
        try:
            return _response(outcome.outputs.get(route.output_name))
        except Exception:
            log.exception("Function '%s' returned an unusable HTTP response", route.function.name)
            return web.Response(status=500)


def describe_routes(routes: Iterable[HttpRoute], base_url: str) -> list[str]:
    lines = []
    for route in routes:
        methods = ",".join(sorted(route.methods)) if route.methods else "*"
        lines.append(f"{route.function.name}: [{methods}] {base_url}/{route.template.template.strip('/')}")
    return lines
