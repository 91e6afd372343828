"""A tool a test tier needs (Chromium, Node, checkov, ...) that is not installed.

On a developer's machine the tests that need it are skipped, saying what to install; in CI
(``CI`` set to anything but an explicit false) they fail, so that a missing install step
cannot hide behind a green run.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing_tool(reason: str) -> NoReturn:
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)
