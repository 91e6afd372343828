"""Keyset listings of backup instances: one vault's pages and the cross-vault view, walked while
instances come and go, serve each item that lived through the walk exactly once, in order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from backup.domain.instance import VaultRef
from backup.domain.instance_status import protection_status
from backup.domain.models import ProtectionState
from backup.domain.resource_ids import ComputeResourceId
from backup.services.protection.listing import (
    HEALTH_INDEX,
    STATUS_INDEX,
    IndexChoice,
    InstanceScope,
    ListedVault,
    Position,
)
from tests.fakes._types import DatasourceClaim, PlanState
from tests.service.conftest import SUB, VAULT, Env

VAULTS = [
    VaultRef(SUB, "rg-a", "vault-1"),
    VaultRef(SUB, "rg-a", "vault-2"),
    VaultRef(SUB, "rg-b", "vault-3"),
]


async def seed(env: Env, vault: VaultRef, names: list[str], **changes: object) -> None:
    for name in names:
        await env.protect(disk=f"{vault.name}-{name}", name=name, vault=vault, **changes)


async def test_a_vault_walk_during_adds_and_deletes_serves_each_survivor_once(env: Env) -> None:
    names = [f"bi-{n:03d}" for n in range(0, 40, 2)]
    await seed(env, VAULT, names)
    served: list[str] = []
    after: str | None = None
    added: list[str] = []
    while True:
        page, more = await env.protection.instances_page(VAULT, after=after, limit=3)
        served += [instance.name for instance in page]
        if not more:
            break
        after = page[-1].name.lower()
        # An instance behind the cursor and one ahead of it appear; one ahead disappears.
        odd = [f"bi-{n:03d}" for n in range(1, 40, 2) if f"bi-{n:03d}" not in added]
        behind = next((name for name in odd if name < after), None)
        ahead = next((name for name in odd if name > after), None)
        for name in (behind, ahead):
            if name is not None:
                await seed(env, VAULT, [name])
                added.append(name)
        later = [name for name in names if name > after and name not in served]
        if later:
            gone = later[-1]
            await env.store.delete_instance(await env.versioned(gone))
            names.remove(gone)

    assert len(served) == len(set(served))
    assert served == sorted(served)
    assert set(names) <= set(served)  # every instance that lived through the walk
    assert {name for name in added if name > "bi-000"} & set(served)  # some added ahead were seen


async def test_the_deleted_list_pages_only_soft_deleted_instances(env: Env) -> None:
    await seed(env, VAULT, ["a-live", "c-live"])
    await seed(env, VAULT, ["b-gone", "d-gone", "e-gone"], protection_state=ProtectionState.SOFT_DELETED)

    visible, _ = await env.protection.instances_page(VAULT, after=None, limit=10)
    # From the status index (no scan of the vault's instances), then as a vault from before it.
    env.store.fail_next("instances_page", AssertionError("scanned the instance rows"))
    first, more = await env.protection.instances_page(VAULT, after=None, limit=2, deleted=True)
    rest, more_after = await env.protection.instances_page(VAULT, after="d-gone", limit=2, deleted=True)
    never_scanned = env.store.clear_faults("instances_page")
    env.store.forget_instance_index(VAULT)
    env.store.fail_next("indexed_instances_page", AssertionError("read an incomplete index"))
    scanned, _ = await env.protection.instances_page(VAULT, after=None, limit=5, deleted=True)

    assert [i.name for i in visible] == ["a-live", "c-live"]
    assert ([i.name for i in first], more) == (["b-gone", "d-gone"], True)
    assert ([i.name for i in rest], more_after) == (["e-gone"], False)
    assert never_scanned == 1
    assert [i.name for i in scanned] == ["b-gone", "d-gone", "e-gone"]


async def walk(env: Env, vaults: list[ListedVault], limit: int) -> list[tuple[str, str]]:
    listing = env.protection.listing
    served: list[tuple[str, str]] = []
    after: Position | None = None
    while True:
        page = await listing.page(vaults, after=after, limit=limit)
        served += [(s.instance.vault.name, s.instance.name) for s in page.summaries]
        if page.next_position is None:
            return served
        after = Position.decode(page.next_position.encode())


async def test_the_cross_vault_walk_crosses_vaults_in_key_order_and_skips_soft_deleted(env: Env) -> None:
    for index, vault in enumerate(VAULTS):
        await env.store.register_vault(vault, {"location": "eastus", "id": vault.id})
        await seed(env, vault, [f"bi-{index}-{n}" for n in range(index * 3)])  # 0, 3 and 6 instances
    await seed(env, VAULTS[2], ["bi-gone"], protection_state=ProtectionState.SOFT_DELETED)
    await env.protect(disk="elsewhere", vault=VaultRef(SUB, "rg-c", "vault-4"))

    vaults = await env.protection.listing.vaults(InstanceScope(SUB, "rg-a"))
    everything = await env.protection.listing.vaults(InstanceScope(SUB))

    assert [v.key for v in vaults] == ["rg-a:vault-1", "rg-a:vault-2"]
    assert await walk(env, vaults, 2) == [("vault-2", f"bi-1-{n}") for n in range(3)]
    expected = [("vault-2", f"bi-1-{n}") for n in range(3)] + [("vault-3", f"bi-2-{n}") for n in range(6)]
    expected.append(("vault-4", "elsewhere-instance"))
    for limit in (1, 2, 3, 4, 100):
        served = await walk(env, everything, limit)
        assert served == expected


async def test_the_cross_vault_walk_during_adds_and_deletes_serves_each_survivor_once(env: Env) -> None:
    for vault in VAULTS:
        await seed(env, vault, [f"bi-{n:02d}" for n in range(0, 12, 2)])
    listing = env.protection.listing
    vaults = await listing.vaults(InstanceScope(SUB))
    survivors = {(v.name, f"bi-{n:02d}") for v in VAULTS for n in range(0, 12, 2)}
    served: list[tuple[str, str]] = []
    after: Position | None = None
    step = 0
    while True:
        page = await listing.page(vaults, after=after, limit=4)
        served += [(s.instance.vault.name, s.instance.name) for s in page.summaries]
        if page.next_position is None:
            break
        after = page.next_position
        step += 1
        vault = VAULTS[step % len(VAULTS)]
        await seed(env, vault, [f"bi-{step:02d}x"])
        doomed = (VAULTS[-1].name, f"bi-{10 - step:02d}")
        if doomed in survivors and doomed not in served:
            await env.store.delete_instance(await env.versioned(doomed[1], VAULTS[-1]))
            survivors.discard(doomed)

    assert len(served) == len(set(served))
    assert survivors <= set(served)


async def test_a_filter_reads_on_until_the_page_is_full(env: Env) -> None:
    await seed(env, VAULTS[0], [f"bi-{n:02d}" for n in range(10)])
    await seed(env, VAULTS[1], ["bi-stopped"], protection_state=ProtectionState.PROTECTION_STOPPED)
    listing = env.protection.listing
    vaults = await listing.vaults(InstanceScope(SUB))

    page = await listing.page(vaults, after=None, limit=5, matches=lambda s: s.health == "Inactive")

    assert [s.instance.name for s in page.summaries] == ["bi-stopped"]
    assert page.next_position is None


async def test_the_datasource_scope_answers_the_instance_protecting_the_disk(env: Env) -> None:
    env.advance(timedelta(minutes=1))
    instance = await env.protect(disk="the-disk")
    listing = env.protection.listing
    await env.store.put_datasource_claim(DatasourceClaim(instance.disk_id, VAULT, instance.name, env.now))
    disk = ComputeResourceId.parse(instance.disk_id, "disks", "scope")
    other = ComputeResourceId.parse(instance.disk_id.replace("the-disk", "no-disk"), "disks", "scope")

    found = await listing.for_datasource(InstanceScope(SUB, disk.resource_group, disk))
    missing = await listing.for_datasource(InstanceScope(SUB, other.resource_group, other))

    assert [s.instance.name for s in found] == [instance.name]
    assert missing == []


async def filtered(env: Env, vaults: list[ListedVault], index: IndexChoice, *, limit: int = 2) -> list[str]:
    listing = env.protection.listing
    served: list[str] = []
    after: Position | None = None
    while True:
        page = await listing.page(
            vaults,
            after=after,
            limit=limit,
            index=index,
            matches=lambda s: (
                s.health.casefold() == index.value.casefold()
                if index.field == HEALTH_INDEX
                else protection_status(s.instance.protection_state).casefold() == index.value.casefold()
            ),
        )
        served += [f"{s.instance.vault.name}/{s.instance.name}" for s in page.summaries]
        if page.next_position is None:
            return served
        after = page.next_position


async def test_filters_answer_alike_from_the_index_and_from_a_vault_not_yet_backfilled(env: Env) -> None:
    indexed, legacy = VAULTS[0], VAULTS[1]
    await env.store.register_vault(indexed, {"location": "eastus", "id": indexed.id})
    await env.store.register_vault(legacy, {"location": "eastus", "id": legacy.id})
    env.store.forget_instance_index(legacy)  # as a vault from before the index
    for vault in (indexed, legacy):
        for number in range(7):
            state = (
                ProtectionState.PROTECTION_STOPPED
                if number % 3 == 0
                else ProtectionState.PROTECTION_CONFIGURED
            )
            instance = replace(
                await env.protect(disk=f"{vault.name}-d{number}", name=f"bi-{number}", vault=vault),
                protection_state=state,
            )
            current = await env.versioned(instance.name, vault)
            if vault == legacy:
                await env.store.delete_instance(current)
                env.store.write_unindexed(
                    instance, PlanState(instance.name, instance.policy_document, active=True)
                )
            else:
                await env.store.update_instance(current, instance)
    vaults = await env.protection.listing.vaults(InstanceScope(SUB, "rg-a"))
    stopped = [f"{v.name}/bi-{n}" for v in (indexed, legacy) for n in (0, 3, 6)]
    healthy = [f"{v.name}/bi-{n}" for v in (indexed, legacy) for n in (1, 2, 4, 5)]

    assert not await env.store.instance_index_ready(legacy)
    assert await filtered(env, vaults, IndexChoice(STATUS_INDEX, "protectionstopped")) == stopped
    assert await filtered(env, vaults, IndexChoice(HEALTH_INDEX, "Healthy")) == healthy
    assert await env.store.backfill_instance_index(legacy) == 7
    # Once both vaults are indexed, a filtered page never scans a vault's instance rows.
    env.store.fail_next("instances_page", AssertionError("scanned the instance rows"))
    assert await filtered(env, vaults, IndexChoice(STATUS_INDEX, "protectionstopped")) == stopped
    assert await filtered(env, vaults, IndexChoice(HEALTH_INDEX, "Healthy"), limit=3) == healthy
    assert env.store.clear_faults("instances_page") == 1
