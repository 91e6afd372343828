"""Health: anonymous, so a load balancer or a person can check it without a key."""

from __future__ import annotations

import json

import azure.functions as func

from backup.entrypoints import deferred

blueprint = func.Blueprint()


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        report = await deferred.health_check()
    except Exception as error:  # settings missing or unreadable: say so rather than fail
        report = deferred.health_report([f"the app is not configured: {type(error).__name__}: {error}"[:300]])
    return func.HttpResponse(
        json.dumps(report.to_json()), status_code=200 if report.healthy else 503, mimetype="application/json"
    )
