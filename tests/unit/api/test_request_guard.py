"""Writes a foreign page could send are refused before a handler runs; clients' own writes pass."""

from __future__ import annotations

import pytest

from tests.unit.api.test_router import VAULT_PATH, call

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://backup.example.net"},
        {"Origin": "https://BACKUP.example.net:443", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        # TLS ends in front of the worker: the URL it sees may differ from what the browser saw.
        {"Origin": "https://app.contoso.com", "X-Forwarded-Host": "app.contoso.com"},
    ],
)
async def test_json_from_the_apps_own_origin_or_outside_a_browser_passes(headers: dict[str, str]) -> None:
    status, answer, _ = await call(
        "PUT", VAULT_PATH, body='{"location": "westus"}', headers={**JSON, **headers}
    )
    assert status == 200, answer
    assert answer["echo"] == {"location": "westus"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://backup.example.net.evil.example"},
        {"Origin": "https://backup.example.net:8443"},
        {"Origin": "null"},
        {"Origin": ""},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://backup.example.net", "Sec-Fetch-Site": "Cross-Site"},
    ],
)
async def test_a_write_from_another_site_is_a_403(headers: dict[str, str]) -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body="{}", headers={**JSON, **headers})
    assert (status, answer["error"]["code"]) == (403, "CrossSiteRequestRefused")
    # A body-less DELETE too: the route's own 409 would mean the handler ran.
    status, answer, _ = await call("DELETE", VAULT_PATH, headers=headers)
    assert (status, answer["error"]["code"]) == (403, "CrossSiteRequestRefused")


async def test_reads_are_not_guarded() -> None:
    status, _, _ = await call("GET", VAULT_PATH, headers={"Origin": "https://evil.example"})
    assert status == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
    ],
)
async def test_a_body_not_declared_json_is_a_415_as_arm_answers(content_type: str) -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body="{}", headers={"Content-Type": content_type})
    assert (status, answer["error"]["code"]) == (415, "UnsupportedMediaType")
    assert "Only 'application/json' is supported." in answer["error"]["message"]


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
async def test_json_with_any_parameters_passes(content_type: str) -> None:
    status, _, _ = await call("PUT", VAULT_PATH, body="{}", headers={"Content-Type": content_type})
    assert status == 200
