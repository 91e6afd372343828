"""``/_admin``: the test and demo control surface, JSON in and out, no authentication.

Routes (all under the emulator's base URL):

========  ==============================  ==========================================================
POST      /_admin/reset                   body: seed document; replaces all state, resets counters,
                                          faults, clock offset, buckets and config (to the start-up
                                          config plus the seed's optional ``config``)
GET       /_admin/state                   full dump (the ``--state`` file format)
POST      /_admin/save                    write the dump to the state file, or to ``{"path"}``
GET/PUT   /_admin/content{armId}          ``{"content": str}``; PUT only for disks ("a write")
GET/PUT   /_admin/faults                  ``{"seed", "latencyMs", "lroDurationSeconds", "rules": [...]}``
DELETE    /_admin/faults                  clear faults
GET       /_admin/counters                ``{"total", "byMethod", "byCategory", "byOperation", "byStatus",
                                          "faults", "throttled", "throttledByCategory",
                                          "throttledByScope", "byPrincipal": {id: {...}},
                                          "byToken": {token: {...}}}``
POST      /_admin/counters/reset
GET/PUT   /_admin/clock                   PUT ``{"offsetSeconds": float}`` or ``{"advanceSeconds": float}``
GET/PUT   /_admin/config                  PUT merges a partial config (see config.py)
GET/POST  /_admin/roleAssignments         POST ``{"principalId", "role", "scope"}`` grants
DELETE    /_admin/roleAssignments         same body; revokes
GET/POST  /_admin/principals              POST ``{"id", "tenantId"?, "appId"?, "token"?}``; answers
                                          the principal with its ``accessToken`` (a JWT)
GET       /_admin/principals/{id}         ``{"id", "tenantId", "appId", "accessToken"}``
GET       /_admin                         ``{"url", "ca_bundle", "admin_url"}``
========  ==============================  ==========================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ArmError
from .faults import Faults
from .tokens import Principal, access_token

if TYPE_CHECKING:
    from .server import Emulator


def _ok(body: Any = None, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"ok": True} if body is None else body).encode(),
        content_type="application/json",
    )


def _bad(message: str, status: int = 400) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"error": {"code": "BadAdminRequest", "message": message}}).encode(),
        content_type="application/json",
    )


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    return json.loads(raw)


def add_admin_routes(app: web.Application, emu: Emulator) -> None:
    state = emu.state

    def guarded(handler: Any) -> Any:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                response: web.StreamResponse = await handler(request)
                return response
            except ArmError as err:
                return web.Response(
                    status=err.status, body=json.dumps(err.body()).encode(), content_type="application/json"
                )
            except (ValueError, KeyError, TypeError) as err:
                return _bad(f"{type(err).__name__}: {err}")

        return wrapper

    async def info(request: web.Request) -> web.Response:
        ca = str(emu.tls.ca_bundle) if emu.tls else None
        return _ok({"url": emu.public_url, "ca_bundle": ca, "admin_url": emu.public_url + "/_admin"})

    async def reset(request: web.Request) -> web.Response:
        emu.reset(await _body(request) or None)
        return _ok()

    async def dump(request: web.Request) -> web.Response:
        state.tick()
        return _ok(state.dump())

    async def save(request: web.Request) -> web.Response:
        body = await _body(request)
        path = emu.save(Path(body["path"]) if body.get("path") else None)
        return _ok({"path": str(path)})

    async def get_content(request: web.Request) -> web.Response:
        state.tick()
        return _ok({"content": state.read_content(request.match_info["arm_id"])})

    async def put_content(request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body.get("content"), str):
            return _bad('body must be {"content": "<string>"}')
        state.tick()
        state.write_content(request.match_info["arm_id"], body["content"])
        return _ok()

    async def get_faults(request: web.Request) -> web.Response:
        return _ok(emu.faults.to_dict())

    async def put_faults(request: web.Request) -> web.Response:
        emu.faults = Faults.from_dict(await _body(request))
        return _ok(emu.faults.to_dict())

    async def clear_faults(request: web.Request) -> web.Response:
        emu.faults = Faults()
        return _ok()

    async def counters(request: web.Request) -> web.Response:
        return _ok(emu.counters.to_dict())

    async def reset_counters(request: web.Request) -> web.Response:
        from .server import RequestCounters

        emu.counters = RequestCounters()
        return _ok()

    def clock_view() -> dict[str, Any]:
        return {"now": state.clock.now().isoformat(), "offsetSeconds": state.clock.offset_seconds}

    async def get_clock(request: web.Request) -> web.Response:
        return _ok(clock_view())

    async def put_clock(request: web.Request) -> web.Response:
        body = await _body(request)
        if "offsetSeconds" in body:
            state.clock.offset_seconds = float(body["offsetSeconds"])
        if "advanceSeconds" in body:
            state.clock.offset_seconds += float(body["advanceSeconds"])
        state.tick()
        return _ok(clock_view())

    async def get_config(request: web.Request) -> web.Response:
        return _ok(emu.config.to_dict())

    async def put_config(request: web.Request) -> web.Response:
        emu.configure(await _body(request))
        return _ok(emu.config.to_dict())

    async def list_assignments(request: web.Request) -> web.Response:
        return _ok({"value": [a.to_dict() for a in state.authorizer.assignments]})

    async def grant(request: web.Request) -> web.Response:
        body = await _body(request)
        assignment = state.authorizer.grant(body["principalId"], body["role"], body["scope"])
        return _ok(assignment.to_dict(), 201)

    async def revoke(request: web.Request) -> web.Response:
        body = await _body(request)
        if not state.authorizer.revoke(body["principalId"], body["role"], body["scope"]):
            return _bad("no such role assignment", 404)
        return _ok()

    async def list_principals(request: web.Request) -> web.Response:
        return _ok({"value": state.principal_docs()})

    async def add_principal(request: web.Request) -> web.Response:
        body = await _body(request)
        principal = Principal.from_doc(body)
        issued = state.add_principal(principal, body.get("token"))
        return _ok({**principal.to_dict(), "accessToken": issued}, 201)

    async def get_principal(request: web.Request) -> web.Response:
        principal = state.principals.get(request.match_info["principal_id"].lower())
        if principal is None:
            return _bad(f"no principal {request.match_info['principal_id']}", 404)
        return _ok({**principal.to_dict(), "accessToken": access_token(principal)})

    async def unknown(request: web.Request) -> web.Response:
        return _bad(f"no admin route {request.method} {request.path}", 404)

    routes = [
        ("GET", "", info),
        ("POST", "/reset", reset),
        ("GET", "/state", dump),
        ("POST", "/save", save),
        ("GET", "/content{arm_id:/.+}", get_content),
        ("PUT", "/content{arm_id:/.+}", put_content),
        ("GET", "/faults", get_faults),
        ("PUT", "/faults", put_faults),
        ("DELETE", "/faults", clear_faults),
        ("GET", "/counters", counters),
        ("POST", "/counters/reset", reset_counters),
        ("GET", "/clock", get_clock),
        ("PUT", "/clock", put_clock),
        ("GET", "/config", get_config),
        ("PUT", "/config", put_config),
        ("GET", "/roleAssignments", list_assignments),
        ("POST", "/roleAssignments", grant),
        ("DELETE", "/roleAssignments", revoke),
        ("GET", "/principals", list_principals),
        ("POST", "/principals", add_principal),
        ("GET", "/principals/{principal_id}", get_principal),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, "/_admin" + path, guarded(handler))
    app.router.add_route("*", "/_admin/{tail:.*}", unknown)
