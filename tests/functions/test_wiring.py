"""function_app.py as the Python worker indexes it: names, triggers, routes and auth levels."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import azure.functions as func
import pytest

from backup import names
from backup.domain.limits import MAX_DEQUEUE_COUNT
from tests.functions.conftest import IndexedFunction
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.functions


def test_health_is_an_anonymous_get_route(indexed_functions: dict[str, IndexedFunction]) -> None:
    health = indexed_functions["health"]
    trigger = health.binding("httpTrigger")
    assert trigger["route"] == "health"
    assert trigger["methods"] == ["GET"]
    assert trigger["authLevel"].lower() == func.AuthLevel.ANONYMOUS.value
    assert health.binding("http")["direction"] == "OUT"


def test_health_says_what_is_missing_when_the_app_is_not_configured(
    indexed_functions: dict[str, IndexedFunction], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from backup import bootstrap

    for name in ("AzureWebJobsStorage", "AzureWebJobsStorage__tableServiceUri"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(bootstrap, "_runtime", None)
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    # Anonymous: whether, not why (the reasons name internal endpoints).
    response = asyncio.run(indexed_functions["health"](func.HttpRequest("GET", "/api/health", body=b"")))
    assert response.status_code == 503
    assert json.loads(response.get_body()) == {"status": "unavailable"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Behind the function key (the host checks it): why.
    details = indexed_functions["health-details"]
    assert details.binding("httpTrigger")["authLevel"].lower() == "function"
    response = asyncio.run(details(func.HttpRequest("GET", "/api/x/health", body=b"")))
    assert response.status_code == 503
    body = json.loads(response.get_body())
    assert body["status"] == "unavailable"
    assert any("storage" in reason for reason in body["reasons"])


def test_health_details_need_an_app_role_with_sign_in(
    indexed_functions: dict[str, IndexedFunction], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "true")
    details = indexed_functions["health-details"]
    response = asyncio.run(details(func.HttpRequest("GET", "/api/x/health", body=b"")))
    assert response.status_code == 401
    assert "reasons" not in json.loads(response.get_body())


def test_engine_timers_read_their_schedules_from_app_settings(
    indexed_functions: dict[str, IndexedFunction],
) -> None:
    plan = indexed_functions["plan-backups"].binding("timerTrigger")
    retention = indexed_functions["apply-retention"].binding("timerTrigger")
    assert plan["schedule"] == "%PLAN_BACKUPS_SCHEDULE%"
    assert retention["schedule"] == "%APPLY_RETENTION_SCHEDULE%"
    overview = indexed_functions["count-overview"].binding("timerTrigger")
    assert overview["schedule"] == "%COUNT_OVERVIEW_SCHEDULE%"
    # A missed tick must still run after a restart so no slot waits a whole extra interval.
    assert plan["useMonitor"] is True


def test_backup_queue_triggers_and_their_poison_twin(indexed_functions: dict[str, IndexedFunction]) -> None:
    worker = indexed_functions["run-backup"].binding("queueTrigger")
    poison = indexed_functions["record-poisoned-backup"].binding("queueTrigger")
    assert worker["queueName"] == names.BACKUP_QUEUE
    assert poison["queueName"] == names.BACKUP_QUEUE + names.POISON_SUFFIX
    assert worker["connection"] == poison["connection"] == "AzureWebJobsStorage"


def test_worker_knows_the_hosts_max_dequeue_count() -> None:
    host = json.loads((REPO_ROOT / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_DEQUEUE_COUNT


def test_importing_the_app_builds_no_clients() -> None:
    # In a fresh interpreter: other tests in this process build runtimes on purpose.
    probe = (
        "import function_app, backup.bootstrap as b;"
        "assert b._runtime is None;"
        "function_app.app.get_functions()"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, check=True)


@pytest.mark.parametrize("auth_enabled", ["", "true", "True"])
def test_the_api_needs_a_key_whatever_the_sign_in_setting_says(auth_enabled: str) -> None:
    # Fail closed: WEBSITE_AUTH_ENABLED set by hand, without Easy Auth in front, must not open
    # the API. Indexed in a fresh interpreter: the auth level is fixed when the worker indexes the app.
    probe = "\n".join(
        (
            "import json, function_app",
            "levels = {}",
            "for fn in function_app.app.get_functions():",
            "    for binding in json.loads(fn.get_function_json())['bindings']:",
            "        if binding['type'] == 'httpTrigger':",
            "            levels[fn.get_function_name()] = binding['authLevel']",
            "print(json.dumps(levels))",
        )
    )
    env = {**os.environ, "WEBSITE_AUTH_ENABLED": auth_enabled}
    levels = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert levels["arm_api"].lower() == "function"
    assert levels["provider_api"].lower() == "function"
    assert levels["product_api"].lower() == "function"
    assert levels["backup-center-whoami"].lower() == "function"
    assert levels["health"].lower() == "anonymous"
