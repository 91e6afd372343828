"""Health: anonymous, so a load balancer or a person can check it without a key.

``GET /api/health`` says only whether the app can work (200 ``ok`` or 503 ``unavailable``):
the reasons name internal endpoints and errors, which an anonymous caller has no business
reading. ``GET /api/x/health`` gives the same answer with its reasons, to a caller the API
itself would admit (a function key and, with sign-in, any of the app roles).
"""

from __future__ import annotations

import json

import azure.functions as func

from backup.api.auth import API_AUTH_LEVEL, Role, auth_enabled_from_env, caller_from_headers
from backup.api.http import SECURITY_HEADERS
from backup.entrypoints import deferred
from backup.errors import BackupError

blueprint = func.Blueprint()


async def _report() -> tuple[int, dict[str, object]]:
    try:
        report = await deferred.health_check()
    except Exception as error:  # settings missing or unreadable: say so rather than fail
        report = deferred.health_report([f"the app is not configured: {type(error).__name__}: {error}"[:300]])
    return (200 if report.healthy else 503), report.to_json()


def _answer(status: int, body: dict[str, object]) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/json",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    status, body = await _report()
    return _answer(status, {"status": body["status"]})


@blueprint.function_name("health-details")
@blueprint.route(route="x/health", methods=["GET"], auth_level=API_AUTH_LEVEL)
async def health_details(req: func.HttpRequest) -> func.HttpResponse:
    try:
        # From the setting, not the runtime: the details matter most when the runtime cannot start.
        caller = caller_from_headers(dict(req.headers), auth_enabled=auth_enabled_from_env())
        caller.require(Role.READER, "reading the app's health details")
    except BackupError as error:
        return deferred.error_response(error).to_functions()
    return _answer(*await _report())
