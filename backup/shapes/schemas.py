"""The OpenAPI 3.0 component schemas of the declared shapes.

msgspec writes JSON Schema (2020-12); OpenAPI 3.0 spells ``null`` as ``nullable``, so this turns
``anyOf: [X, {type: null}]`` into ``X`` with ``nullable: true``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from backup.shapes.backup_instance import BackupInstance, ValidateForBackupRequest
from backup.shapes.policy import BackupPolicy
from backup.shapes.restore import AzureBackupRecoveryPointBasedRestoreRequest, ValidateRestoreRequestObject

REF_TEMPLATE = "#/components/schemas/{name}"
REQUEST_SHAPES: tuple[type[msgspec.Struct], ...] = (
    BackupPolicy,
    BackupInstance,
    ValidateForBackupRequest,
    AzureBackupRecoveryPointBasedRestoreRequest,
    ValidateRestoreRequestObject,
)
"""The request shapes the document publishes, by their OpenAPI component name (the class name).
The PUT bodies' resource envelopes (id, name, type, properties) stay hand-typed with the responses."""


def component_schemas() -> dict[str, Any]:
    """``components.schemas`` entries for every shape (and the shapes they contain)."""
    _, components = msgspec.json.schema_components(REQUEST_SHAPES, ref_template=REF_TEMPLATE)
    return {name: _openapi_30(schema) for name, schema in components.items()}


def _openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    # 3.0 has no propertyNames, and refuses an empty required list.
    converted = {key: _openapi_30(value) for key, value in node.items() if key != "propertyNames"}
    if converted.get("required") == []:
        del converted["required"]
    options = converted.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del converted["anyOf"]
        only = rest[0] if len(rest) == 1 else {"anyOf": rest}
        if "$ref" in only:
            only = {"allOf": [only]}
        converted = {**only, **converted, "nullable": True}
    return converted
