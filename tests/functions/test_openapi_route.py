"""``GET /api/openapi.json`` as the worker indexes it: anonymous, and the committed document."""

from __future__ import annotations

import json
import subprocess
import sys

import azure.functions as func
import pytest

from tests.functions.conftest import IndexedFunction
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.functions


def test_openapi_is_an_anonymous_get_route(indexed_functions: dict[str, IndexedFunction]) -> None:
    trigger = indexed_functions["openapi_document"].binding("httpTrigger")
    assert trigger["route"] == "openapi.json"
    assert trigger["methods"] == ["GET"]
    assert trigger["authLevel"].lower() == func.AuthLevel.ANONYMOUS.value


def test_openapi_answers_the_committed_document_without_a_key(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    response = indexed_functions["openapi_document"](func.HttpRequest("GET", "/api/openapi.json", body=b""))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_body().decode("utf-8") == (REPO_ROOT / "docs" / "openapi.json").read_text("utf-8")
    assert json.loads(response.get_body())["openapi"] == "3.0.3"


def test_indexing_the_app_does_not_build_the_document() -> None:
    # In a fresh interpreter: the document is built on the first request, not at import or indexing.
    probe = (
        "import sys, function_app; function_app.app.get_functions();"
        "assert 'backup.api.openapi' not in sys.modules, 'built at import'"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, check=True)
