"""Where the offline infra checks find their tools, and what happens when one is missing.

pycep-parser (checkov's pinned Bicep parser), PyYAML and jsonschema are imported in-process from
the project venv. checkov itself pins ``packaging<24`` and so cannot share a venv with pytest 9;
it lives in its own venv, ``.venv-infra`` at the repo root (``CHECKOV=/path/to/checkov`` overrides).

A missing tool skips the tests that need it on a developer's machine and fails them in CI
(``CI`` set), so that a missing install step cannot hide behind a green run.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from tests.tooling import missing_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"

# The version checkov 3.3.30 pins (``pycep-parser==0.5.1``); the parser checkov really runs.
PYCEP_VERSION = "0.5.1"
CHECKOV_VERSION = "3.3.30"


def require_module(name: str, install_hint: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing_tool(f"python module {name!r} is not installed: {install_hint}")


def checkov_executable() -> Path:
    configured = os.environ.get("CHECKOV")
    candidate = Path(configured) if configured else REPO_ROOT / ".venv-infra" / "bin" / "checkov"
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        missing_tool(
            f"checkov not found at {candidate}: create the infra venv "
            f"(python3.11 -m venv .venv-infra && .venv-infra/bin/pip install checkov=={CHECKOV_VERSION}) "
            "or set CHECKOV to a checkov executable"
        )
    return candidate
