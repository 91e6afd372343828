"""Start the local Functions host on the sample app, against the session's Azurite."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from localdev.azurite import AzuriteEndpoints
from localdev.functions_host import FunctionsHost
from tests.integration.local_host.recorder import events

SAMPLE_APP = "tests.integration.local_host.sample_app"

HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "queues": {
            "batchSize": 4,
            "maxDequeueCount": 3,
            "visibilityTimeout": "00:00:00",
            "maxPollingInterval": "00:00:00.5",
        },
    },
}


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "host.json").write_text(json.dumps(HOST_JSON))
    local_settings = {
        "IsEncrypted": False,
        "Values": {"FROM_LOCAL_SETTINGS": "from-file", "ALSO_IN_ENVIRONMENT": "from-file"},
    }
    (tmp_path / "local.settings.json").write_text(json.dumps(local_settings))
    return tmp_path


@pytest.fixture
def queues() -> dict[str, str]:
    run = uuid.uuid4().hex[:10]
    return {"OK_QUEUE": f"ok-{run}", "FAIL_QUEUE": f"fail-{run}", "OUT_QUEUE": f"out-{run}"}


StartHost = Callable[..., Awaitable[FunctionsHost]]


@pytest.fixture
async def start_host(
    azurite: AzuriteEndpoints, project_dir: Path, queues: dict[str, str]
) -> AsyncIterator[StartHost]:
    hosts: list[FunctionsHost] = []
    events.clear()

    async def start(**kwargs: Any) -> FunctionsHost:
        settings = {
            "AzureWebJobsStorage": azurite.connection_string,
            "EVERY_SECOND": "* * * * * *",
            **queues,
            **kwargs.pop("settings", {}),
        }
        host = FunctionsHost(SAMPLE_APP, project_dir, settings=settings, **kwargs)
        hosts.append(host)
        await host.start()
        return host

    yield start
    for host in hosts:
        await host.stop()
