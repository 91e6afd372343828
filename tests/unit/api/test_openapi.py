"""docs/openapi.json: current, valid OpenAPI, and exactly the routes the router serves."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, cast

import pytest
from openapi_spec_validator import validate

from backup.api import openapi
from backup.api.app import build_router
from backup.api.dependencies import ApiContext, ApiServices
from backup.api.endpoints import job_export, vault_limits
from backup.api.http import ApiRequest
from backup.api.router import PARAM_VALIDATORS, Router, RouteTable
from backup.api.versions import STABLE_API_VERSIONS
from backup.config import Settings
from backup.domain.clock import SystemClock
from backup.ports import CallerRights, VaultStore
from tests.fakes.role_assignments import FakeRoleAssignments
from tests.paths import REPO_ROOT

COMMITTED = REPO_ROOT / "docs" / "openapi.json"
REGENERATE = "python -m backup.api.openapi > docs/openapi.json"
METHODS = ("get", "put", "patch", "post", "delete")

# A valid value for every path parameter, as the router's validators accept it.
SAMPLE_PARAMS = {
    "subscriptionId": "00000000-0000-0000-0000-0000000000aa",
    "resourceGroupName": "rg-1",
    "vaultName": "vault-1",
    "backupPolicyName": "policy-1",
    "backupInstanceName": "disk-1",
    "jobId": "0f0e0d0c-0b0a-0908-0706-050403020100",
    "recoveryPointId": "0123456789abcdef0123456789abcdef",
    "location": "westus",
    "operationId": "b3BlcmF0aW9u",
    "diskName": "disk-1",
    "resourceGuardsName": "guard-1",
    "resourceGuardProxyName": "proxy-1",
    "roleAssignmentName": "3f2b8c1e-5a6d-4e7f-8091-a2b3c4d5e6f7",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.build_document()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), template, item[method])
        for template, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_committed_document_is_what_the_generator_produces_now() -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    generated = openapi.document_text()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "docs/openapi.json", "generated", lineterm=""
        )
        pytest.fail(
            f"docs/openapi.json is out of date with the routes and schemas; run `{REGENERATE}`.\n"
            + "\n".join(list(diff)[:60]),
            pytrace=False,
        )


def test_the_module_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    openapi.main()
    assert capsys.readouterr().out == openapi.document_text()
    assert json.loads(openapi.document_text()) == openapi.build_document()


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.0.3"
    validate(document)  # openapi-spec-validator: the 3.0 schema, $refs, path parameters, operationIds


def test_every_route_is_documented_and_every_documented_operation_is_routed(
    document: dict[str, Any],
) -> None:
    routed = {(route.method, openapi.document_path(route)) for route in build_router().routes}
    documented = {(method, template) for method, template, _ in operations(document)}
    assert documented == routed
    assert len(documented) == len(build_router().routes)


async def test_every_documented_operation_reaches_its_route(document: dict[str, Any]) -> None:
    # Without api-version the router answers 400 only after matching the path and method,
    # so anything but 404 / 405 proves the route exists, without running a handler.
    context = ApiContext(
        settings=Settings(),
        store=cast(VaultStore, None),
        clock=SystemClock(),
        services=cast(ApiServices, None),
        role_assignments=FakeRoleAssignments(),
        caller_rights=cast(CallerRights, None),
    )
    router = build_router()
    for method, template, _ in operations(document):
        url = "https://backup.example.net/api" + template.format(**SAMPLE_PARAMS)
        response = await router.handle(ApiRequest.build(method, url), context)
        body = json.loads(response.json_text() or "null")
        assert (response.status, body["error"]["code"]) == (400, "MissingApiVersionParameter"), (
            f"{method} {template}: {response.status} {body}"
        )


def test_a_route_without_metadata_or_metadata_without_a_route_fails_the_build() -> None:
    existing = RouteTable()
    existing.routes.extend(build_router().routes)
    extra = RouteTable()

    @extra.get("/subscriptions/{subscriptionId}/providers/Microsoft.DataProtection/somethingNew")
    async def something_new(ctx: Any) -> Any:
        raise NotImplementedError

    with pytest.raises(LookupError, match=r"undocumented routes: .*somethingNew"):
        openapi.build_document(Router([existing, extra]))
    fewer = RouteTable()
    fewer.routes.extend(route for route in build_router().routes if not route.template.endswith("/backup"))
    with pytest.raises(LookupError, match=r"entries without a route: .*/backup'"):
        openapi.build_document(Router([fewer]))


def test_path_parameters_are_the_routers_with_patterns_its_validators_agree_with(
    document: dict[str, Any],
) -> None:
    parameters = document["components"]["parameters"]
    path_parameters = {key: p for key, p in parameters.items() if p["in"] == "path"}
    assert set(path_parameters) == set(PARAM_VALIDATORS) == set(SAMPLE_PARAMS)
    for name, parameter in path_parameters.items():
        assert parameter["name"] == name
        assert parameter["required"] is True
        value = SAMPLE_PARAMS[name]
        PARAM_VALIDATORS[name](value)
        pattern = parameter["schema"].get("pattern")
        if pattern:
            assert re.search(pattern, value), (name, pattern)
    for template, item in document["paths"].items():
        named = [resolve(document, ref)["name"] for ref in item["parameters"]]
        assert named == [*re.findall(r"\{(\w+)\}", template), "api-version"], template


def test_api_version_is_required_with_the_supported_versions(document: dict[str, Any]) -> None:
    api_version = document["components"]["parameters"]["apiVersion"]
    assert api_version == {**api_version, "name": "api-version", "in": "query", "required": True}
    assert api_version["schema"]["enum"] == list(STABLE_API_VERSIONS)
    assert all(
        {"$ref": "#/components/parameters/apiVersion"} in i["parameters"] for i in document["paths"].values()
    )


def test_errors_are_arm_error_bodies_and_202s_carry_the_polling_headers(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["ErrorResponse"]
    detail = resolve(document, error["properties"]["error"])
    assert set(detail["properties"]) == {"code", "message", "target", "details", "additionalInfo"}
    entry = resolve(document, detail["properties"]["additionalInfo"]["items"])
    assert entry["properties"]["type"]["enum"] == ["UserFacingError"]
    info = resolve(document, entry["properties"]["info"])
    assert set(info["required"]) == {
        "code",
        "message",
        "recommendedAction",
        "isRetryable",
        "isUserError",
        "properties",
    }
    accepted = 0
    for method, template, operation in operations(document):
        responses = operation["responses"]
        assert "default" in responses, f"{method} {template}"
        for status, response in responses.items():
            resolved = resolve(document, response)
            if status == "default" or int(status) >= 400:
                schema = resolved["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    f"{method} {template} {status}"
                )
            if status == "202":
                accepted += 1
                headers = {name: resolve(document, h) for name, h in resolved["headers"].items()}
                for name in ("Azure-AsyncOperation", "Location", "Retry-After"):
                    assert headers[name]["required"] is True
    assert accepted >= 12  # every action, lifecycle call, delete and operationResults


def test_request_bodies_only_where_the_handler_reads_one(document: dict[str, Any]) -> None:
    with_body = {(m, t) for m, t, op in operations(document) if "requestBody" in op}
    assert {m for m, _ in with_body} <= {"PUT", "PATCH", "POST"}
    assert all(("PUT", t) in with_body for m, t, _ in operations(document) if m == "PUT")
    # Azure's exportBackupJobs is the one POST without a body.
    assert all(
        ("POST", t) in with_body
        for m, t, _ in operations(document)
        if m == "POST" and t != job_export.EXPORT_BACKUP_JOBS
    )
    assert ("POST", job_export.EXPORT_BACKUP_JOBS) not in with_body


def test_operations_name_the_role_the_route_requires(document: dict[str, Any]) -> None:
    roles = {
        (route.method, openapi.document_path(route)): route.role.value for route in build_router().routes
    }
    for method, template, operation in operations(document):
        assert operation["x-required-role"] == roles[(method, template)]
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_security_is_the_function_key_with_optional_app_service_authentication(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["functionKey"] == {**schemes["functionKey"], "type": "apiKey", "in": "header"}
    assert schemes["functionKey"]["name"] == "x-functions-key"
    assert (schemes["functionKeyQuery"]["in"], schemes["functionKeyQuery"]["name"]) == ("query", "code")
    assert schemes["appServiceAuthentication"]["scheme"] == "bearer"
    assert {"functionKey": []} in document["security"]


def test_product_extensions_are_marked_and_only_they_live_under_x(document: dict[str, Any]) -> None:
    marked = {(m, t) for m, t, op in operations(document) if op.get(openapi.EXTENSION_MARK) is True}
    under_x = {(m, t) for m, t, _ in operations(document) if t.startswith("/x/")}
    assert (
        marked
        == under_x
        == {
            ("GET", "/x/subscriptions/{subscriptionId}/overview"),
            ("GET", "/x/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/overview"),
            *(
                (
                    method,
                    "/x/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
                    "Microsoft.DataProtection/resourceGuards/{resourceGuardsName}/approvals",
                )
                for method in ("GET", "POST")
            ),
            ("GET", "/x" + vault_limits.SCOPE_LIMITS),
            ("PUT", "/x" + vault_limits.SCOPE_LIMITS),
        }
    )
    assert all(openapi.EXTENSION_MARK not in op for m, t, op in operations(document) if (m, t) not in marked)
