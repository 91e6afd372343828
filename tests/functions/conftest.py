"""The worker indexes the app once; ``FunctionApp.get_functions()`` refuses a second call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    function: func.Function
    bindings: list[dict[str, Any]]

    def binding(self, binding_type: str) -> dict[str, Any]:
        matches = [b for b in self.bindings if b["type"] == binding_type]
        assert len(matches) == 1, f"{self.name}: expected one {binding_type} binding, got {matches}"
        return matches[0]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function.get_user_function()(*args, **kwargs)


@pytest.fixture(scope="session")
def indexed_functions() -> dict[str, IndexedFunction]:
    import function_app

    return {
        fn.get_function_name(): IndexedFunction(
            fn.get_function_name(), fn, json.loads(fn.get_function_json())["bindings"]
        )
        for fn in function_app.app.get_functions()
    }
