"""Helpers the resource handlers share: loading the parent vault. (Bodies are checked by their
shapes, :mod:`backup.shapes`.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.api.router import RequestContext
from backup.domain.access import Scope
from backup.domain.instance import VaultRef, vault_of_document
from backup.domain.records import Versioned
from backup.errors import NotFoundError


async def load_vault(ctx: RequestContext) -> tuple[VaultRef, Versioned[Mapping[str, Any]]]:
    """The vault named in the path, spelled as stored, or 404 ``ResourceNotFound``."""
    requested = ctx.vault
    stored = await ctx.api.store.get_vault(requested)
    if stored is None:
        raise vault_not_found(requested)
    return stored_vault_ref(stored.value, requested), stored


def stored_vault_ref(document: Mapping[str, Any], fallback: VaultRef) -> VaultRef:
    """The vault as its stored document spells it (names are case-insensitive in requests)."""
    return vault_of_document(document) or fallback


def vault_not_found(vault: VaultRef) -> NotFoundError:
    return NotFoundError(
        f"The Resource 'Microsoft.DataProtection/backupVaults/{vault.name}' under resource group "
        f"'{vault.resource_group}' was not found.",
        code="ResourceNotFound",
        target="vaultName",
    )


async def visible_vault_documents(
    ctx: RequestContext, subscription_id: str, resource_group: str | None = None
) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
    """The vault documents of a subscription (or a resource group) the caller may see, as
    ``(registry row key, document)`` in key order, reading only what its grants reach
    (:meth:`backup.domain.access.Access.listing_plan`)."""
    store = ctx.api.store
    plan = ctx.access.listing_plan(Scope(subscription_id, resource_group))
    if plan.whole:
        return await store.list_vault_documents(subscription_id, resource_group)
    rows: dict[str, Versioned[Mapping[str, Any]]] = {}
    for group in plan.groups:
        rows.update(await store.list_vault_documents(subscription_id, group))
    for group, name in plan.vaults:
        found = await store.get_vault(VaultRef(subscription_id, group, name))
        if found is not None:
            rows[f"{group}:{name}"] = found  # the registry's RowKey, lower case
    return sorted(rows.items(), key=lambda row: row[0])
