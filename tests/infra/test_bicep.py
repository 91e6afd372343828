"""Every Bicep file parses with checkov's parser and keeps to the subset it understands; the
deployment has the shape azd and the issue ask for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from backup import names
from tests.infra import _bicep
from tests.infra._tools import INFRA_DIR, REPO_ROOT

pytestmark = pytest.mark.infra

# Constructs pycep-parser 0.5.1 (checkov 3.3.30) rejects or misreads, and registry modules.
FORBIDDEN = {
    "deployer()": re.compile(r"\bdeployer\s*\("),
    "typed array (string[] etc.)": re.compile(r"\b(string|int|bool|object)\[\]"),
    "nullable type": re.compile(r"^\s*(param|output)\s+\w+\s+\w+\?", re.MULTILINE),
    "import statement": re.compile(r"^\s*import\b", re.MULTILINE),
    "user-defined type": re.compile(r"^\s*(@\w+\([^)]*\)\s*)*type\s+\w+\s*=", re.MULTILINE),
    "user-defined function": re.compile(r"^\s*func\s+\w+", re.MULTILINE),
    "registry module": re.compile(r"'br[:/]"),
    "template spec module": re.compile(r"'ts[:/]"),
    "extension statement": re.compile(r"^\s*(extension|provider)\s", re.MULTILINE),
}


def test_every_bicep_file_parses_with_checkovs_parser(parse_results: dict[Path, Any]) -> None:
    errors = {
        path.relative_to(REPO_ROOT).as_posix(): f"{type(error).__name__}: {str(error)[:400]}"
        for path, error in parse_results.items()
        if isinstance(error, Exception)
    }
    assert not errors, errors


@pytest.mark.parametrize("construct", sorted(FORBIDDEN))
def test_no_construct_the_parser_cannot_read(bicep_files: list[Path], construct: str) -> None:
    offenders = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in bicep_files
        if FORBIDDEN[construct].search(_strip_comments(path.read_text()))
    ]
    assert not offenders, f"{construct} in {offenders}"


def test_modules_are_local_files_that_exist(bicep_files: list[Path], bicep: dict[str, Any]) -> None:
    for relative, tree in bicep.items():
        for name, module in tree.get("modules", {}).items():
            assert module["type"] == "local", f"{relative}: module {name} is not an in-repo file"
            target = (INFRA_DIR / relative).parent / module["detail"]["path"]
            assert target.resolve() in {p.resolve() for p in bicep_files}, f"{relative}: {name} -> {target}"


def test_main_is_subscription_scoped_and_creates_the_tagged_resource_group(bicep: dict[str, Any]) -> None:
    main = bicep["main.bicep"]
    assert main["globals"]["scope"]["value"] == "subscription"
    ((_, rg),) = _bicep.resources_of_type(main, "Microsoft.Resources/resourceGroups")
    tags = _bicep.resolve(main, _bicep.unwrap(rg["config"])["tags"])
    assert {key.strip("'"): value for key, value in tags.items()} == {"azd-env-name": "environmentName"}
    location = main["parameters"]["location"]
    metadata = [d for d in location["decorators"] if d["type"] == "metadata"]
    assert metadata, "location carries @metadata({azd: {type: 'location'}})"
    assert metadata[0]["argument"] == {"azd": {"type": "location"}}


def test_parameters_file_feeds_the_azd_variables(bicep: dict[str, Any]) -> None:
    import json

    parameters = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    expected = {
        "environmentName": "${AZURE_ENV_NAME}",
        "location": "${AZURE_LOCATION}",
        "principalId": "${AZURE_PRINCIPAL_ID}",
        "principalType": "${AZURE_PRINCIPAL_TYPE}",
    }
    for name, value in expected.items():
        assert parameters[name]["value"] == value
    declared = bicep["main.bicep"]["parameters"]
    assert set(parameters) <= set(declared), set(parameters) - set(declared)


def test_abbreviations_cover_every_use(bicep: dict[str, Any]) -> None:
    import json

    abbreviations = json.loads((INFRA_DIR / "abbreviations.json").read_text())
    used = set(re.findall(r"\babbrs\.(\w+)", (INFRA_DIR / "main.bicep").read_text()))
    assert used
    assert used <= set(abbreviations), used - set(abbreviations)


def test_flex_consumption_function_app(bicep: dict[str, Any]) -> None:
    tree = bicep["app/function.bicep"]
    ((_, plan),) = _bicep.resources_of_type(tree, "Microsoft.Web/serverfarms")
    plan = _bicep.unwrap(plan["config"])
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True

    ((_, site),) = _bicep.resources_of_type(tree, "Microsoft.Web/sites")
    site = _bicep.unwrap(site["config"])
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    properties = site["properties"]
    assert properties["httpsOnly"] is True
    config = properties["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    scale = config["scaleAndConcurrency"]
    assert scale == {"instanceMemoryMB": "instanceMemoryMB", "maximumInstanceCount": "maximumInstanceCount"}
    assert _bicep.param_default(tree, "maximumInstanceCount") >= 40  # Flex's lowest cap


def test_app_carries_the_azd_service_tag_of_azure_yaml(bicep: dict[str, Any]) -> None:
    main_text = (INFRA_DIR / "main.bicep").read_text()
    service = re.search(r"var serviceName = '([^']+)'", main_text)
    assert service, "main.bicep names the azd service in var serviceName"
    assert "'azd-service-name': serviceName" in main_text
    azure_yaml = (REPO_ROOT / "azure.yaml").read_text()
    assert re.search(rf"^  {re.escape(service.group(1))}:\s*$", azure_yaml, re.MULTILINE)


def test_storage_account_locks_out_keys_and_plain_http(bicep: dict[str, Any]) -> None:
    tree = bicep["core/storage/storage.bicep"]
    ((_, account),) = _bicep.resources_of_type(tree, "Microsoft.Storage/storageAccounts")
    properties = _bicep.unwrap(account["config"])["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_product_tables_and_queues_are_the_ones_the_code_uses(bicep: dict[str, Any]) -> None:
    tree = bicep["core/storage/storage.bicep"]
    product = _bicep.variables(tree)["productStorage"]
    assert sorted(product["tables"]) == sorted(names.TABLES)
    assert sorted(product["queues"]) == sorted(names.QUEUES)


def test_monitoring_is_entra_only(bicep: dict[str, Any]) -> None:
    tree = bicep["core/monitor/monitoring.bicep"]
    ((_, insights),) = _bicep.resources_of_type(tree, "Microsoft.Insights/components")
    properties = _bicep.unwrap(insights["config"])["properties"]
    assert properties["DisableLocalAuth"] is True
    assert properties["WorkspaceResourceId"], "workspace-based Application Insights"


def test_connection_string_output_is_the_connection_string(bicep: dict[str, Any]) -> None:
    # The azd timer sample outputs the resource *name* here; this one must be the real value.
    monitoring = (INFRA_DIR / "core/monitor/monitoring.bicep").read_text()
    assert "output connectionString string = applicationInsights.properties.ConnectionString" in monitoring
    outputs = bicep["main.bicep"]["outputs"]
    assert _bicep.property_access(outputs["APPLICATIONINSIGHTS_CONNECTION_STRING"]["value"]) is None
    main = (INFRA_DIR / "main.bicep").read_text()
    assert "output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString" in main


def test_outputs_azd_and_operators_need(bicep: dict[str, Any]) -> None:
    outputs = set(bicep["main.bicep"]["outputs"])
    assert {
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "SERVICE_API_NAME",
        "AZURE_FUNCTION_NAME",
        "AZURE_FUNCTION_URL",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID",
        "AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_BLOB_ENDPOINT",
        "AZURE_STORAGE_QUEUE_ENDPOINT",
        "AZURE_STORAGE_TABLE_ENDPOINT",
    } <= outputs


def test_login_is_required_except_for_health_openapi_and_the_page_shell(bicep: dict[str, Any]) -> None:
    tree = bicep["app/function.bicep"]
    configs = [
        _bicep.unwrap(r["config"]) for _, r in _bicep.resources_of_type(tree, "Microsoft.Web/sites/config")
    ]
    (auth,) = [c for c in configs if c["name"] == "authsettingsV2"]
    validation = auth["properties"]["globalValidation"]
    assert validation["unauthenticatedClientAction"] == "Return401"
    assert validation["requireAuthentication"] == "authEnabled"
    # The Backup Center page and its assets hold no data; every call they make needs sign-in.
    assert _bicep.param_default(tree, "anonymousPaths") == [
        "/api/health",
        "/api/openapi.json",
        "/api/backupcenter",
        "/api/backupcenter/assets/*",
    ]
    assert _bicep.param_default(tree, "authClientId") == ""
    provider = _bicep.variables(tree)["entraProvider"]["azureActiveDirectory"]
    assert provider["registration"]["clientId"] == "authClientId"
    assert "clientSecretSettingName" not in provider["registration"], "bearer tokens only: no secret"


def _bicep_property(obj: str, prop: str) -> Any:
    return {"operator": {"type": "property_accessor", "operands": {"operand_1": obj, "operand_2": prop}}}


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)
