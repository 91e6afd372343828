"""The fakes offer exactly the real adapters' public surface: same methods, same signatures.

Behaviour is held by the contract suites; this catches a method added to or changed on an
adapter before a service test can silently rely on a fake that lacks it.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from backup.adapters.compute import ComputeGateway
from backup.adapters.vault_store import VaultStore
from tests.fakes.compute import FakeComputeGateway
from tests.fakes.vault_store import FakeVaultStore


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and name in vars(cls)
    }


def shape(function: Any) -> list[tuple[str, Any, Any, str]]:
    """Parameter names, kinds, defaults and annotations, and the return annotation."""
    signature = inspect.signature(function)
    parameters = [(p.name, p.kind, p.default, str(p.annotation)) for p in signature.parameters.values()]
    return [*parameters, ("return", None, None, str(signature.return_annotation))]


@pytest.mark.parametrize(
    ("real", "fake"), [(VaultStore, FakeVaultStore), (ComputeGateway, FakeComputeGateway)]
)
def test_the_fake_has_every_public_method_with_the_same_signature(real: type, fake: type) -> None:
    ours = public_methods(fake)
    missing = sorted(set(public_methods(real)) - set(ours))
    assert missing == []
    for name, method in public_methods(real).items():
        expected = shape(method)
        if name == "for_identity":  # returns its own class
            expected[-1] = ("return", None, None, fake.__name__)
        assert shape(ours[name]) == expected, name
