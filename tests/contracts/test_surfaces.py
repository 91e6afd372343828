"""The fakes offer exactly the real adapters' public surface: same methods, same signatures.

Behaviour is held by the contract suites; this catches a method added to or changed on an
adapter before a service test can silently rely on a fake that lacks it.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from backup.adapters.compute import ComputeGateway
from backup.adapters.file_publisher import BlobFilePublisher
from backup.adapters.tables.store import VaultStore
from backup.ports import ArmGateway
from backup.ports import VaultStore as VaultStorePort
from tests.fakes.compute import FakeComputeGateway
from tests.fakes.file_publisher import FakeFilePublisher
from tests.fakes.vault_store import FakeVaultStore


def public_methods(cls: type) -> dict[str, Any]:
    """Public methods the class or its own bases declare (the store inherits its row families)."""
    ours = [base for base in cls.__mro__ if base.__module__.startswith(("backup.", "tests."))]
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and any(name in vars(base) for base in ours)
    }


def shape(function: Any) -> list[tuple[str, Any, Any, str]]:
    """Parameter names, kinds, defaults and annotations, and the return annotation."""
    signature = inspect.signature(function)
    parameters = [(p.name, p.kind, p.default, str(p.annotation)) for p in signature.parameters.values()]
    return [*parameters, ("return", None, None, str(signature.return_annotation))]


@pytest.mark.parametrize(
    ("real", "fake"),
    [
        (VaultStore, FakeVaultStore),
        (ComputeGateway, FakeComputeGateway),
        (BlobFilePublisher, FakeFilePublisher),
    ],
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


@pytest.mark.parametrize(
    ("port", "implementations"),
    [
        (VaultStorePort, (VaultStore, FakeVaultStore)),
        (ArmGateway, (ComputeGateway, FakeComputeGateway)),
    ],
)
def test_the_real_adapter_and_the_fake_both_offer_every_method_of_the_port(
    port: type, implementations: tuple[type, ...]
) -> None:
    wanted = public_methods(port)
    assert len(wanted) > 5  # the port really declares its surface
    for implementation in implementations:
        offered = public_methods(implementation)
        for name, method in wanted.items():
            assert name in offered, f"{implementation.__name__} lacks {name}"
            names = [p.name for p in inspect.signature(method).parameters.values()]
            assert [p.name for p in inspect.signature(offered[name]).parameters.values()] == names, name
