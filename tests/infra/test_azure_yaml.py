"""azure.yaml is valid against azd's schema and names the one Python function service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra._tools import REPO_ROOT, require_module

pytestmark = pytest.mark.infra

# azd's schema (schemas/v1.0/azure.yaml.json), vendored: see schemas/README.md.
SCHEMA = Path(__file__).parent / "schemas" / "azure.yaml.schema.json"


@pytest.fixture(scope="module")
def azure_yaml() -> dict[str, Any]:
    yaml = require_module("yaml", "add PyYAML to requirements-dev.txt")
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    return document


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


def test_valid_against_azd_schema(azure_yaml: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema = require_module("jsonschema", "add jsonschema to requirements-dev.txt")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(azure_yaml), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_one_python_function_service_at_the_root(azure_yaml: dict[str, Any]) -> None:
    services = azure_yaml["services"]
    assert list(services) == ["api"]
    api = services["api"]
    assert api["host"] == "function"
    assert api["language"] == "python"
    assert api["project"] == "."
    assert api.get("remoteBuild", True) is True, "Flex builds Python remotely from requirements.txt"


def test_infra_is_bicep_at_infra_main(azure_yaml: dict[str, Any]) -> None:
    infra = azure_yaml.get("infra", {})
    assert infra.get("provider", "bicep") == "bicep"
    assert infra.get("path", "infra") == "infra"
    assert infra.get("module", "main") == "main"
    assert (REPO_ROOT / "infra" / "main.bicep").is_file()
