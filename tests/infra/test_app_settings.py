"""The deployed app settings name every setting the code reads, nothing Flex rejects, nothing
local-only, and no secret."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from backup import config
from tests.infra import _bicep
from tests.infra._tools import INFRA_DIR

pytestmark = pytest.mark.infra

SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Settings the Functions host reads itself (identity-based AzureWebJobsStorage, Entra-only
# Application Insights); the product code does not, so backup/config.py does not name them.
HOST_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__blobServiceUri",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}

# Settings Flex Consumption rejects or ignores (style.md (c); Flex Consumption docs), and the
# key-based host storage connection.
FLEX_REJECTED = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
    "TZ",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "AzureWebJobsStorage",
    "AzureWebJobsFeatureFlags",
}

SECRET_LOOKING = re.compile(
    r"AccountKey=|SharedAccessSignature|SharedAccessKey|[?&;]sig=|\bsig=|password|pwd=|secret|"
    r"listKeys|listAccountSas|listServiceSas|listConnectionStrings|InstrumentationKey|DefaultEndpointsProtocol",
    re.IGNORECASE,
)


def code_setting_names() -> set[str]:
    """Every module-level UPPER_CASE string constant of backup/config.py that names a setting."""
    return {
        value
        for name, value in vars(config).items()
        if name.isupper()
        and not name.startswith("DEFAULT_")
        and isinstance(value, str)
        and SETTING_NAME.fullmatch(value)
    }


@pytest.fixture(scope="module")
def app_settings(bicep: dict[str, Any]) -> dict[str, Any]:
    tree = bicep["app/function.bicep"]
    ((_, site),) = _bicep.resources_of_type(tree, "Microsoft.Web/sites")
    entries = _bicep.unwrap(site["config"])["properties"]["siteConfig"]["appSettings"]
    assert isinstance(entries, list), "appSettings must be a literal list of {name, value}"
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), f"duplicate settings: {names}"
    # No other place may set app settings (a separate appsettings config resource would replace these).
    configs = [
        _bicep.unwrap(r["config"]) for _, r in _bicep.resources_of_type(tree, "Microsoft.Web/sites/config")
    ]
    assert all(c["name"] != "appsettings" for c in configs)
    return {entry["name"]: entry["value"] for entry in entries}


def test_config_module_names_settings() -> None:
    names = code_setting_names()
    assert {"ARM_ENDPOINT", "AZURE_CLIENT_ID", "PLAN_BACKUPS_SCHEDULE"} <= names
    assert names >= config.LOCAL_ONLY


def test_every_setting_the_code_reads_is_deployed(app_settings: dict[str, Any]) -> None:
    missing = code_setting_names() - config.LOCAL_ONLY - config.PLATFORM_SET - set(app_settings)
    assert not missing, f"backup/config.py reads {sorted(missing)}: add them to infra/app/function.bicep"


def test_no_local_only_setting_is_deployed(app_settings: dict[str, Any]) -> None:
    assert not config.LOCAL_ONLY & set(app_settings)


def test_every_deployed_setting_is_known(app_settings: dict[str, Any]) -> None:
    unknown = set(app_settings) - (code_setting_names() - config.LOCAL_ONLY) - HOST_SETTINGS
    assert not unknown, f"settings nobody reads: {sorted(unknown)} (name them in backup/config.py)"


def test_nothing_flex_rejects(app_settings: dict[str, Any]) -> None:
    assert not FLEX_REJECTED & set(app_settings), FLEX_REJECTED & set(app_settings)


def test_no_secret_in_any_value(app_settings: dict[str, Any]) -> None:
    for name, value in app_settings.items():
        text = json.dumps(value)
        assert not SECRET_LOOKING.search(text), f"{name} looks like a secret: {text}"


def test_no_key_listing_anywhere_in_infra() -> None:
    for path in INFRA_DIR.rglob("*.bicep"):
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for pattern in ("listKeys(", "listAccountSas(", "listServiceSas(", "AccountKey=", "@secure()"):
            assert pattern not in text, f"{path}: {pattern}"


def test_identity_and_endpoint_values(bicep: dict[str, Any], app_settings: dict[str, Any]) -> None:
    assert app_settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert app_settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert app_settings[config.AZURE_CLIENT_ID] == "identityClientId"
    assert (
        app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identityClientId};Authorization=AAD"
    )
    for service in ("blob", "queue", "table"):
        uri = json.dumps(app_settings[f"AzureWebJobsStorage__{service}ServiceUri"])
        assert '"primaryEndpoints"' in uri
        assert f'"{service}"' in uri
    insights = json.dumps(app_settings[config.APPLICATIONINSIGHTS_CONNECTION_STRING])
    assert '"ConnectionString"' in insights
    # ARM_ENDPOINT follows the cloud: https://management.azure.com/ in Azure public.
    arm = app_settings[config.ARM_ENDPOINT]
    assert arm == config.DEFAULT_ARM_ENDPOINT or (
        _bicep.function_call(arm, "environment") is not None
        and arm["function"]["property_name"] == "resourceManager"
    )


def test_schedule_defaults_match_the_local_sample(bicep: dict[str, Any]) -> None:
    sample = json.loads((INFRA_DIR.parent / "local.settings.sample.json").read_text())["Values"]
    main = bicep["main.bicep"]
    assert _bicep.param_default(main, "planBackupsSchedule") == "0 */5 * * * *"
    assert _bicep.param_default(main, "applyRetentionSchedule") == "0 */15 * * * *"
    assert sample[config.PLAN_BACKUPS_SCHEDULE] == _bicep.param_default(main, "planBackupsSchedule")
    assert sample[config.APPLY_RETENTION_SCHEDULE] == _bicep.param_default(main, "applyRetentionSchedule")
    assert _bicep.param_default(main, "countOverviewSchedule") == "0 */5 * * * *"
    assert sample[config.COUNT_OVERVIEW_SCHEDULE] == _bicep.param_default(main, "countOverviewSchedule")
