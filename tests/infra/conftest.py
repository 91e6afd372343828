"""Fixtures of the offline infra checks: the Bicep files, their pycep parse, one checkov run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra._tools import INFRA_DIR, PYCEP_VERSION, REPO_ROOT, checkov_executable, require_module


@pytest.fixture(scope="session")
def bicep_files() -> list[Path]:
    files = sorted(INFRA_DIR.rglob("*.bicep"))
    assert files, f"no .bicep files under {INFRA_DIR}"
    return files


@pytest.fixture(scope="session")
def bicep_parser() -> Any:
    pycep = require_module("pycep", f"add pycep-parser=={PYCEP_VERSION} to requirements-dev.txt")
    from importlib.metadata import version

    assert version("pycep-parser") == PYCEP_VERSION, "test with the parser version checkov pins"
    return pycep.BicepParser()


@pytest.fixture(scope="session")
def parse_results(bicep_files: list[Path], bicep_parser: Any) -> dict[Path, dict[str, Any] | Exception]:
    results: dict[Path, dict[str, Any] | Exception] = {}
    for path in bicep_files:
        try:
            results[path] = bicep_parser.parse(file_path=path)
        except Exception as error:  # pycep raises lark's exceptions and ValueError
            results[path] = error
    return results


@pytest.fixture(scope="session")
def bicep(parse_results: dict[Path, dict[str, Any] | Exception]) -> dict[str, dict[str, Any]]:
    """Parsed Bicep by path relative to infra/ (``app/function.bicep``); fails if any file does not parse."""
    errors = {path: error for path, error in parse_results.items() if isinstance(error, Exception)}
    if errors:
        pytest.fail(
            "pycep cannot parse: " + "; ".join(f"{p.relative_to(REPO_ROOT)}: {e}" for p, e in errors.items())
        )
    return {path.relative_to(INFRA_DIR).as_posix(): tree for path, tree in parse_results.items()}  # type: ignore[misc]


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """checkov's JSON report over infra/, run once per session."""
    checkov = checkov_executable()
    # checkov writes caches and a .checkov folder into the working directory: keep them out of the repo.
    workdir = tmp_path_factory.mktemp("checkov")
    completed = subprocess.run(
        [
            str(checkov),
            "--framework",
            "bicep",
            "--skip-download",
            "--compact",
            "--output",
            "json",
            "--directory",
            str(INFRA_DIR),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit 0: all passed; 1: a check failed. Anything else is a crash.
    assert completed.returncode in (0, 1), (
        f"checkov exited {completed.returncode}: {completed.stderr[-3000:]}"
    )
    report = json.loads(completed.stdout)
    if isinstance(report, list):  # one report per framework; only bicep was asked for
        (report,) = report
    report["stderr"] = completed.stderr
    return report  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def telemetry_contract() -> dict[str, Any]:
    contract: dict[str, Any] = json.loads((INFRA_DIR / "telemetry-contract.json").read_text())
    return contract
