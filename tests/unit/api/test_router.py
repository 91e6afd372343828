"""The router without storage: matching, parameters, api-version, bodies, errors, tracking headers."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from backup.api.dependencies import ApiContext, ApiServices
from backup.api.http import ApiRequest, ApiResponse, json_response
from backup.api.router import RequestContext, Router, RouteTable
from backup.api.versions import STABLE_API_VERSIONS
from backup.config import Settings
from backup.domain.clock import SystemClock
from backup.domain.limits import MAX_REQUEST_BODY_BYTES
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from backup.ports import CallerRights, VaultStore
from tests.fakes.role_assignments import FakeRoleAssignments

SUB = "00000000-0000-0000-0000-0000000000aa"
VAULT_PATH = (
    f"/subscriptions/{SUB}/resourceGroups/rg-1/providers/Microsoft.DataProtection/backupVaults/vault-1"
)
BASE = "https://backup.example.net/api"

routes = RouteTable()
seen: list[RequestContext] = []


@routes.get(
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.DataProtection/backupVaults/{vaultName}"
)
async def get_vault(ctx: RequestContext) -> ApiResponse:
    seen.append(ctx)
    return json_response(200, {"params": dict(ctx.params), "caller": ctx.caller.principal_name})


@routes.put(
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.DataProtection/backupVaults/{vaultName}"
)
async def put_vault(ctx: RequestContext) -> ApiResponse:
    return json_response(200, {"echo": ctx.json_object(), "url": ctx.url("/subscriptions/x")})


@routes.delete(
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.DataProtection/backupVaults/{vaultName}"
)
async def delete_vault(ctx: RequestContext) -> ApiResponse:
    raise ConflictError("vault has instances", code="UserErrorVaultHasBackupInstances", target="vaultName")


@routes.get("/subscriptions/{subscriptionId}/providers/Microsoft.DataProtection/backupJobs/{jobId}")
async def broken(ctx: RequestContext) -> ApiResponse:
    raise RuntimeError("secret internal detail")


ROUTER = Router([routes])


def context(*, auth_enabled: bool = False) -> ApiContext:
    return ApiContext(
        settings=Settings(),
        store=cast(VaultStore, None),
        clock=SystemClock(),
        services=cast(ApiServices, None),
        role_assignments=FakeRoleAssignments(),
        caller_rights=cast(CallerRights, None),
        auth_enabled=auth_enabled,
    )


async def call(
    method: str,
    path: str,
    *,
    api_version: str | None = "2026-06-01",
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    auth_enabled: bool = False,
) -> tuple[int, Any, dict[str, str]]:
    url = BASE + path + (f"?api-version={api_version}" if api_version is not None else "")
    response = await ROUTER.handle(
        ApiRequest.build(method, url, headers=headers, body=body), context(auth_enabled=auth_enabled)
    )
    text = response.json_text()
    return response.status, json.loads(text) if text else None, response.headers


async def test_literal_segments_match_case_insensitively_and_params_keep_their_spelling() -> None:
    path = VAULT_PATH.replace("resourceGroups", "RESOURCEGROUPS").replace(
        "Microsoft.DataProtection", "microsoft.dataprotection"
    )
    status, body, _ = await call("GET", path.replace("vault-1", "Vault-One"))
    assert status == 200
    assert body["params"] == {"subscriptionId": SUB, "resourceGroupName": "rg-1", "vaultName": "Vault-One"}
    assert body["caller"] == "function-key"


@pytest.mark.parametrize(
    ("path", "code", "target"),
    [
        (VAULT_PATH.replace(SUB, "not-a-guid"), "InvalidSubscriptionId", "subscriptionId"),
        (VAULT_PATH.replace("rg-1", "rg%2Fevil"), "InvalidResourceGroupName", "resourceGroupName"),
        (VAULT_PATH.replace("vault-1", "-vault"), "InvalidResourceName", "vaultName"),
        (VAULT_PATH.replace("vault-1", "v" * 151), "InvalidResourceName", "vaultName"),
        (VAULT_PATH.replace("vault-1", "vault%7Cx"), "InvalidResourceName", "vaultName"),
    ],
)
async def test_path_parameters_are_validated_strictly(path: str, code: str, target: str) -> None:
    status, body, _ = await call("GET", path)
    assert status == 400
    assert body["error"]["code"] == code
    assert body["error"]["target"] == target


async def test_api_version_is_required() -> None:
    status, body, _ = await call("GET", VAULT_PATH, api_version=None)
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")


async def test_an_unsupported_api_version_names_the_supported_ones() -> None:
    status, body, _ = await call("GET", VAULT_PATH, api_version="2024-02-01-preview")
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert "2021-01-01" in body["error"]["message"]
    assert "2026-06-01" in body["error"]["message"]


def test_the_supported_versions_are_the_stable_dataprotection_versions() -> None:
    required = {
        "2021-01-01", "2021-07-01", "2022-03-01", "2022-05-01", "2022-12-01", "2023-01-01", "2023-05-01",
        "2023-11-01", "2024-04-01", "2025-01-01", "2025-07-01", "2026-06-01",
    }  # fmt: skip
    assert required <= set(STABLE_API_VERSIONS)
    assert list(STABLE_API_VERSIONS) == sorted(STABLE_API_VERSIONS)
    assert not any("preview" in version for version in STABLE_API_VERSIONS)


@pytest.mark.parametrize("version", STABLE_API_VERSIONS)
async def test_every_stable_version_is_accepted(version: str) -> None:
    status, _, _ = await call("GET", VAULT_PATH, api_version=version)
    assert status == 200


async def test_unknown_route_is_a_404_arm_error() -> None:
    status, body, _ = await call("GET", VAULT_PATH + "/backupWidgets")
    assert status == 404
    assert body["error"]["code"] == "InvalidResourceType"
    assert "backupWidgets" in body["error"]["message"]


async def test_wrong_method_is_a_405_with_allow() -> None:
    status, body, headers = await call("POST", VAULT_PATH, body="{}")
    assert status == 405
    assert body["error"]["code"] == "MethodNotAllowed"
    assert headers["Allow"] == "DELETE, GET, PUT"


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"{'location': 1}", b"\xff\xfe{}", b"[1, 2", b'{"a": NaN}', b"[" * 100_000 + b"]" * 100_000],
)
async def test_malformed_json_is_a_400_invalid_request_content(body: bytes) -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body=body)
    assert status == 400
    assert answer["error"]["code"] == "InvalidRequestContent"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"location": "westus", "location": "eastus"}', "location"),
        ('{"properties": {"a": 1, "b": {"c": 1, "c": 2}}}', "c"),
        ('{"location": "westus", "Location": "eastus"}', "Location"),
        ('[{"x": 1, "x": 1}]', "x"),
    ],
)
async def test_a_property_given_twice_is_a_400_naming_it(body: str, key: str) -> None:
    # Two parsers reading one body differently (first value or last) is a classic bypass.
    status, answer, _ = await call("PUT", VAULT_PATH, body=body)
    assert (status, answer["error"]["code"]) == (400, "InvalidRequestContent")
    assert answer["error"]["target"] == key
    assert f"'{key}' appears more than once" in answer["error"]["message"]


async def test_a_json_body_that_is_not_an_object_is_refused() -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body="[1]")
    assert (status, answer["error"]["code"]) == (400, "InvalidRequestContent")


async def test_unknown_json_fields_are_kept_for_the_handler_to_ignore() -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body='{"location": "westus", "futureField": {"x": 1}}')
    assert status == 200
    assert answer["echo"]["futureField"] == {"x": 1}


async def test_oversize_bodies_are_refused_with_413() -> None:
    status, answer, _ = await call("PUT", VAULT_PATH, body=b" " * (MAX_REQUEST_BODY_BYTES + 1))
    assert (status, answer["error"]["code"]) == (413, "RequestEntityTooLarge")
    declared = {"Content-Length": str(10 * MAX_REQUEST_BODY_BYTES)}
    status, answer, _ = await call("PUT", VAULT_PATH, body=b"{}", headers=declared)
    assert status == 413


async def test_backup_errors_become_their_status_and_arm_body() -> None:
    status, body, headers = await call("DELETE", VAULT_PATH)
    assert status == 409
    assert body == {
        "error": {
            "code": "UserErrorVaultHasBackupInstances",
            "message": "vault has instances",
            "target": "vaultName",
            "additionalInfo": [
                {
                    "type": "UserFacingError",
                    "info": {
                        "code": "UserErrorVaultHasBackupInstances",
                        "message": "vault has instances",
                        "target": "vaultName",
                        "recommendedAction": [ConflictError.recommended_action],
                        "isRetryable": False,
                        "isUserError": True,
                        "properties": {"ActivityId": headers["x-ms-request-id"]},
                    },
                }
            ],
        }
    }


async def test_a_recommended_action_given_at_the_raise_replaces_the_class_one() -> None:
    error = ThrottledError("busy", retry_after=30, recommended_action="Retry after 12:05Z.")
    [entry] = error.to_arm_error("activity-1")["error"]["additionalInfo"]  # type: ignore[index]
    assert entry["info"]["recommendedAction"] == ["Retry after 12:05Z."]
    assert (entry["info"]["isRetryable"], entry["info"]["isUserError"]) == (True, False)
    assert entry["info"]["properties"] == {"ActivityId": "activity-1"}


@pytest.mark.parametrize(
    ("error_class", "retryable", "user_error"),
    [
        (ValidationError, False, True),
        (AuthorizationError, False, True),
        (NotFoundError, False, True),
        (ConflictError, False, True),
        (LimitExceededError, False, True),
        (ThrottledError, True, False),
        (TransientError, True, False),
        (BackupError, False, False),
    ],
)
def test_the_user_facing_error_follows_the_exception_tree(
    error_class: type[BackupError], retryable: bool, user_error: bool
) -> None:
    info = error_class("it failed").error_detail("a")["additionalInfo"][0]["info"]  # type: ignore[index]
    assert (info["isRetryable"], info["isUserError"]) == (retryable, user_error)
    [action] = info["recommendedAction"]
    assert action == error_class.recommended_action
    assert len(action) > 40


async def test_unexpected_exceptions_are_a_500_without_details() -> None:
    status, body, headers = await call(
        "GET", f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/backupJobs/{SUB}"
    )
    assert status == 500
    assert body["error"]["code"] == "InternalServerError"
    assert "secret" not in json.dumps(body)
    assert "Traceback" not in json.dumps(body)
    assert headers["x-ms-request-id"] in body["error"]["message"]


async def test_every_answer_carries_request_and_correlation_ids() -> None:
    _, _, headers = await call("GET", VAULT_PATH, headers={"x-ms-client-request-id": "abc-123"})
    assert headers["x-ms-client-request-id"] == "abc-123"
    assert headers["x-ms-correlation-request-id"] == "abc-123"
    assert len(headers["x-ms-request-id"]) == 36
    _, _, headers = await call("GET", VAULT_PATH + "/nope", headers={"x-ms-correlation-request-id": "corr-1"})
    assert headers["x-ms-correlation-request-id"] == "corr-1"
    _, _, headers = await call("GET", VAULT_PATH, headers={"x-ms-client-request-id": "bad\r\nvalue"})
    assert "x-ms-client-request-id" not in headers
    assert headers["x-ms-correlation-request-id"] == headers["x-ms-request-id"]


async def test_urls_keep_the_request_origin_and_route_prefix() -> None:
    _, body, _ = await call("PUT", VAULT_PATH, body="{}")
    assert body["url"] == "https://backup.example.net/api/subscriptions/x?api-version=2026-06-01"


def test_routes_with_unknown_parameters_are_refused_at_import() -> None:
    with pytest.raises(ValueError, match="no validator"):
        RouteTable().get("/subscriptions/{subscriptionId}/things/{thingName}")(get_vault)


@pytest.mark.parametrize(
    "response", [ApiResponse(200, {"a": 1}), ApiResponse(204), ApiResponse(500, {"error": {}})]
)
def test_every_api_answer_tells_browsers_not_to_sniff(response: ApiResponse) -> None:
    answer = response.to_functions()
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
