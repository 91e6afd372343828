"""Fixtures shared by every test layer: the local services on free ports on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localdev.azurite import Azurite, AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer

# Tests must be fast and deterministic: no waits between polls, small pages so paging is
# exercised, and throttling that answers at once. Each test seeds the state it needs.
EMULATOR_TEST_CONFIG: dict[str, Any] = {
    "retryAfterAcceptedSeconds": 0,
    "retryAfterPollSeconds": 0,
    "pageSize": 3,
    "lroDurationSeconds": 0,
    "backgroundCopySeconds": 60,
    "throttle": {"minRetryAfterSeconds": 0},
}


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    """A fresh Azurite (blob, queue, table) for the whole session, stopped afterwards."""
    with Azurite() as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def compute_emulator() -> Iterator[EmulatorServer]:
    """The ARM Compute emulator, in-process over HTTPS, for the whole session.

    It starts empty; tests reset it to their own seed through its admin API.
    """
    with EmulatorServer(None, port=0, config=EMULATOR_TEST_CONFIG) as server:
        yield server
