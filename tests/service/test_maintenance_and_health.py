"""The retention timer's use case (sweep, purge, reconcile once a day) and the health check.

The timer and ``python -m backup.cli retention`` both run :class:`Maintenance`, so what is
decided here is what both do.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from backup.services import health
from backup.services.maintenance import RECONCILE_EVERY, Maintenance
from tests.service.conftest import VAULT, Env, policy_document

HOUR = timedelta(hours=1)


def maintenance(env: Env) -> Maintenance:
    return env.maintenance


async def test_one_run_sweeps_purges_and_reconciles_then_reconciles_again_only_a_day_later(env: Env) -> None:
    await env.protect("disk-a", policy_document(default="P1D"))
    await env.protect("disk-b", policy_document(default="P30D"))
    await env.run_slots(8)  # slots 00:00 .. 28:00, now 32:00
    [_, *_, oldest_b] = await env.store.list_recovery_points(VAULT, "disk-b-instance")
    await env.store.delete_recovery_points(VAULT, [oldest_b])  # a row lost after its snapshot was taken

    first = await maintenance(env).run()
    assert len(first.sweep.deleted) == 3  # disk-a's points older than a day
    assert first.purge.purged == []  # nothing soft-deleted yet
    assert first.reconcile is not None
    assert first.reconcile.recovered == [oldest_b.id]

    await env.store.delete_recovery_points(VAULT, [oldest_b])
    env.advance(RECONCILE_EVERY - HOUR)
    second = await maintenance(env).run()
    assert second.reconcile is None  # another run reconciled within the day
    ids = [p.id for p in await env.store.list_recovery_points(VAULT, "disk-b-instance")]
    assert oldest_b.id not in ids

    env.advance(HOUR)
    third = await maintenance(env).run()
    assert third.reconcile is not None
    assert third.reconcile.recovered == [oldest_b.id]


async def test_a_soft_deleted_instance_is_purged_by_the_run_after_its_date(env: Env) -> None:
    await env.protect("disk-a", policy_document(default="P30D"))
    await env.run_slots(2)
    deleted = await env.protection.delete(VAULT, "disk-a-instance")
    assert deleted is not None
    assert deleted.purge_at is not None

    env.advance(deleted.purge_at - env.now - timedelta(minutes=1))
    assert (await maintenance(env).run()).purge.purged == []
    assert await env.store.get_instance(VAULT, "disk-a-instance") is not None

    env.advance(timedelta(minutes=1))
    report = await maintenance(env).run()
    assert len(report.purge.purged) == 1
    assert report.purge.snapshots_deleted == 2
    assert await env.store.get_instance(VAULT, "disk-a-instance") is None
    assert env.arm.snapshot_ids() == []


class Probe:
    def __init__(self, error: Exception | None = None, *, hangs: bool = False) -> None:
        self.error = error
        self.hangs = hangs
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if self.hangs:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error


async def test_health_is_ok_when_both_answer() -> None:
    storage, arm = Probe(), Probe()
    report = await health.check(storage, arm)
    assert report.healthy
    assert report.to_json() == {"status": "ok"}
    assert (storage.pings, arm.pings) == (1, 1)


async def test_health_names_every_dependency_that_fails_and_never_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.01)
    report = await health.check(Probe(ConnectionError("refused")), Probe(hangs=True))
    assert not report.healthy
    body = report.to_json()
    assert body["status"] == "unavailable"
    reasons = body["reasons"]
    assert isinstance(reasons, list)
    assert len(reasons) == 2
    assert reasons[0].startswith("storage is not reachable: ConnectionError: refused")
    assert reasons[1].startswith("Azure Resource Manager is not reachable: TimeoutError")
