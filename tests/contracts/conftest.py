"""Every contract test runs twice: on the in-memory fake and on the real adapter.

``store`` is the vault store under test (the fake, or the real adapter on Azurite), ``vault`` a
fresh vault of a fresh ``subscription``.

``adapter`` is ``"fake"`` or ``"real"``; the real runs talk to Azurite or the Compute emulator
(the session fixtures of ``tests/conftest.py``) and carry the ``integration`` marker, so
``-m "not integration"`` runs the fake half alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backup.adapters.storage import StorageClients
from backup.adapters.tables.store import VaultStore
from backup.config import Settings
from backup.domain.instance import VaultRef
from tests.fakes.vault_store import FakeVaultStore

REAL = pytest.param("real", marks=pytest.mark.integration)


@pytest.fixture(params=["fake", REAL])
def adapter(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest.fixture
async def store(adapter: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if adapter == "fake":
        yield FakeVaultStore()
        return
    azurite = request.getfixturevalue("azurite")
    clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
    yield VaultStore(clients)
    await clients.close()


@pytest.fixture
def subscription() -> str:
    # Azurite is shared by the session: a fresh subscription and vault keep each test's rows apart.
    return str(uuid.uuid4())


@pytest.fixture
def vault(subscription: str) -> VaultRef:
    return VaultRef(subscription, "rg-backup", "vault-" + uuid.uuid4().hex[:8])
