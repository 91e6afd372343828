"""The comparison the REST-example contract test makes (tests/integration/api/example_shapes.py):
it must catch what it claims to catch, or the contract test could not fail."""

from __future__ import annotations

import json

import pytest

from tests.integration.api.example_shapes import EXAMPLES, enumerations, load_example, shape_mismatches

AZURE = {
    "name": "v",
    "properties": {
        "secureScore": "Adequate",
        "storageSettings": [{"type": "LocallyRedundant", "datastoreType": "VaultStore"}],
        "softDelete": {"retentionDurationInDays": 14, "enabled": True},
    },
}


def ours(**changes: object) -> dict[str, object]:
    body = json.loads(json.dumps(AZURE))
    body["properties"].update(changes)
    return body


def test_the_same_shape_with_other_values_matches() -> None:
    other = ours(secureScore="Maximum", softDelete={"retentionDurationInDays": 90, "enabled": False})
    other["name"] = "another"
    other["properties"]["extra"] = "ours may carry more"  # type: ignore[index]
    assert shape_mismatches(AZURE, other) == []


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (ours(secureScore=None), "properties.secureScore: null where Azure has string"),
        (
            ours(softDelete={"retentionDurationInDays": "14", "enabled": True}),
            "retentionDurationInDays: string",
        ),
        (
            ours(softDelete={"retentionDurationInDays": 14, "enabled": 1}),
            "enabled: number where Azure has boolean",
        ),
        (ours(storageSettings=[]), "storageSettings[]: empty"),
        (ours(storageSettings=[{"type": "LocallyRedundant"}]), "storageSettings[].datastoreType: missing"),
        (ours(secureScore="Good"), "'Good' is not one of Azure's SecureScoreLevel values"),
        (
            ours(storageSettings=[{"type": "Locally", "datastoreType": "VaultStore"}]),
            "storageSettings[].type: 'Locally' is not one of Azure's StorageSettingTypes",
        ),
    ],
)
def test_a_missing_property_another_type_or_a_value_outside_the_enum_is_reported(
    body: dict[str, object], found: str
) -> None:
    mismatches = shape_mismatches(AZURE, body)
    assert any(found in line for line in mismatches), mismatches


def test_a_missing_property_is_reported_by_path_unless_ignored() -> None:
    body = ours()
    del body["properties"]["secureScore"]  # type: ignore[attr-defined]
    assert shape_mismatches(AZURE, body) == ["properties.secureScore: missing"]
    assert shape_mismatches(AZURE, body, ignore=frozenset({"properties.secureScore"})) == []


def test_every_vendored_example_loads_and_its_enums_exist() -> None:
    names = sorted(str(path.relative_to(EXAMPLES)) for path in EXAMPLES.rglob("*.json"))
    assert len(names) >= 30
    for name in names:
        example = load_example(name)
        assert example["parameters"]["api-version"] == "2026-06-01", name
        assert example["responses"], name
    assert "ProtectionConfigured" in enumerations()["Status"]
    assert "Adequate" in enumerations()["SecureScoreLevel"]
