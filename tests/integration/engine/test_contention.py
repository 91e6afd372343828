"""Fifty callers at once on one instance, against Azurite and the Compute emulator: each gets its
202 or the daily limit's own 409, never a storage code (EntityAlreadyExists) nor a 503 for a race
the app can settle itself; and exactly the limit's number are accepted."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from backup.domain.limits import MAX_ON_DEMAND_BACKUPS_PER_DAY, MAX_RESTORES_PER_DAY, SNAPSHOT_BURST_LIMIT
from backup.domain.models import JobOperation
from tests.integration.engine.conftest import VAULT
from tests.integration.engine.test_restore import World, restore_body, world

pytestmark = pytest.mark.integration

__all__ = ["world"]  # the restore tests' harness: the engine's simulation plus the API
CALLERS = 50


async def test_fifty_concurrent_restores_get_202_or_the_daily_limit(world: World) -> None:
    await world.sim.protect("disk-a")
    point = await world.backed_up_point("disk-a-instance")
    answers = await asyncio.gather(
        *(world.restore("disk-a-instance", restore_body(point, f"restored-{n}")) for n in range(CALLERS))
    )
    outcomes = Counter((answer.status, answer.code) for answer in answers)
    assert outcomes == {
        (202, None): MAX_RESTORES_PER_DAY,
        (409, "RestoreDailyLimitReached"): CALLERS - MAX_RESTORES_PER_DAY,
    }, outcomes
    jobs = [job for job in await world.store.list_jobs(VAULT) if job.operation is JobOperation.RESTORE]
    assert len(jobs) == MAX_RESTORES_PER_DAY
    assert len(await world.restore_messages()) == MAX_RESTORES_PER_DAY


async def test_fifty_concurrent_on_demand_backups_get_202_or_the_burst_limit(world: World) -> None:
    await world.sim.protect("disk-a")
    answers = await asyncio.gather(*(world.request_backup("disk-a-instance") for _ in range(CALLERS)))
    outcomes = Counter((answer.status, answer.code) for answer in answers)
    # At one instant the disk's snapshot burst binds before the daily limit: 7 per 5 minutes,
    # one of them kept for the scheduled slot due now (backup/domain/burst.py).
    room = SNAPSHOT_BURST_LIMIT - 1
    assert room < MAX_ON_DEMAND_BACKUPS_PER_DAY
    assert outcomes == {
        (202, None): room,
        (429, "UserErrorMaxConcurrentOperationLimitReached"): CALLERS - room,
    }, outcomes
    jobs = [
        job for job in await world.store.list_jobs(VAULT) if job.operation is JobOperation.ON_DEMAND_BACKUP
    ]
    assert len(jobs) == room
