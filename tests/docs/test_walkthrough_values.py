"""The README's Python client walkthrough runs as written against a plain ``make run``, and
``make run`` can print it with its own values."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from localdev.run import APP_PORT, SEED_FILE, readme_block, sdk_walkthrough


def _environment_defaults(code: str) -> dict[str, str]:
    """``NAME = os.environ.get("NAME", "default")`` assignments of the snippet, by name."""
    defaults = {}
    for node in ast.parse(code).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if ast.unparse(call.func) == "os.environ.get" and len(call.args) == 2:
            (target,) = node.targets
            assert isinstance(target, ast.Name)
            name, default = (ast.literal_eval(argument) for argument in call.args)
            assert name == target.id, f"{target.id} reads ${name}"
            defaults[name] = default
    return defaults


def test_the_sdk_walkthrough_defaults_are_a_plain_make_runs_values() -> None:
    defaults = _environment_defaults(readme_block("sdk-walkthrough", "python"))
    seed = json.loads(Path(SEED_FILE).read_text())
    assert defaults == {
        "API": f"http://127.0.0.1:{APP_PORT}/api",
        "SUB": seed["subscriptions"][0]["id"],
    }


def test_make_run_prints_the_sdk_walkthrough_with_its_values_and_no_environment_lookup() -> None:
    printed = sdk_walkthrough({"API": "http://127.0.0.1:45678/api", "SUB": "sub-of-this-run"})
    command, _, rest = printed.partition("\n")
    assert command.endswith(" - <<'PY'")
    code, _, end = rest.rpartition("\n")
    assert end == "PY"
    ast.parse(code)
    assert 'API = "http://127.0.0.1:45678/api"' in code
    assert 'SUB = "sub-of-this-run"' in code
    assert not re.search(r'os\.environ(\.get\(|\[)"(API|SUB)"', code)
