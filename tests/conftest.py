"""Fixtures shared by every test layer: the local services on free ports on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localdev.azurite import Azurite, AzuriteEndpoints


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    """A fresh Azurite (blob, queue, table) for the whole session, stopped afterwards."""
    with Azurite() as endpoints:
        yield endpoints
