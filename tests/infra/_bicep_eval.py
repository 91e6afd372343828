"""Evaluate the small subset of Bicep expressions that infra/ uses to shape values, over pycep's
JSON form, so a test can compute what a deployment would receive without deploying.

Only what is implemented here is understood; anything else raises :class:`Unsupported`, so a
change to the templates that this evaluator cannot follow fails loudly instead of passing.
pycep writes references and string literals alike as ``str``: a string that names a loop
variable, parameter or variable of the file is read as a reference (see ``tests/infra/_bicep``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Unsupported(Exception):
    """An expression outside the subset this evaluator implements."""


def _empty(item_to_test: Any) -> bool:
    return item_to_test is None or len(item_to_test) == 0


def _split(input_string: str, delimiter: str) -> list[str]:
    return input_string.split(delimiter)


def _replace(original_string: str, old_string: str, new_string: str) -> str:
    return original_string.replace(old_string, new_string)  # Bicep replaces every occurrence


def _trim(string_to_trim: str) -> str:
    return string_to_trim.strip()


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "empty": _empty,
    "split": _split,
    "replace": _replace,
    "trim": _trim,
}


class Scope:
    """One Bicep file with given parameter values (and loop variables), for :meth:`evaluate`."""

    def __init__(self, tree: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        self._tree = tree
        self._values = dict(values)

    def bind(self, **loop_values: Any) -> Scope:
        return Scope(self._tree, {**self._values, **loop_values})

    def _lookup(self, name: str) -> tuple[bool, Any]:
        if name in self._values:
            return True, self._values[name]
        variables = self._tree.get("variables", {})
        if name in variables:
            return True, self.evaluate(variables[name]["value"])
        parameters = self._tree.get("parameters", {})
        if name in parameters:
            if "default" not in parameters[name]:
                raise Unsupported(f"parameter {name} has no value and no default")
            return True, self.evaluate(parameters[name]["default"])
        return False, None

    def _interpolate(self, text: str) -> str:
        def value_of(match: re.Match[str]) -> str:
            found, value = self._lookup(match.group(1))
            if not found:
                raise Unsupported(f"interpolation of an unknown name: {match.group(0)}")
            return str(value)

        return INTERPOLATION.sub(value_of, text)

    def evaluate(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float):
            return node
        if isinstance(node, str):
            found, value = self._lookup(node)
            return value if found else self._interpolate(node)
        if isinstance(node, list):
            return [self.evaluate(item) for item in node]
        if isinstance(node, dict):
            if "function" in node:
                function = node["function"]
                implementation = FUNCTIONS.get(function["type"])
                if implementation is None:
                    raise Unsupported(f"function {function['type']}()")
                arguments = {name: self.evaluate(value) for name, value in function["parameters"].items()}
                return implementation(**arguments)
            if "operator" in node:
                operator = node["operator"]
                if operator["type"] != "conditional":
                    raise Unsupported(f"operator {operator['type']}")
                operands = operator["operands"]
                chosen = "true_value" if self.evaluate(operands["condition"]) else "false_value"
                return self.evaluate(operands[chosen])
            if "loop_type" in node:
                return self.evaluate_loop(node)
            return {key: self.evaluate(value) for key, value in node.items()}
        raise Unsupported(repr(node))

    def evaluate_loop(self, node: Mapping[str, Any]) -> list[Any]:
        """``[for (item, i) in array: {...}]`` (no ``if`` filter) as the list it produces."""
        if node.get("condition") is not None:
            raise Unsupported("a loop with an if condition")
        detail = node["loop_type"]["detail"]
        items = self.evaluate(detail["array_name"])
        if not isinstance(items, list):
            raise Unsupported(f"a loop over {items!r}")
        produced = []
        for index, item in enumerate(items):
            bound = {detail["item_name"]: item}
            if detail.get("index_name"):
                bound[detail["index_name"]] = index
            produced.append(self.bind(**bound).evaluate(node["config"]))
        return produced
