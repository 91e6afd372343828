"""Small helpers over pycep's JSON form of a Bicep file.

pycep writes a reference (a parameter, variable, resource or loop item) and a string literal the
same way, as a plain ``str``; :func:`resolve` treats a string that names a variable or parameter
of the file as a reference to it, which is what every use in infra/ means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def unwrap(config: Any) -> Any:
    """The body of a resource or module, under any loop or ``if`` condition."""
    while (
        isinstance(config, dict) and "config" in config and ("loop_type" in config or "condition" in config)
    ):
        config = config["config"]
    return config


def loop_of(config: Any) -> dict[str, Any] | None:
    """``{"item_name": ..., "array_name": ...}`` when the resource or module is a loop."""
    if isinstance(config, dict) and "loop_type" in config:
        detail: dict[str, Any] = config["loop_type"]["detail"]
        return detail
    return None


def resources(tree: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from tree.get("resources", {}).items()


def resources_of_type(tree: dict[str, Any], resource_type: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, r) for name, r in resources(tree) if r["type"].lower() == resource_type.lower()]


def variables(tree: dict[str, Any]) -> dict[str, Any]:
    return {name: v["value"] for name, v in tree.get("variables", {}).items()}


def resolve(tree: dict[str, Any], value: Any, depth: int = 0) -> Any:
    """Follow a bare variable name to the variable's value (recursively, a few levels deep)."""
    declared = variables(tree)
    while isinstance(value, str) and value in declared and depth < 10:
        value = declared[value]
        depth += 1
    return value


def allowed_values(tree: dict[str, Any], param: str) -> list[Any] | None:
    declaration = tree.get("parameters", {}).get(param)
    if declaration is None:
        return None
    for decorator in declaration["decorators"]:
        if decorator["type"] == "allowed":
            return list(decorator["argument"])
    return None


def param_default(tree: dict[str, Any], param: str) -> Any:
    return tree["parameters"][param]["default"]


def property_access(value: Any) -> tuple[str, str] | None:
    """``("roles", "DiskBackupReader")`` for the expression ``roles.DiskBackupReader``."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "property_accessor":
        operands = value["operator"]["operands"]
        if isinstance(operands["operand_1"], str) and isinstance(operands["operand_2"], str):
            return operands["operand_1"], operands["operand_2"]
    return None


def function_call(value: Any, function_type: str) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("function", {}).get("type") == function_type:
        parameters: dict[str, Any] = value["function"].get("parameters", {})
        return parameters
    return None


def load_json_var(tree: dict[str, Any], bicep_file: Path, var: str) -> dict[str, Any] | None:
    """The content of ``var x = loadJsonContent('<file>')``, read relative to the Bicep file."""
    call = function_call(variables(tree).get(var), "load_json_content")
    if call is None:
        return None
    content: dict[str, Any] = json.loads((bicep_file.parent / call["file_path"]).read_text())
    return content


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
