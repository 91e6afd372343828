"""The ARM-compatible HTTP API: one function for every ``subscriptions/...`` path.

The route is a catch-all (with ``providers/{*providerPath}`` for the provider's own
``operations`` list, and ``x/subscriptions/{*productPath}`` for the product-only calls Azure does
not have, e.g. the overview's counts); :mod:`backup.api.router` does the ARM
routing, validation and error mapping, so this trigger only adapts the Functions request and
response. The router and its endpoints are imported on the first request (:mod:`backup.entrypoints.deferred`).
"""

from __future__ import annotations

import azure.functions as func

from backup.api.auth import API_AUTH_LEVEL
from backup.api.http import ApiRequest
from backup.entrypoints import deferred

blueprint = func.Blueprint()


@blueprint.route(
    route="subscriptions/{*armPath}",
    methods=["GET", "PUT", "POST", "PATCH", "DELETE"],
    auth_level=API_AUTH_LEVEL,
)
async def arm_api(req: func.HttpRequest) -> func.HttpResponse:
    response = await deferred.router().handle(ApiRequest.from_functions(req), deferred.get_context())
    return response.to_functions()


@blueprint.route(
    route="providers/{*providerPath}",
    methods=["GET", "POST"],
    auth_level=API_AUTH_LEVEL,
)
async def provider_api(req: func.HttpRequest) -> func.HttpResponse:
    """The provider's tenant-level calls (``GET /providers/Microsoft.DataProtection/operations``)."""
    response = await deferred.router().handle(ApiRequest.from_functions(req), deferred.get_context())
    return response.to_functions()


@blueprint.route(
    route="x/subscriptions/{*productPath}",
    methods=["GET", "PUT", "POST", "PATCH", "DELETE"],
    auth_level=API_AUTH_LEVEL,
)
async def product_api(req: func.HttpRequest) -> func.HttpResponse:
    response = await deferred.router().handle(ApiRequest.from_functions(req), deferred.get_context())
    return response.to_functions()
