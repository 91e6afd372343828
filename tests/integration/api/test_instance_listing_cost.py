"""What a page of the cross-vault instance list reads on Azurite, in table rows (``RowsRead``,
registry rows included): the vaults in scope plus about one page of instance rows, wherever the
page starts and however many instances the vaults hold."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from backup.adapters.storage import StorageClients
from backup.adapters.tables.base import RowsRead
from backup.adapters.tables.store import VaultStore
from backup.config import Settings
from backup.domain.clock import ManualClock
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from backup.services.policies import PolicyCache
from backup.services.protection.listing import (
    HEALTH_INDEX,
    IndexChoice,
    InstanceListing,
    InstanceScope,
    Position,
)
from localdev.azurite import AzuriteEndpoints
from tests.integration.api.conftest import DEFAULT_POLICY, T0

pytestmark = pytest.mark.integration

PAGE = 3


@pytest.fixture
async def store(azurite: AzuriteEndpoints) -> AsyncIterator[VaultStore]:
    clients = StorageClients(Settings(storage_connection_string=azurite.connection_string))
    yield VaultStore(clients)
    await clients.close()


async def estate(store: VaultStore, per_vault: int) -> tuple[InstanceListing, InstanceScope]:
    subscription = str(uuid.uuid4())
    for vault in (VaultRef(subscription, "rg-a", "vault-1"), VaultRef(subscription, "rg-b", "vault-2")):
        await store.register_vault(vault, {"location": "eastus", "id": vault.id})
        for number in range(per_vault):
            instance = BackupInstance(
                vault=vault,
                name=f"bi-{number:03d}",
                disk_id=f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Compute/disks/d{number}",
                disk_location="eastus",
                policy_name="p1",
                policy_document=DEFAULT_POLICY,
                snapshot_resource_group_id=f"/subscriptions/{subscription}/resourceGroups/rg-snaps",
                protection_state=ProtectionState.PROTECTION_CONFIGURED,
            )
            await store.create_instance(instance, PlanState(instance.name, DEFAULT_POLICY, active=True))
    return InstanceListing(store, ManualClock(T0), PolicyCache()), InstanceScope(subscription)


async def rows_for_page(listing: InstanceListing, scope: InstanceScope, after: Position | None) -> int:
    before = RowsRead.count
    page = await listing.page(await listing.vaults(scope), after=after, limit=PAGE)
    assert len(page.summaries) == PAGE
    return RowsRead.count - before


async def test_a_page_reads_the_vaults_and_one_page_of_rows_whatever_the_estate(store: VaultStore) -> None:
    small_listing, small = await estate(store, 4)
    large_listing, large = await estate(store, 16)
    # Two registry rows, the page, the row that says another page follows and the one after it
    # (a vault's range reads one row past what it hands over, to know whether it has more).
    bound = 2 + PAGE + 2

    assert await rows_for_page(small_listing, small, None) <= bound
    assert await rows_for_page(large_listing, large, None) <= bound
    assert await rows_for_page(large_listing, large, Position("rg-a:vault-1", "bi-010")) <= bound
    # Crossing from the first vault into the second reads the rest of one and the start of the other.
    assert await rows_for_page(large_listing, large, Position("rg-a:vault-1", "bi-014")) <= bound + 2


async def test_registry_rows_are_counted(store: VaultStore) -> None:
    listing, scope = await estate(store, 0)
    before = RowsRead.count

    vaults = await listing.vaults(scope)

    assert RowsRead.count - before == len(vaults) == 2


async def test_a_filtered_page_reads_the_matches_not_the_vaults(store: VaultStore) -> None:
    listing, scope = await estate(store, 16)
    vaults = await listing.vaults(scope)
    for listed in vaults:
        current = await store.get_instance(listed.vault, "bi-007")
        assert current is not None
        await store.update_instance(
            current, current.value.with_protection_state(ProtectionState.PROTECTION_STOPPED)
        )
    before = RowsRead.count

    page = await listing.page(vaults, after=None, limit=PAGE, index=IndexChoice(HEALTH_INDEX, "Inactive"))

    assert [s.instance.name for s in page.summaries] == ["bi-007", "bi-007"]
    # Per vault: its index marker, its one index row, the instance it names. No instance range.
    assert RowsRead.count - before == 3 * len(vaults)
