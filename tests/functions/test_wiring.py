"""function_app.py as the Python worker indexes it: names, triggers, routes and auth levels."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from tests.functions.conftest import IndexedFunction

pytestmark = pytest.mark.functions


def test_health_is_an_anonymous_get_route(indexed_functions: dict[str, IndexedFunction]) -> None:
    health = indexed_functions["health"]
    trigger = health.binding("httpTrigger")
    assert trigger["route"] == "health"
    assert trigger["methods"] == ["GET"]
    assert trigger["authLevel"].lower() == func.AuthLevel.ANONYMOUS.value
    assert health.binding("http")["direction"] == "OUT"


def test_health_answers_ok(indexed_functions: dict[str, IndexedFunction]) -> None:
    response = indexed_functions["health"](func.HttpRequest("GET", "/api/health", body=b""))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok"}
