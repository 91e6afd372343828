"""Recovery-point history: deleted points leave the live range, and sweepers that meet stay quiet.

Retention moves a deleted point from ``r|`` to the audit range ``d|`` in the transaction that
records its deletion; live reads scan only live rows. Audit rows go after their retention; rows
an older version left marked in the live range stay hidden and are moved by the next sweep. Two
sweepers at once delete and record each point once, and the one that loses recognises the
other's work: an Information log, no warning, no retry.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from backup.adapters.tables import keys
from backup.domain.limits import DELETED_RECOVERY_POINT_AUDIT
from backup.domain.models import JobOperation, RecoveryPointState
from backup.services.retention import RetentionSweeper
from tests.service.conftest import VAULT, Env, policy_document
from tests.sweeper_race import race_two_sweepers

DAY = timedelta(days=1)
NAME = "disk-a-instance"


def kinds(env: Env, kind: str) -> list[str]:
    lower, upper = keys.kind_range(kind, NAME)
    return [row for row in env.store.rows(VAULT) if lower <= row < upper]


async def backed_up(env: Env, slots: int) -> None:
    await env.protect("disk-a", policy_document(default="P1D"))
    await env.run_slots(slots)  # every 4 hours, 1-day retention


async def test_a_deleted_point_leaves_the_live_range_and_stays_readable_for_audit(env: Env) -> None:
    await backed_up(env, 8)
    result = await env.sweeper.sweep()
    assert len(result.deleted) == 3
    live = await env.store.list_recovery_points(VAULT, NAME)
    assert len(kinds(env, keys.RECOVERY_POINT)) == len(live) == 5
    assert len(kinds(env, keys.DELETED_RECOVERY_POINT)) == 3
    everything = await env.store.list_recovery_points(VAULT, NAME, include_deleted=True)
    assert [p.id for p in everything] == sorted(p.id for p in everything)  # newest first
    assert {p.id for p in everything if p.state is RecoveryPointState.DELETING} == set(result.deleted)
    gone = await env.store.get_recovery_point(VAULT, NAME, result.deleted[0])
    assert gone is not None
    assert gone.value.state is RecoveryPointState.DELETING


async def test_audit_rows_go_once_their_retention_has_passed(env: Env) -> None:
    await backed_up(env, 8)
    deleted = (await env.sweeper.sweep()).deleted
    oldest_expiry = min(
        p.expires_at
        for p in await env.store.list_recovery_points(VAULT, NAME, include_deleted=True)
        if p.id in deleted
    )
    env.advance(oldest_expiry + DELETED_RECOVERY_POINT_AUDIT - env.now - timedelta(minutes=1))
    sweeper = RetentionSweeper(env.store, env.compute, env.clock, env.telemetry)
    assert (await sweeper.sweep()).history_purged == 0  # (it retires 4 more points: 7 in audit)
    assert len(kinds(env, keys.DELETED_RECOVERY_POINT)) == 7
    env.advance(timedelta(minutes=2))
    assert (await sweeper.sweep()).history_purged == 1  # only the one that expired first
    env.advance(2 * DAY)
    assert (await sweeper.sweep()).history_purged == 6
    assert kinds(env, keys.DELETED_RECOVERY_POINT) == []
    assert [row for row in env.store.rows(VAULT) if row.startswith(keys.AUDIT_EXPIRY + "|")] == []


async def test_points_an_older_version_marked_deleted_stay_hidden_and_the_sweep_moves_them(env: Env) -> None:
    await backed_up(env, 4)
    [*_, older, oldest] = await env.store.list_recovery_points(VAULT, NAME)
    for point in (older, oldest):
        env.store.mark_deleted_in_place(VAULT, point, env.now)
    assert older.id not in [p.id for p in await env.store.list_recovery_points(VAULT, NAME)]
    assert len(kinds(env, keys.RECOVERY_POINT)) == 4

    result = await env.sweeper.sweep()
    assert result.history_moved == 2
    assert len(kinds(env, keys.RECOVERY_POINT)) == 2
    assert len(kinds(env, keys.DELETED_RECOVERY_POINT)) == 2
    everything = await env.store.list_recovery_points(VAULT, NAME, include_deleted=True)
    assert [(p.id, p.state) for p in everything][2:] == [
        (older.id, RecoveryPointState.DELETING),
        (oldest.id, RecoveryPointState.DELETING),
    ]
    # The vault is marked migrated: a later sweep pays one point read, and moves nothing.
    assert (await env.sweeper.sweep()).history_moved == 0


async def test_purging_a_deleted_instance_takes_its_audit_rows_and_older_tombstones(env: Env) -> None:
    await backed_up(env, 8)
    await env.sweeper.sweep()
    [*_, oldest_live] = await env.store.list_recovery_points(VAULT, NAME)
    env.store.mark_deleted_in_place(VAULT, oldest_live, env.now)  # not yet moved
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at is not None
    env.advance(deleted.purge_at - env.now)
    assert len((await env.purger.purge_due()).purged) == 1
    # Jobs outlive their instance (as Azure's do), and so do their index copies under its name.
    left = [row for row in env.store.rows(VAULT) if NAME in row and not row.startswith(keys.JOB_INDEX)]
    assert left == []


@pytest.mark.parametrize("meet_at", ["expired", "record_deletions"])
async def test_two_sweepers_at_once_delete_each_point_once_and_the_loser_stays_quiet(
    env: Env, meet_at: str, caplog: pytest.LogCaptureFixture
) -> None:
    await backed_up(env, 8)
    expired = {entry.recovery_point_id for entry in await env.store.expired(VAULT, env.now)}
    assert len(expired) == 3
    caplog.set_level(logging.INFO, logger="backup.services.retention")

    (first, second), views = await race_two_sweepers(
        env.store, env.compute, env.clock, env.telemetry, meet_at=meet_at
    )

    assert sorted(first.deleted + second.deleted) == sorted(expired)
    assert first.errors == second.errors == []
    assert first.recorded_by_another + second.recorded_by_another == 3
    assert [r.levelno for r in caplog.records if r.levelno > logging.INFO] == []
    assert any("another sweeper" in r.getMessage() for r in caplog.records)
    # The loser read again once and stopped: no second try at recording.
    assert sorted(view.calls.get("record_deletions", 0) for view in views) == [1, 1]
    jobs = [j for j in await env.store.list_jobs(VAULT) if j.operation is JobOperation.RETENTION_DELETION]
    assert sorted(str(job.recovery_point_id) for job in jobs) == sorted(expired)
    assert (await env.instance()).live_recovery_points == 5
    assert len(await env.store.list_recovery_points(VAULT, NAME)) == 5
