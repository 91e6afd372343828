"""The ARM-compatible HTTP API: one function for every ``subscriptions/...`` path.

The route is a catch-all; :mod:`backup.api.router` does the ARM routing, validation and
error mapping, so this trigger only adapts the Functions request and response.
"""

from __future__ import annotations

import azure.functions as func

from backup.api.app import build_router
from backup.api.dependencies import get_context
from backup.api.http import ApiRequest

blueprint = func.Blueprint()


@blueprint.route(
    route="subscriptions/{*armPath}",
    methods=["GET", "PUT", "POST", "PATCH", "DELETE"],
    auth_level=func.AuthLevel.FUNCTION,
)
async def arm_api(req: func.HttpRequest) -> func.HttpResponse:
    response = await build_router().handle(ApiRequest.from_functions(req), get_context())
    return response.to_functions()
