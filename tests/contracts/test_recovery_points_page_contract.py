"""``recovery_points_page``, the keyset page behind the recovery points list, held by the
in-memory fake and by the real adapter on Azurite: pages newest first, strictly after the last
id served, an exact ``more``, creation-time windows checked exactly (also for a point created
well after the time its id carries), and rows an older version marked deleted in place skipped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backup.domain.instance import VaultRef
from backup.domain.models import RecoveryPoint
from tests.contracts.test_vault_store_contract import (
    T0,
    backed_up,
    created,
    make_instance,
    mark_deleted_in_place,
)


async def seeded(store: Any, vault: VaultRef, count: int, **late: timedelta) -> list[RecoveryPoint]:
    """``count`` points 4 hours apart, newest first; ``late`` maps a slot index (``at3``) to how
    long after its slot that point's snapshot was created."""
    current = await created(store, make_instance(vault))
    points = []
    for index in range(count):
        slot = T0 + timedelta(hours=4 * index)
        delay = late.get(f"at{index}", timedelta(minutes=1))
        current, point = await backed_up(store, current, slot, created_at=slot + delay)
        points.append(point)
    return list(reversed(points))


async def walk(store: Any, vault: VaultRef, limit: int, **window: Any) -> list[tuple[list[str], bool]]:
    pages: list[tuple[list[str], bool]] = []
    after = None
    while True:
        points, more = await store.recovery_points_page(
            vault, "disk-a-instance", limit=limit, after_id=after, **window
        )
        pages.append(([point.id for point in points], more))
        if not more:
            return pages
        after = points[-1].id


async def test_pages_come_newest_first_strictly_after_the_last_id_and_say_exactly_when_more_follow(
    store: Any, vault: VaultRef
) -> None:
    points = await seeded(store, vault, 7)
    ids = [point.id for point in points]
    assert await walk(store, vault, 3) == [(ids[:3], True), (ids[3:6], True), (ids[6:], False)]
    assert await walk(store, vault, 7) == [(ids, False)]
    # An id that is no longer there still marks where the next page starts.
    gone = ids[2][:-1] + ("0" if ids[2][-1] != "0" else "1")
    expected = [i for i in ids if i > gone][:2]
    page, _ = await store.recovery_points_page(vault, "disk-a-instance", limit=2, after_id=gone)
    assert [point.id for point in page] == expected
    assert await store.recovery_points_page(vault, "disk-a-instance", limit=2, after_id=ids[-1]) == (
        [],
        False,
    )
    assert await store.recovery_points_page(vault, "other-instance", limit=2) == ([], False)


async def test_a_creation_window_is_exact_and_inclusive(store: Any, vault: VaultRef) -> None:
    # Slot 1's snapshot was created 30 hours late: after slots 2 to 8 in time, not in id order.
    points = await seeded(store, vault, 12, at1=timedelta(hours=30))
    late = next(point for point in points if point.slot == T0 + timedelta(hours=4))
    start = T0 + timedelta(hours=20, minutes=1)  # slot 5's creation time, exactly
    end = late.created_at
    tick = timedelta(microseconds=1)
    windows = [
        (start, end),
        (end, None),
        (end + tick, None),
        (None, start),
        (None, start - tick),
        (start, start),
        (end + tick, end + timedelta(days=9)),
        (T0 - timedelta(days=9), T0),
    ]
    for created_from, created_to in windows:
        expected = [
            point.id
            for point in points
            if (created_from is None or created_from <= point.created_at)
            and (created_to is None or point.created_at <= created_to)
        ]
        pages = await walk(store, vault, 2, created_from=created_from, created_to=created_to)
        assert [point_id for ids, _ in pages for point_id in ids] == expected, (created_from, created_to)
        assert [len(ids) for ids, _ in pages[:-1]] == [2] * (len(pages) - 1)
    in_window = await walk(store, vault, 9, created_from=start, created_to=end)
    assert late.id in in_window[0][0]
    assert len(in_window[0][0]) == 5  # slots 5, 6, 7 and 8 by time, and the late slot 1


async def test_points_an_older_version_marked_deleted_in_place_are_skipped_and_not_counted(
    store: Any, vault: VaultRef, request: pytest.FixtureRequest
) -> None:
    points = await seeded(store, vault, 5)
    for point in points[1:3]:
        await mark_deleted_in_place(store, vault, point, request)
    live = [points[0].id, points[3].id, points[4].id]
    assert await walk(store, vault, 2) == [(live[:2], True), (live[2:], False)]
