"""A restore's progress moves with its work: every step the worker finishes is written to the
job, so a page polling it sees the bar move (10, 25, 50, 100) rather than jump from 10 to 100."""

from __future__ import annotations

from typing import Any

import pytest

from backup.domain.jobs import Job
from backup.errors import TransientError
from tests.service.conftest import VAULT, Env
from tests.service.test_on_demand_and_restore import NAME, backed_up_point, spec


def _recording(env: Env) -> list[tuple[str, int | None]]:
    """Every job write of the fake store, as (status, progress)."""
    seen: list[tuple[str, int | None]] = []
    put_job = env.store.put_job

    async def recorded(job: Job) -> None:
        seen.append((job.status.value, job.progress_percent))
        await put_job(job)

    env.store.put_job = recorded  # type: ignore[method-assign]
    return seen


async def test_each_step_of_a_restore_moves_its_progress(env: Env) -> None:
    point = await backed_up_point(env)
    await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    seen = _recording(env)
    await env.drain_restores()
    assert seen == [("InProgress", 25), ("InProgress", 50), ("Completed", 100)]


async def test_a_redelivery_does_not_move_progress_back_or_write_it_twice(env: Env) -> None:
    point = await backed_up_point(env)
    await env.restore_service.trigger(VAULT, NAME, spec(point), requested_by="bob")
    [body] = env.restores.take()
    env.arm.fail("Disks_CreateOrUpdate", "error500", times=1)
    seen = _recording(env)
    with pytest.raises(TransientError):
        await env.restore_runner.handle_message(body, 1)
    await env.restore_runner.handle_message(body, 2)
    progress: list[Any] = [percent for _, percent in seen]
    assert progress == [25, 50, 100]
