"""The ARM-compatible HTTP API: one function for every ``subscriptions/...`` path.

The route is a catch-all; :mod:`backup.api.router` does the ARM routing, validation and
error mapping, so this trigger only adapts the Functions request and response.
"""

from __future__ import annotations

from functools import cache

import azure.functions as func

from backup.api.app import build_router
from backup.api.auth import api_auth_level
from backup.api.http import ApiRequest
from backup.api.router import Router
from backup.bootstrap import runtime

blueprint = func.Blueprint()


@cache
def _router() -> Router:
    return build_router()


@blueprint.route(
    route="subscriptions/{*armPath}",
    methods=["GET", "PUT", "POST", "PATCH", "DELETE"],
    auth_level=api_auth_level(),
)
async def arm_api(req: func.HttpRequest) -> func.HttpResponse:
    response = await _router().handle(ApiRequest.from_functions(req), runtime().api)
    return response.to_functions()
