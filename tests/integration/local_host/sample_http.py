"""HTTP triggers of the sample app: routes, auth levels, sync/async, failures, queue output."""

from __future__ import annotations

import json
import os

import azure.functions as func

blueprint = func.Blueprint()


@blueprint.route(route="items/{id:int}/{*rest}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    payload = {
        "method": req.method,
        "url": req.url,
        "route_params": dict(req.route_params),
        "params": dict(req.params),
        "header": req.headers.get("X-Sample"),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(
        json.dumps(payload), status_code=201, headers={"X-Echo": "yes"}, mimetype="application/json"
    )


@blueprint.route(route="items/latest", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def latest_item(req: func.HttpRequest) -> str:
    return "latest"


# No auth_level: the app's default (FUNCTION) applies. Sync, so it runs in a worker thread.
@blueprint.route(route="hello/{name:alpha}", methods=["GET"])
def hello(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(f"Hello {req.route_params['name']} from {context.function_name}")


@blueprint.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin")


@blueprint.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internal detail")


@blueprint.route(route="settings/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def setting(req: func.HttpRequest) -> func.HttpResponse:
    value = os.environ.get(req.route_params["name"])
    return func.HttpResponse(json.dumps(value), mimetype="application/json")


@blueprint.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@blueprint.queue_output(arg_name="messages", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
async def enqueue(req: func.HttpRequest, messages: func.Out[list[str]]) -> func.HttpResponse:
    lines = req.get_body().decode().splitlines()
    messages.set(lines)
    return func.HttpResponse(status_code=202)
