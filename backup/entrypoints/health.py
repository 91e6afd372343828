"""Liveness of the app: anonymous, so a load balancer or a person can check it without a key."""

from __future__ import annotations

import json

import azure.functions as func

blueprint = func.Blueprint()


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"status": "ok"}), status_code=200, mimetype="application/json")
