"""Azure's REST examples for Microsoft.DataProtection (vendored in ``tests/reference/dataprotection``)
and the comparison a contract test makes between an example's response and ours.

The comparison is about shape, not values: every property the example's response carries must be
in ours, with the same JSON type (objects, arrays, strings, numbers, booleans); a property whose
swagger type is an enumeration must hold one of that enumeration's values. Values themselves
(names, ids, times) differ by construction: the examples describe other people's resources.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.paths import DATAPROTECTION_REFERENCE

EXAMPLES = DATAPROTECTION_REFERENCE / "examples"

# Where an enumeration of the swagger applies, by the end of a property's path in a body
# (``[]`` stands for any array element). Only the properties the examples' responses carry.
ENUM_PROPERTIES: dict[str, str] = {
    "securitySettings.softDeleteSettings.state": "SoftDeleteState",
    "securitySettings.immutabilitySettings.state": "ImmutabilityState",
    "featureSettings.crossRegionRestoreSettings.state": "CrossRegionRestoreState",
    "azureMonitorAlertSettings.alertsForAllJobFailures": "AlertsState",
    "properties.secureScore": "SecureScoreLevel",
    "properties.bcdrSecurityLevel": "BCDRSecurityLevel",
    "storageSettings[].type": "StorageSettingTypes",
    "storageSettings[].datastoreType": "StorageSettingStoreTypes",
    "dataStore.dataStoreType": "DataStoreTypes",
    "sourceDataStore.dataStoreType": "DataStoreTypes",
    "dataStoreParametersList[].dataStoreType": "DataStoreTypes",
    "criteria[].daysOfTheWeek[]": "DayOfWeek",
    "criteria[].absoluteCriteria[]": "AbsoluteMarker",
    "protectionStatus.status": "Status",
    "properties.currentProtectionState": "CurrentProtectionState",
    "properties.recoveryPointState": "RecoveryPointCompletionState",
    "properties.featureType": "FeatureType",
    "features[].supportStatus": "FeatureSupportStatus",
}
# The vault's provisioningState is an enumeration; an instance's is a free string in the swagger.
VAULT_ENUM_PROPERTIES: dict[str, str] = {"properties.provisioningState": "ProvisioningState"}


@cache
def enumerations() -> dict[str, frozenset[str]]:
    document = json.loads((DATAPROTECTION_REFERENCE / "enums-2026-06-01.json").read_text())
    return {name: frozenset(values) for name, values in document.items() if not name.startswith("_")}


@cache
def load_example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return document


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _enum_for(path: str, enums: dict[str, str]) -> str | None:
    for suffix, name in enums.items():
        if path == suffix or path.endswith("." + suffix):
            return name
    return None


def shape_mismatches(
    expected: Any,
    actual: Any,
    *,
    path: str = "",
    ignore: frozenset[str] = frozenset(),
    enums: dict[str, str] | None = None,
) -> list[str]:
    """What of ``expected``'s shape ``actual`` lacks, one line per property, empty when none.

    ``ignore`` names property paths (as this function prints them) that do not apply to disks.
    An example's array element must match some element of ours (order and count are data).
    """
    enums = ENUM_PROPERTIES if enums is None else enums
    if path in ignore:
        return []
    where = path or "(body)"
    if expected is None:
        return []  # a null in an example says nothing about the type
    if _json_type(expected) != _json_type(actual):
        return [f"{where}: {_json_type(actual)} where Azure has {_json_type(expected)} ({actual!r:.80})"]
    if isinstance(expected, dict):
        found: list[str] = []
        for key, value in expected.items():
            child = f"{path}.{key}" if path else key
            if child in ignore:
                continue
            if key not in actual:
                found.append(f"{child}: missing")
                continue
            found.extend(shape_mismatches(value, actual[key], path=child, ignore=ignore, enums=enums))
        return found
    if isinstance(expected, list):
        child = f"{path}[]"
        if child in ignore:
            return []
        if expected and not actual:
            return [f"{child}: empty where Azure's example has {len(expected)} element(s)"]
        found = []
        for element in expected:
            attempts = [
                shape_mismatches(element, mine, path=child, ignore=ignore, enums=enums) for mine in actual
            ]
            if all(attempts):
                found.extend(min(attempts, key=len))
        return sorted(set(found))
    enum = _enum_for(path, enums)
    if enum is not None and actual not in enumerations()[enum]:
        return [f"{where}: {actual!r} is not one of Azure's {enum} values {sorted(enumerations()[enum])}"]
    return []
