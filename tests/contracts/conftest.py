"""Every contract test runs twice: on the in-memory fake and on the real adapter.

``adapter`` is ``"fake"`` or ``"real"``; the real runs talk to Azurite or the Compute emulator
(the session fixtures of ``tests/conftest.py``) and carry the ``integration`` marker, so
``-m "not integration"`` runs the fake half alone.
"""

from __future__ import annotations

import pytest

REAL = pytest.param("real", marks=pytest.mark.integration)


@pytest.fixture(params=["fake", REAL])
def adapter(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param
