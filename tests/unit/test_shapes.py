"""What the shapes publish is what they accept: case-insensitive values, tags, enums of answers."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator

from backup import telemetry
from backup.api import examples, openapi
from backup.domain.instance import VaultRef
from backup.errors import ValidationError
from backup.shapes.backup_instance import HEALTH_VALUES, parse_backup_instance
from backup.shapes.common import CaseInsensitive
from backup.shapes.vault import parse_vault


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return openapi.build_document()["components"]["schemas"]


def vault(datastore: str = "OperationalStore", **extra: Any) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {"storageSettings": [{"datastoreType": datastore, "type": "LocallyRedundant"}]},
        **extra,
    }


def test_the_summary_health_values_are_the_ones_telemetry_computes() -> None:
    assert HEALTH_VALUES == telemetry.HEALTH_VALUES


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("OperationalStore", True),
        ("operationalstore", True),
        (" OPERATIONALSTORE ", True),
        ("Operational Store", False),
        ("Tape", False),
        ("OperationalStore\n", True),  # white space around is stripped
        ("\u212aOperationalStore", False),  # not ASCII: no case folding beyond A-Z
    ],
)
def test_a_case_insensitive_value_is_accepted_exactly_when_the_published_pattern_matches(
    schemas: dict[str, Any], value: str, accepted: bool
) -> None:
    published = schemas["StorageSetting"]["properties"]["datastoreType"]
    assert "enum" not in published  # JSON Schema enums are case-sensitive: it would be untrue
    assert bool(re.search(published["pattern"], value)) is accepted
    if accepted:
        stored = parse_vault(vault(value))
        assert stored.properties.storage_settings[0].datastore_type == "OperationalStore"
    else:
        with pytest.raises(ValidationError) as refused:
            parse_vault(vault(value))
        assert refused.value.code == "InvalidPropertyValue"


def test_no_request_field_compared_case_insensitively_publishes_an_enum(schemas: dict[str, Any]) -> None:
    found = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "enum" in node and "in any letter case" in node.get("description", ""):
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(schemas, "")
    assert found == []
    described = {
        (name, key): field
        for name, schema in schemas.items()
        for key, field in schema.get("properties", {}).items()
        if "in any letter case" in field.get("description", "")
    }
    assert {name for name, _ in described} >= {
        "StorageSetting",
        "DppIdentityDetails",
        "Datasource",
        "RestoreTargetInfo",
        "AzureBackupRecoveryPointBasedRestoreRequest",
    }
    for where, field in described.items():
        assert "[" in field["pattern"], where  # the character classes, not a weaker pattern
        assert not any(key.startswith("x-") for key in field), where


def test_identity_types_take_spaces_around_the_comma_only() -> None:
    types = CaseInsensitive(("SystemAssigned,UserAssigned", "None"), comma_spaced=True)
    assert types.canonical("systemassigned, userassigned") == "SystemAssigned,UserAssigned"
    assert types.canonical("System Assigned") is None
    assert re.search(types.pattern, "SystemAssigned , UserAssigned")
    assert not re.search(types.pattern, "System Assigned")


def test_the_tag_limit_is_the_resource_limit_and_names_the_tag() -> None:
    parse_vault(vault(tags={f"t{index}": "v" for index in range(50)}))
    with pytest.raises(ValidationError) as refused:
        parse_vault(vault(tags={f"t{index}": "v" for index in range(51)}))
    assert (refused.value.code, refused.value.target) == ("InvalidTag", "tags")
    with pytest.raises(ValidationError) as refused:
        parse_vault(vault(tags={"env": 1}))
    assert (refused.value.code, refused.value.target) == ("InvalidTag", "tags.env")


def test_an_answer_echoing_a_value_in_another_letter_case_matches_the_published_schema(
    schemas: dict[str, Any],
) -> None:
    # An instance's properties are answered as sent: what the request may spell freely, the
    # answer may too, so the response schema must not pin the canonical spelling.
    properties = copy.deepcopy(examples.INSTANCE_PROPERTIES)
    properties["dataSourceInfo"]["datasourceType"] = "microsoft.compute/DISKS"
    parse_backup_instance(properties, VaultRef(examples.SUBSCRIPTION, "rg-backup", "demo-vault"))
    answer = {"id": "/x", "name": "vm-web-01-data", "type": "t", "properties": properties}
    root = {"$ref": "#/components/schemas/BackupInstanceResource", "components": {"schemas": schemas}}
    assert [error.message for error in OAS30ReadValidator(root).iter_errors(answer)] == []
    properties["dataSourceInfo"]["datasourceType"] = "Microsoft.Compute/snapshots"
    assert list(OAS30ReadValidator(root).iter_errors(answer))


# Azure's PutBackupVault example request (azure-rest-api-specs, 2025-07-01
# examples/VaultCRUD/PutBackupVault.json), verbatim.
PUT_BACKUP_VAULT_EXAMPLE: dict[str, Any] = {
    "identity": {"type": "None"},
    "location": "WestUS",
    "properties": {
        "featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}},
        "monitoringSettings": {"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled"}},
        "securitySettings": {"softDeleteSettings": {"retentionDurationInDays": 14, "state": "Enabled"}},
        "storageSettings": [{"type": "LocallyRedundant", "datastoreType": "VaultStore"}],
    },
    "tags": {"key1": "val1"},
}


def soft_delete_of(body: dict[str, Any]) -> tuple[str | None, float | None]:
    settings = parse_vault(body).properties.security_settings
    assert settings is not None
    assert settings.soft_delete_settings is not None
    return settings.soft_delete_settings.state, settings.soft_delete_settings.retention_duration_in_days


def test_the_put_backup_vault_example_is_accepted_verbatim_and_enabled_means_on() -> None:
    assert soft_delete_of(copy.deepcopy(PUT_BACKUP_VAULT_EXAMPLE)) == ("On", 14)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (None, ("On", 14)),  # Azure: enabled by default on new vaults, for 14 days
        ({"softDeleteSettings": {"state": "disabled"}}, ("Off", 0)),
        ({"softDeleteSettings": {"state": "Off"}}, ("Off", 0)),
        ({"softDeleteSettings": {"state": "ALWAYSON", "retentionDurationInDays": 30}}, ("AlwaysOn", 30)),
    ],
)
def test_soft_delete_is_on_by_default_and_is_shown_in_azures_enum(
    settings: dict[str, Any] | None, expected: tuple[str, int]
) -> None:
    body = vault()
    if settings is not None:
        body["properties"]["securitySettings"] = settings
    assert soft_delete_of(body) == expected
