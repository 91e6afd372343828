"""Backup Center's ES modules type-check: TypeScript's ``tsc`` reads their JSDoc (``checkJs``,
strict) through ``jsconfig.json`` and must report nothing.

Needs Node and the pinned ``typescript`` of package.json (``npm ci``, which ``make test``
runs). Without Node the tests fail under CI (``CI=true``) and are skipped elsewhere; with Node
but without ``npm ci`` they fail and say so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT
from tests.tooling import missing_tool

pytestmark = pytest.mark.web

ASSETS = REPO_ROOT / "backup" / "web" / "assets"
CONFIG = REPO_ROOT / "jsconfig.json"
TSC = REPO_ROOT / "node_modules" / "typescript" / "bin" / "tsc"


def _missing(reason: str) -> None:
    missing_tool(f"The type check needs Node and TypeScript: {reason}")


def _tsc(project: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        _missing("Node is not installed (it runs tsc)")
    if not TSC.is_file():
        pytest.fail(f"{TSC.relative_to(REPO_ROOT)} is missing: run 'npm ci'", pytrace=False)
    return subprocess.run(
        [str(node), str(TSC), "--noEmit", "--pretty", "false", "-p", str(project)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_typescript_is_pinned() -> None:
    manifest = json.loads((REPO_ROOT / "package.json").read_text("utf-8"))
    version = manifest["devDependencies"]["typescript"]
    assert version[0].isdigit(), f"pin an exact version, not {version!r}"
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text("utf-8"))
    assert lock["packages"]["node_modules/typescript"]["version"] == version


def test_every_module_asks_for_the_check() -> None:
    modules = sorted(ASSETS.glob("*.js"))
    assert len(modules) > 10
    unchecked = [m.name for m in modules if not m.read_text("utf-8").startswith("// @ts-check\n")]
    assert unchecked == []


def test_the_modules_type_check_without_an_error() -> None:
    result = _tsc(CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_the_check_is_strict_and_reaches_every_module(tmp_path: Path) -> None:
    """The same configuration over a copy of the modules with two planted errors: a wrong type
    in one module and an untyped parameter (strict's noImplicitAny) in another. Both are found,
    so a passing check above means something."""
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS, copy)
    with (copy / "format.js").open("a", encoding="utf-8") as module:
        module.write('export const planted = plural("three", "job");\n')
    with (copy / "timeline.js").open("a", encoding="utf-8") as module:
        module.write("export const untyped = (point) => point;\n")
    config = json.loads(CONFIG.read_text("utf-8"))
    config["include"] = [str(copy / "*.js")]
    (tmp_path / "jsconfig.json").write_text(json.dumps(config), "utf-8")

    result = _tsc(tmp_path / "jsconfig.json")
    assert result.returncode != 0
    errors = sorted(
        (Path(line.split("(", 1)[0]).name, line.split(": error ", 1)[1].split(":", 1)[0])
        for line in result.stdout.splitlines()
        if ": error TS" in line
    )
    # "three" is not a number; 'point' implicitly has an 'any' type.
    assert errors == [("format.js", "TS2345"), ("timeline.js", "TS7006")], result.stdout
