"""Custody over the fakes: look-alike snapshots are never adopted, restored or deleted, and are reported.

The three look-alikes of the issue, each a snapshot someone else took (``FakeArm.add_foreign_snapshot``)
in the snapshot resource group:

* right tags, wrong source disk: a point whose row was lost, its snapshot replaced by one of
  another disk under the same name and tags;
* copied tags of a real point, on a snapshot of the same disk and of another disk;
* a forged recovery point id (well-formed, expiring soon) on a snapshot of the instance's disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from backup.domain.models import JobOperation, JobStatus, RecoveryPoint
from backup.domain.resource_ids import ComputeResourceId
from backup.domain.restore import SNAPSHOT_METADATA
from backup.domain.snapshots import TAG_EXPIRES, TAG_RECOVERY_POINT
from backup.errors import ConflictError
from backup.services.messages import SCHEDULED, BackupRequest
from backup.services.reconcile import FAILED_SNAPSHOT_GRACE, Reconciler
from backup.services.restore import RestoreOutcome, RestoreService
from backup.services.retention import RetentionSweeper
from backup.shapes.restore import RestoreSpec
from backup.telemetry import LOOKALIKE_EVENT, LOOKALIKE_METRIC, Telemetry
from tests.service.conftest import SNAP_RG, START, VAULT, Env, disk_id, policy_document, restore_target

NAME = "disk-a-instance"
DAY = timedelta(days=1)
FORGED_ID = "0" * 11 + "1" + "ab" * 10


def snapshot_ref(name: str) -> str:
    return f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/{name}"


@dataclass
class Counted:
    telemetry: Telemetry
    reader: InMemoryMetricReader

    def lookalikes(self) -> dict[tuple[str, str], int]:
        """Look-alikes counted, by (path, finding)."""
        data = self.reader.get_metrics_data()
        counts: dict[tuple[str, str], int] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != LOOKALIKE_METRIC:
                        continue
                    for point in metric.data.data_points:
                        attributes = dict(point.attributes or {})
                        key = (str(attributes["custody.path"]), str(attributes["custody.finding"]))
                        counts[key] = counts.get(key, 0) + int(point.value)  # type: ignore[union-attr]
        return counts


@pytest.fixture
def counted() -> Counted:
    reader = InMemoryMetricReader()
    return Counted(Telemetry(meter_provider=MeterProvider(metric_readers=[reader])), reader)


async def two_points(env: Env, retention: str = "P30D") -> tuple[RecoveryPoint, RecoveryPoint]:
    await env.protect("disk-a", policy_document(default=retention))
    await env.run_slots(2)
    newer, older = await env.store.list_recovery_points(VAULT, NAME)
    return newer, older


def tags_of(env: Env, point: RecoveryPoint) -> dict[str, str]:
    return dict(env.arm.snapshots[point.snapshot_id.lower()].info.tags)


async def plant_lookalikes(env: Env, newer: RecoveryPoint, older: RecoveryPoint) -> dict[str, str]:
    """The issue's look-alikes; returns their snapshot ids by kind. ``older``'s row is lost."""
    older_tags, newer_tags = tags_of(env, older), tags_of(env, newer)
    await env.store.delete_recovery_points(VAULT, [older])  # its write was lost...
    env.arm.remove_snapshot(older.snapshot_id)  # ...and its snapshot replaced by another disk's
    wrong_source = env.arm.add_foreign_snapshot(
        older.snapshot_id, source_id=disk_id("disk-b"), tags=older_tags
    )
    same_disk_copy = env.arm.add_foreign_snapshot(
        snapshot_ref("copy-same-disk"), source_id=disk_id("disk-a"), tags=newer_tags
    )
    other_disk_copy = env.arm.add_foreign_snapshot(
        snapshot_ref("copy-other-disk"), source_id=disk_id("disk-b"), tags=newer_tags
    )
    forged = env.arm.add_foreign_snapshot(
        snapshot_ref("forged"),
        source_id=disk_id("disk-a"),
        tags={**newer_tags, TAG_RECOVERY_POINT: FORGED_ID, TAG_EXPIRES: (env.now + DAY).isoformat()},
    )
    return {
        "WrongSourceDisk": wrong_source.id,
        "OtherSnapshot": same_disk_copy.id,
        "WrongSourceDisk (copy)": other_disk_copy.id,
        "ForgedRecoveryPointId": forged.id,
    }


async def test_reconcile_adopts_no_lookalike_and_reports_each(
    env: Env, counted: Counted, caplog: pytest.LogCaptureFixture
) -> None:
    newer, older = await two_points(env)
    planted = await plant_lookalikes(env, newer, older)
    reconciler = Reconciler(env.store, env.compute, env.clock, counted.telemetry)

    with caplog.at_level(logging.WARNING):
        report = await reconciler.reconcile()

    assert report.recovered == []
    assert sorted(report.lookalikes) == sorted(planted.values())
    assert report.unmatched == []
    assert [p.id for p in await env.store.list_recovery_points(VAULT, NAME, include_deleted=True)] == [
        newer.id
    ]
    assert counted.lookalikes() == {
        ("reconcile", "WrongSourceDisk"): 2,
        ("reconcile", "OtherSnapshot"): 1,
        ("reconcile", "ForgedRecoveryPointId"): 1,
    }
    logged = {r.__dict__["snapshot.id"] for r in caplog.records if r.getMessage() == LOOKALIKE_EVENT}
    assert logged == set(planted.values())
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.getMessage() == LOOKALIKE_EVENT)
    # Nothing was deleted either, and a second run reports the same, adopts nothing.
    assert set(planted.values()) <= set(env.arm.snapshot_ids())
    again = await reconciler.reconcile()
    assert (again.recovered, sorted(again.lookalikes)) == ([], sorted(planted.values()))


async def test_retention_never_deletes_a_lookalike_at_its_forged_expiry(env: Env) -> None:
    newer, older = await two_points(env, retention="P1D")
    planted = await plant_lookalikes(env, newer, older)
    await env.reconciler.reconcile()
    env.advance(10 * DAY)
    await env.protection.suspend_backups(VAULT, NAME)  # keeps its newest point; nothing else is ours

    result = await env.sweeper.sweep()

    assert result.deleted == []
    assert set(planted.values()) <= set(env.arm.snapshot_ids())
    assert newer.snapshot_id.lower() in {s.lower() for s in env.arm.snapshot_ids()}


async def test_retention_keeps_and_reports_a_recorded_point_whose_snapshot_was_replaced(
    env: Env, counted: Counted
) -> None:
    newer, older = await two_points(env, retention="P1D")
    older_tags = tags_of(env, older)
    env.arm.remove_snapshot(older.snapshot_id)
    env.arm.add_foreign_snapshot(older.snapshot_id, source_id=disk_id("disk-b"), tags=older_tags)
    env.advance(10 * DAY)
    await env.protection.suspend_backups(VAULT, NAME)
    sweeper = RetentionSweeper(env.store, env.compute, env.clock, counted.telemetry)

    result = await sweeper.sweep()

    assert [s.lower() for s in result.not_ours] == [older.snapshot_id.lower()]
    assert result.deleted == []
    assert older.snapshot_id.lower() in {s.lower() for s in env.arm.snapshot_ids()}
    assert [p.id for p in await env.store.list_recovery_points(VAULT, NAME)] == [newer.id, older.id]
    assert counted.lookalikes() == {("retention", "WrongSourceDisk"): 1}


async def test_retention_still_deletes_verified_points(env: Env) -> None:
    """The check costs nothing to genuine points: they expire as before, look-alikes beside them stay."""
    newer, older = await two_points(env, retention="P1D")
    forged = env.arm.add_foreign_snapshot(
        snapshot_ref("forged"), source_id=disk_id("disk-a"), tags={**tags_of(env, older)}
    )
    env.advance(10 * DAY)
    await env.protection.suspend_backups(VAULT, NAME)
    result = await env.sweeper.sweep()
    assert result.deleted == [older.id]
    assert {s.lower() for s in env.arm.snapshot_ids()} == {newer.snapshot_id.lower(), forged.id.lower()}


def spec(point: RecoveryPoint, target: str = "restored") -> RestoreSpec:
    return RestoreSpec(point.id, ComputeResourceId.disk(restore_target(target)), "eastus")


async def test_restore_refuses_a_point_whose_snapshot_is_another_disks(env: Env, counted: Counted) -> None:
    newer, _ = await two_points(env)
    tags = tags_of(env, newer)
    env.arm.remove_snapshot(newer.snapshot_id)
    env.arm.add_foreign_snapshot(newer.snapshot_id, source_id=disk_id("disk-b"), tags=tags)

    service = RestoreService(env.store, env.compute, env.clock, env.restores, telemetry=counted.telemetry)

    with pytest.raises(ConflictError) as refused:
        await service.trigger(VAULT, NAME, spec(newer), requested_by="bob")

    assert refused.value.code == SNAPSHOT_METADATA
    assert disk_id("disk-b") in refused.value.message
    assert env.restores.messages == []
    assert [j for j in await env.store.list_jobs(VAULT) if j.operation is JobOperation.RESTORE] == []
    assert counted.lookalikes() == {("restore", "WrongSourceDisk"): 1}


async def test_the_restore_worker_fails_the_job_if_the_snapshot_was_swapped_after_acceptance(
    env: Env,
) -> None:
    newer, _ = await two_points(env)
    job = await env.restore_service.trigger(VAULT, NAME, spec(newer), requested_by="bob")
    tags = tags_of(env, newer)
    env.arm.remove_snapshot(newer.snapshot_id)
    env.arm.add_foreign_snapshot(newer.snapshot_id, source_id=disk_id("disk-b"), tags=tags)

    assert await env.drain_restores() == [RestoreOutcome.FAILED]

    failed = await env.store.get_job(VAULT, job.id)
    assert failed is not None
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, SNAPSHOT_METADATA)
    assert "WrongSourceDisk" in (failed.error_message or "")
    assert await env.compute.find_disk(ComputeResourceId.disk(restore_target("restored"))) is None
    leased = await env.store.get_recovery_point(VAULT, NAME, newer.id)
    assert leased is not None
    assert leased.value.in_use_until is None  # the lease is released as for any failure


async def test_purge_deletes_only_verified_snapshots(env: Env, counted: Counted) -> None:
    _, older = await two_points(env)
    older_tags = tags_of(env, older)
    env.arm.remove_snapshot(older.snapshot_id)
    replaced = env.arm.add_foreign_snapshot(older.snapshot_id, source_id=disk_id("disk-b"), tags=older_tags)
    unrecorded = env.arm.add_foreign_snapshot(
        snapshot_ref("unrecorded"),
        source_id=disk_id("disk-c"),
        tags={**older_tags, TAG_RECOVERY_POINT: FORGED_ID},
    )
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at is not None
    env.advance(deleted.purge_at - env.now)
    purger = type(env.purger)(env.store, env.compute, env.clock, telemetry=counted.telemetry)

    result = await purger.purge_due()

    assert len(result.purged) == 1
    assert result.snapshots_deleted == 1  # the newer point's, verified
    assert sorted(s.lower() for s in result.not_ours) == sorted([replaced.id.lower(), unrecorded.id.lower()])
    assert sorted(s.lower() for s in env.arm.snapshot_ids()) == sorted(
        [replaced.id.lower(), unrecorded.id.lower()]
    )
    assert counted.lookalikes() == {("purge", "WrongSourceDisk"): 2}


async def test_reconcile_discards_our_failed_creates_but_never_a_failed_lookalike(
    env: Env, counted: Counted
) -> None:
    await env.protect("disk-a")
    env.arm.fail("Snapshots_CreateOrUpdate", "lroFailed", times=1)
    # The PUT is accepted and its operation fails; the worker goes no further (its poll is lost).
    await env.runner.handle_message(BackupRequest(VAULT, NAME, SCHEDULED, slot=START).to_json(), 1)
    env.backups.take()
    [ours] = env.arm.snapshot_ids()
    lookalike = env.arm.add_foreign_snapshot(
        snapshot_ref("failed-elsewhere"),
        source_id=disk_id("disk-b"),
        tags=tags_of_id(env, ours),
        provisioning_state="Failed",
    )
    env.advance(FAILED_SNAPSHOT_GRACE)
    report = await Reconciler(env.store, env.compute, env.clock, counted.telemetry).reconcile()
    assert [s.lower() for s in report.discarded] == [ours.lower()]
    assert report.lookalikes == [lookalike.id]
    assert env.arm.snapshot_ids() == [lookalike.id]
    assert counted.lookalikes() == {("reconcile", "WrongSourceDisk"): 1}


def tags_of_id(env: Env, snapshot_id: str) -> dict[str, str]:
    return dict(env.arm.snapshots[snapshot_id.lower()].info.tags)
