"""The layers hold: services and the API depend on ports, never on adapters or the composition root.

Read from the source (``ast``), so a new import that breaks the rule fails here, whatever it is
for. Only ``backup/bootstrap.py`` knows the adapters behind the ports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKUP = Path(__file__).resolve().parents[2] / "backup"

SHARED_SERVICE_MODULES = frozenset(
    {
        "messages",
        "policies",
        "snapshot_deletion",
        "etag_retry",
        "serial",
        "slot_accounting",
        "critical_operations",
    }
)
"""Service-layer modules with one shared job each (a message format, the policy cache, deleting
a recovery point's snapshot, retrying a write that lost an ETag race, queueing requests for one
key within a worker, recording a missed slot, asking a vault's resource guard whether a critical
operation is approved); any service may import them."""

COMPOSED_USE_CASES = {"maintenance": frozenset({"retention", "protection", "reconcile"})}
"""A use case made of other services: it takes them in its constructor (the root builds them)."""


def imported_modules(path: Path, package: tuple[str, ...] | None = None) -> set[str]:
    """Absolute names of what ``path`` imports; relative imports are resolved against ``package``
    (by default the module's own package), so ``from ..adapters import x`` counts too."""
    if package is None:
        package = path.relative_to(BACKUP.parent).parent.parts
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, *([node.module] if node.module else [])))
            if module:
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules_under(folder: str) -> list[Path]:
    return sorted((BACKUP / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules_under("services") + modules_under("api"), ids=str)
def test_services_and_api_import_no_adapter_and_no_composition_root(path: Path) -> None:
    forbidden = {
        name
        for name in imported_modules(path)
        if name == "backup.adapters"
        or name.startswith("backup.adapters.")
        or name == "backup.bootstrap"
        or name.startswith("backup.bootstrap.")
        or name == "backup.entrypoints"
        or name.startswith("backup.entrypoints.")
    }
    assert not forbidden, (
        f"{path.relative_to(BACKUP.parent)} imports {sorted(forbidden)}: depend on backup.ports"
    )


def service_of(path: Path) -> str:
    """The service a module belongs to: its own name, or its package's for a module of a service
    package (``services/restore/worker.py`` is part of ``restore``), whose modules may import
    each other."""
    return path.relative_to(BACKUP / "services").parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", modules_under("services"), ids=str)
def test_no_service_borrows_from_another_services_module(path: Path) -> None:
    own = service_of(path)
    allowed = SHARED_SERVICE_MODULES | COMPOSED_USE_CASES.get(own, frozenset()) | {own}
    borrowed = {
        name.split(".")[2]
        for name in imported_modules(path)
        if name.startswith("backup.services.") and name.split(".")[2] not in allowed
    }
    assert not borrowed, (
        f"{path.relative_to(BACKUP.parent)} imports from the services {sorted(borrowed)}: "
        "move what is shared to backup.domain or to a shared module with one job"
    )


def test_the_domain_imports_no_outer_layer() -> None:
    # backup.shapes too: the domain states what it needs of a parsed request as a Protocol
    # (e.g. restore's SettingsOverrides), so it stays free of msgspec.
    outer = (
        "backup.adapters",
        "backup.services",
        "backup.api",
        "backup.bootstrap",
        "backup.entrypoints",
        "backup.shapes",
        "backup.ports",
        "backup.telemetry",
        "azure",
        "msgspec",
    )
    for path in modules_under("domain"):
        bad = {name for name in imported_modules(path) if name.startswith(outer)}
        assert not bad, f"{path.relative_to(BACKUP.parent)} imports {sorted(bad)}"


def test_a_service_packages_modules_belong_to_that_service() -> None:
    services = BACKUP / "services"
    assert service_of(services / "restore" / "worker.py") == "restore"
    assert service_of(services / "protection" / "__init__.py") == "protection"
    assert service_of(services / "maintenance.py") == "maintenance"


def test_the_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from backup.adapters.vault_store import VaultStore\nimport backup.bootstrap\n"
        "from ...adapters import tables\nfrom .. import retention\n"
    )
    seen = imported_modules(sample, package=("backup", "services", "restore"))
    assert {"backup.adapters.vault_store", "backup.bootstrap", "backup.adapters.tables"} <= seen
    assert "backup.services.retention" in seen


# What each inner layer outside the domain must not reach (README, "How the pieces fit").
OUTWARD = {
    "shapes": (
        "backup.adapters",
        "backup.services",
        "backup.api",
        "backup.bootstrap",
        "backup.entrypoints",
        "backup.ports",
        "backup.telemetry",
        "azure",
    ),
    "ports.py": (
        "backup.adapters",
        "backup.services",
        "backup.api",
        "backup.bootstrap",
        "backup.entrypoints",
        "azure.data",
        "azure.storage",
        "azure.mgmt",
    ),
    "adapters": ("backup.services", "backup.api", "backup.bootstrap", "backup.entrypoints"),
}


@pytest.mark.parametrize("layer", sorted(OUTWARD))
def test_shapes_ports_and_adapters_import_no_layer_outside_them(layer: str) -> None:
    paths = [BACKUP / layer] if layer.endswith(".py") else modules_under(layer)
    assert paths, layer
    for path in paths:
        bad = {name for name in imported_modules(path) if name.startswith(OUTWARD[layer])}
        assert not bad, f"{path.relative_to(BACKUP.parent)} imports {sorted(bad)}"
