"""The resource-guard rows' contract (multi-user authorization), held by the fake and by the real
adapter on Azurite: guard records round-trip, refuse a second create and a stale ETag, list by
key and narrow to a resource group; approvals replace the same principal's earlier one and go
with their guard; a vault's link to a guard is one row that refuses a second link and a stale
delete, and goes with its vault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.domain.guards import GuardApproval, GuardRef
from backup.domain.instance import VaultRef
from backup.errors import ConcurrencyError, ConflictError

T0 = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
STALE = "W/\"datetime'2020-01-01T00%3A00%3A00Z'\""


def record(name: str, holder: str = "admin@contoso.com") -> dict[str, Any]:
    return {
        "resource": {"name": name, "properties": {"vaultCriticalOperationExclusionList": []}},
        "holders": [holder],
    }


async def test_a_guard_round_trips_and_refuses_a_second_create_and_a_stale_etag(
    store: Any, subscription: str
) -> None:
    guard = GuardRef(subscription, "rg-sec", "Guard")
    etag = await store.put_resource_guard(guard, record("Guard"))
    found = await store.get_resource_guard(GuardRef(subscription, "RG-SEC", "guard"))
    assert found is not None
    assert (found.value, found.etag) == (record("Guard"), etag)
    with pytest.raises(ConflictError) as twice:
        await store.put_resource_guard(guard, record("again"))
    assert not isinstance(twice.value, ConcurrencyError)
    newer = await store.put_resource_guard(guard, record("Guard", "other@contoso.com"), etag)
    assert newer != etag
    with pytest.raises(ConcurrencyError):
        await store.put_resource_guard(guard, record("lost"), etag)
    found = await store.get_resource_guard(guard)
    assert found is not None
    assert found.value["holders"] == ["other@contoso.com"]
    assert await store.get_resource_guard(GuardRef(subscription, "rg-sec", "never-made")) is None


async def test_guard_listings_are_by_key_and_narrow_to_a_resource_group(
    store: Any, subscription: str
) -> None:
    for group, name in [("rg-b", "g2"), ("rg-a", "g9"), ("rg-a", "g1"), ("rg-ab", "g0")]:
        await store.put_resource_guard(GuardRef(subscription, group, name), record(f"{group}/{name}"))
    every = await store.list_resource_guards(subscription)
    assert [found.value["resource"]["name"] for _, found in every] == [
        "rg-a/g1",
        "rg-a/g9",
        "rg-ab/g0",
        "rg-b/g2",
    ]
    in_a = await store.list_resource_guards(subscription, "RG-A")
    assert [found.value["resource"]["name"] for _, found in in_a] == ["rg-a/g1", "rg-a/g9"]
    assert await store.list_resource_guards(subscription, "rg-none") == []


async def test_approvals_replace_the_same_principals_and_go_with_their_guard(
    store: Any, subscription: str
) -> None:
    guard = GuardRef(subscription, "rg-sec", "guard")
    other = GuardRef(subscription, "rg-sec", "guard-2")
    etag = await store.put_resource_guard(guard, record("guard"))
    await store.put_resource_guard(other, record("guard-2"))
    first = GuardApproval("operator@contoso.com", "admin@contoso.com", T0, T0 + timedelta(hours=1))
    renewed = GuardApproval(
        "OPERATOR@contoso.com", "admin@contoso.com", T0 + timedelta(hours=2), T0 + timedelta(hours=3)
    )
    another = GuardApproval("second@contoso.com", "admin@contoso.com", T0, T0 + timedelta(minutes=5))
    await store.put_guard_approval(guard, first)
    await store.put_guard_approval(guard, renewed)
    await store.put_guard_approval(guard, another)
    await store.put_guard_approval(other, first)
    approvals = await store.list_guard_approvals(guard)
    assert sorted(approvals, key=lambda a: a.principal) == sorted(
        [renewed, another], key=lambda a: a.principal
    )
    assert await store.list_guard_approvals(other) == [first]

    with pytest.raises(ConcurrencyError):
        await store.delete_resource_guard(guard, STALE)
    await store.delete_resource_guard(guard, etag)
    assert await store.get_resource_guard(guard) is None
    assert await store.list_guard_approvals(guard) == []
    assert await store.list_guard_approvals(other) == [first]


async def test_a_vault_has_one_link_to_a_guard_and_loses_it_with_the_vault(
    store: Any, vault: VaultRef
) -> None:
    vault_etag = await store.register_vault(vault, {"location": "eastus"})
    link = {"name": "DppResourceGuardProxy", "properties": {"resourceGuardResourceId": "/subscriptions/x/g"}}
    assert await store.get_guard_proxy(vault) is None
    etag = await store.put_guard_proxy(vault, link)
    found = await store.get_guard_proxy(vault)
    assert found is not None
    assert (found.value, found.etag) == (link, etag)
    with pytest.raises(ConflictError):
        await store.put_guard_proxy(vault, {**link, "name": "second"})
    with pytest.raises(ConcurrencyError):
        await store.delete_guard_proxy(vault, STALE)
    await store.delete_guard_proxy(vault, etag)
    assert await store.get_guard_proxy(vault) is None

    await store.put_guard_proxy(vault, link)
    await store.delete_vault(vault, vault_etag)
    assert await store.get_guard_proxy(vault) is None
