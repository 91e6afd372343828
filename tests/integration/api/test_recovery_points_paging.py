"""Keyset paging of an instance's recovery points through the router against Azurite: a walk
serves every point once while points come and go, ``$filter`` windows hold across pages, and a
``$skipToken`` the API did not issue is a 400 that changes nothing."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote

import pytest
from azure.data.tables.aio import TableClient

from backup.adapters.tables import codecs, keys
from backup.adapters.tables.base import RowsRead
from backup.domain.instance import VaultRef
from backup.domain.models import RecoveryPoint, RetentionTag
from backup.domain.snapshots import recovery_point_id
from backup.names import VAULT_DATA_TABLE
from localdev.azurite import AzuriteEndpoints
from tests.integration.api.conftest import SUB, T0, Api, vault_path
from tests.integration.api.test_vaults_and_policies import add_instance, create_vault

pytestmark = pytest.mark.integration

INSTANCE = "disk-p-instance"


def point_at(slot: datetime, created_after: timedelta = timedelta(minutes=1)) -> RecoveryPoint:
    point_id = recovery_point_id(INSTANCE, slot)
    return RecoveryPoint(
        id=point_id,
        instance=INSTANCE,
        slot=slot,
        created_at=slot + created_after,
        retention_tag=RetentionTag.DEFAULT,
        earned_tags=frozenset({RetentionTag.DEFAULT}),
        expires_at=slot + timedelta(days=7),
        snapshot_id=f"/subscriptions/{SUB}/resourceGroups/rg-snaps/providers/Microsoft.Compute/snapshots/{point_id}",
    )


async def add_points(api: Api, vault: VaultRef, *slots: datetime) -> list[RecoveryPoint]:
    """A recovery point per slot, written as the worker writes one (no job: none is listed here)."""
    store = api.context.store
    added = []
    for slot in slots:
        current = await store.get_instance(vault, INSTANCE)
        assert current is not None
        point = point_at(slot)
        updated = current.value.after_snapshot(
            point.created_at, earned=point.earned_tags, on_demand=False, slot=slot
        )
        await store.recover_point(current, updated, point)
        added.append(point)
    return added


async def with_points(api: Api, vault: VaultRef, count: int) -> list[RecoveryPoint]:
    await create_vault(api, vault)
    await add_instance(api, vault, INSTANCE)
    return await add_points(api, vault, *(T0 + timedelta(hours=4 * index) for index in range(count)))


def points_path(vault: VaultRef) -> str:
    return vault_path(vault) + f"/backupInstances/{INSTANCE}/recoveryPoints"


def next_query(body: dict[str, object]) -> str | None:
    """The query of ``nextLink`` without its api-version (the test client adds its own)."""
    link = body.get("nextLink")
    if link is None:
        return None
    assert isinstance(link, str)
    query = link.split("?", 1)[1]
    return "&".join(part for part in query.split("&") if not part.startswith("api-version="))


async def test_a_walk_serves_each_point_once_while_points_are_added_and_deleted(
    api: Api, vault: VaultRef
) -> None:
    seeded = await with_points(api, vault, 12)  # oldest first; the API pages 3 at a time
    store = api.context.store
    served: list[str] = []
    deleted_unserved: set[str] = set()
    added_ahead: set[str] = set()
    query: str | None = ""
    newer = T0 + timedelta(days=30)
    older = T0 - timedelta(days=1)
    pages = 0
    known = {point.id: point for point in seeded}
    while query is not None:
        answer = await api.call("GET", points_path(vault), query=query)
        assert answer.status == 200
        assert len(answer.body["value"]) <= 3
        served.extend(item["name"] for item in answer.body["value"])
        query = next_query(answer.body)
        pages += 1
        if query is None:
            break
        # Between pages: a newer point (before the cursor: not in this walk), an older one (ahead
        # of it: served once), the newest point not yet served deleted (never served) and a
        # point already served deleted (served once, before).
        newer += timedelta(hours=1)
        older -= timedelta(hours=1)
        [behind, ahead] = await add_points(api, vault, newer, older)
        added_ahead.add(ahead.id)
        known.update({behind.id: behind, ahead.id: ahead})
        unserved = [
            point for point in reversed(seeded) if point.id not in served and point.id not in deleted_unserved
        ]
        if len(unserved) > 1:
            await store.delete_recovery_points(vault, [unserved[0]])
            deleted_unserved.add(unserved[0].id)
        await store.delete_recovery_points(vault, [known[served[-1]]])

    assert len(served) == len(set(served))
    untouched = [point.id for point in reversed(seeded) if point.id not in deleted_unserved]
    assert [point_id for point_id in served if point_id in untouched] == untouched
    assert added_ahead <= set(served)
    assert deleted_unserved.isdisjoint(served)
    assert served == sorted(served)  # newest first: ids sort that way
    assert pages >= 5


async def test_a_filter_window_holds_across_pages_and_rides_in_next_link(api: Api, vault: VaultRef) -> None:
    seeded = await with_points(api, vault, 12)  # created at T0 + 4h·k + 1 min
    start, end = T0 + timedelta(hours=8, minutes=1), T0 + timedelta(hours=36, minutes=1)
    windows = {
        f"startDate ge '{start:%Y-%m-%dT%H:%M:%SZ}' and endDate le '{end:%Y-%m-%dT%H:%M:%SZ}'": (
            start,
            end,
            False,
        ),
        f"startDate gt '{start:%Y-%m-%dT%H:%M:%SZ}' and endDate lt '{end:%Y-%m-%dT%H:%M:%SZ}'": (
            start,
            end,
            True,
        ),
        f"startDate eq '{start:%Y-%m-%dT%H:%M:%S}'": (start, None, False),
        f"endDate eq '{end:%Y-%m-%dT%H:%M:%S}Z'": (None, end, False),
    }
    for text, (low, high, strict) in windows.items():
        expected = [
            point.id
            for point in reversed(seeded)
            if (low is None or point.created_at > low or (not strict and point.created_at == low))
            and (high is None or point.created_at < high or (not strict and point.created_at == high))
        ]
        listed: list[str] = []
        query: str | None = "$filter=" + quote(text)
        while query is not None:
            answer = await api.call("GET", points_path(vault), query=query)
            assert answer.status == 200, answer.body
            listed.extend(item["name"] for item in answer.body["value"])
            query = next_query(answer.body)
            if query is not None:
                assert parse_qs(query)["$filter"] == [text]
        assert listed == expected, text
        assert len(listed) > 3 or text.startswith("startDate gt")  # the windows span pages


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "bad",
    [
        "%21%21%21",  # not base64 at all
        token("hello"),
        token("F" * 32),  # an id, but not as this API writes one
        token("0" * 31),
        token("r|disk-p-instance|" + "0" * 32),  # a whole key, not an id
        token("' or RowKey ne '"),
        quote(base64.urlsafe_b64encode(b"\xff\xfe").decode()),  # not UTF-8
    ],
)
async def test_a_skip_token_the_api_did_not_issue_is_a_400_that_changes_nothing(
    api: Api, vault: VaultRef, bad: str
) -> None:
    await with_points(api, vault, 2)
    before = await api.rows(vault)
    answer = await api.call("GET", points_path(vault), query="$skipToken=" + bad)
    assert (answer.status, answer.code) == (400, "InvalidQueryParameterValue")
    assert answer.body["error"]["target"] == "$skipToken"
    assert await api.rows(vault) == before


async def test_a_token_naming_a_point_since_deleted_still_resumes_after_it(api: Api, vault: VaultRef) -> None:
    seeded = list(reversed(await with_points(api, vault, 5)))
    first = await api.call("GET", points_path(vault))
    query = next_query(first.body)
    assert query is not None
    await api.context.store.delete_recovery_points(vault, [seeded[2]])
    rest = await api.call("GET", points_path(vault), query=query)
    assert [item["name"] for item in rest.body["value"]] == [seeded[3].id, seeded[4].id]
    assert "nextLink" not in rest.body


async def test_a_missing_vault_answers_before_a_missing_instance(api: Api, vault: VaultRef) -> None:
    no_vault = await api.call("GET", points_path(vault))
    assert (no_vault.status, no_vault.code, no_vault.body["error"]["target"]) == (
        404,
        "ResourceNotFound",
        "vaultName",
    )
    await create_vault(api, vault)
    no_instance = await api.call("GET", points_path(vault))
    assert (no_instance.status, no_instance.body["error"]["target"]) == (404, "backupInstanceName")
    await add_instance(api, vault, INSTANCE)
    empty = await api.call("GET", points_path(vault))
    assert (empty.status, empty.body) == (200, {"value": []})


async def test_points_name_the_policy_they_were_recorded_under_and_a_full_page_reads_no_instance(
    api: Api, vault: VaultRef, azurite: AzuriteEndpoints
) -> None:
    recorded = await with_points(api, vault, 4)  # recorded while the instance is under p1
    store = api.context.store
    current = await store.get_instance(vault, INSTANCE)
    assert current is not None
    await store.update_instance(current, replace(current.value, policy_name="p2"))

    before = RowsRead.count
    page = await api.call("GET", points_path(vault))
    # The vault's registry row, the page's 3 points and the one that says more follow: the
    # instance is not read.
    assert RowsRead.count - before == 1 + 3 + 1
    assert [item["properties"]["policyName"] for item in page.body["value"]] == ["p1", "p1", "p1"]

    # A point stored before points recorded their policy shows the instance's.
    older = point_at(T0 - timedelta(hours=4))
    partition = keys.vault_partition(vault.subscription_id, vault.resource_group, vault.name)
    row = {**codecs.recovery_point_entity(older, None), "PartitionKey": partition}
    assert "PolicyName" not in row
    async with TableClient.from_connection_string(azurite.connection_string, VAULT_DATA_TABLE) as table:
        await table.create_entity(row)
    query = next_query(page.body)
    assert query is not None
    last = await api.call("GET", points_path(vault), query=query)
    assert [(item["name"], item["properties"]["policyName"]) for item in last.body["value"]] == [
        (recorded[0].id, "p1"),
        (older.id, "p2"),
    ]
