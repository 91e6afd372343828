"""A vault's scope limits (``l|scopes``), held to one contract by the fake and by the real adapter
on Azurite: none until set, a whole round trip, the newest write wins, gone with the vault."""

from __future__ import annotations

from typing import Any

from backup.domain.access import Scope
from backup.domain.instance import VaultRef
from backup.domain.vault_limits import VaultLimits


async def test_limits_are_none_until_set_and_round_trip_whole(store: Any, vault: VaultRef) -> None:
    assert await store.get_vault_limits(vault) is None
    group = Scope(vault.subscription_id, "rg-workload")
    limits = VaultLimits(datasource_scopes=(group, Scope(vault.subscription_id)), restore_target_scopes=())
    await store.put_vault_limits(vault, limits)
    assert await store.get_vault_limits(vault) == limits
    only_restores = VaultLimits(restore_target_scopes=(group,))
    await store.put_vault_limits(vault, only_restores)
    assert await store.get_vault_limits(vault) == only_restores


async def test_limits_go_with_their_vault(store: Any, vault: VaultRef) -> None:
    etag = await store.register_vault(vault, {"id": vault.id, "location": "eastus"})
    await store.put_vault_limits(vault, VaultLimits(datasource_scopes=()))
    await store.delete_vault(vault, etag)
    assert await store.get_vault_limits(vault) is None
