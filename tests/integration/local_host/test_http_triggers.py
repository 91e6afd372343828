"""HTTP triggers through the local host: routing, methods, auth levels, responses, failures."""

from __future__ import annotations

import json
import logging
import os

import aiohttp
import pytest

from tests.integration.local_host.conftest import StartHost

pytestmark = pytest.mark.integration


async def test_route_params_query_headers_and_body_reach_the_function(start_host: StartHost) -> None:
    host = await start_host()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{host.api_base_url}/items/42/a/b%20c?x=1&x=2&y=z",
            data=b"payload",
            headers={"X-Sample": "hi"},
        ) as response,
    ):
        assert response.status == 201
        assert response.headers["X-Echo"] == "yes"
        assert response.headers["Content-Type"] == "application/json"
        echoed = await response.json()
    assert echoed["method"] == "POST"
    assert echoed["route_params"] == {"id": "42", "rest": "a/b c"}
    assert echoed["params"] == {"x": "1,2", "y": "z"}
    assert echoed["header"] == "hi"
    assert echoed["body"] == "payload"
    assert echoed["url"].startswith(f"{host.api_base_url}/items/42/")


async def test_literal_routes_win_constraints_apply_and_methods_filter(start_host: StartHost) -> None:
    host = await start_host()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{host.api_base_url}/items/latest") as response:
            assert response.status == 200
            assert await response.text() == "latest"
            assert response.headers["Content-Type"].startswith("text/plain")
        # {id:int} does not take "abc" and nothing else matches.
        async with session.get(f"{host.api_base_url}/items/abc/x") as response:
            assert response.status == 404
        async with session.get(f"{host.api_base_url}/no/such/route") as response:
            assert response.status == 404
        async with session.get(f"{host.url}/health") as response:  # outside the route prefix
            assert response.status == 404
        async with session.delete(f"{host.api_base_url}/items/1/x") as response:
            assert response.status == 405
            assert response.headers["Allow"] == "GET, POST"


async def test_keys_are_not_enforced_by_default(start_host: StartHost) -> None:
    host = await start_host()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{host.api_base_url}/hello/World") as response:
            assert response.status == 200
            # A sync function with a context argument, run in a worker thread.
            assert await response.text() == "Hello World from hello"
        async with session.get(f"{host.api_base_url}/admin-only") as response:
            assert response.status == 200


async def test_auth_levels_when_keys_are_configured(start_host: StartHost) -> None:
    host = await start_host(host_keys=["host-key"], master_key="master-key")
    hello = f"{host.api_base_url}/hello/World"
    admin = f"{host.api_base_url}/admin-only"
    async with aiohttp.ClientSession() as session:

        async def status(url: str, **kwargs: object) -> int:
            async with session.get(url, **kwargs) as response:  # type: ignore[arg-type]
                return response.status

        assert await status(f"{host.api_base_url}/items/latest") == 200  # anonymous
        assert await status(hello) == 401
        assert await status(hello, headers={"x-functions-key": "wrong"}) == 401
        assert await status(hello, headers={"x-functions-key": "host-key"}) == 200
        assert await status(hello, params={"code": "host-key"}) == 200
        assert await status(hello, params={"code": "master-key"}) == 200
        assert await status(admin, headers={"x-functions-key": "host-key"}) == 401
        assert await status(admin, headers={"x-functions-key": "master-key"}) == 200


async def test_an_unhandled_exception_is_a_500_without_details(
    start_host: StartHost, caplog: pytest.LogCaptureFixture
) -> None:
    host = await start_host()
    with caplog.at_level(logging.INFO, logger="localdev.functions_host"):
        async with aiohttp.ClientSession() as session, session.get(f"{host.api_base_url}/boom") as response:
            assert response.status == 500
            body = await response.text()
    assert "secret" not in body
    assert "Traceback" not in body
    failures = [r for r in caplog.records if "Executed 'boom' (Failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None


async def test_local_settings_fill_in_but_do_not_override_the_environment(
    start_host: StartHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALSO_IN_ENVIRONMENT", "from-environment")
    host = await start_host(settings={"EXPLICIT": "from-host-settings"})
    async with aiohttp.ClientSession() as session:

        async def setting(name: str) -> object:
            async with session.get(f"{host.api_base_url}/settings/{name}") as response:
                return json.loads(await response.text())

        assert await setting("FROM_LOCAL_SETTINGS") == "from-file"
        assert await setting("ALSO_IN_ENVIRONMENT") == "from-environment"
        assert await setting("EXPLICIT") == "from-host-settings"
    await host.stop()
    assert "FROM_LOCAL_SETTINGS" not in os.environ
    assert "EXPLICIT" not in os.environ
    assert os.environ["ALSO_IN_ENVIRONMENT"] == "from-environment"
