"""The API's OpenAPI document at ``GET /api/openapi.json``: anonymous, like ``/api/health``.

The document is generated in-process from the router (:func:`backup.api.openapi.document_text`)
on the first request and kept for the life of the worker, rather than read from a file:
the deployed package leaves out ``docs/`` (``.funcignore``), and what is served then always
describes the routes this build serves. The import happens inside the function so that
indexing the app does not build it. ``docs/openapi.json`` in the repository is the same text.
"""

from __future__ import annotations

import azure.functions as func

blueprint = func.Blueprint()


@blueprint.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    from backup.api.http import SECURITY_HEADERS
    from backup.api.openapi import document_text

    return func.HttpResponse(
        document_text(),
        status_code=200,
        mimetype="application/json",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )
