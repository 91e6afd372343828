"""Look-alike snapshots against Azurite and the Compute emulator, through the real SDK clients.

Another principal (an Owner, as a person with Tag Contributor on a snapshot in the snapshot
resource group could equally do for the tags) plants the issue's look-alikes with the Compute
SDK: right tags on a snapshot of the wrong disk, copied tags of a real recovery point, a forged
recovery point id, and a recorded point's snapshot swapped for another disk's. The product must
never adopt, restore or delete any of them, and must report each; genuine points keep working.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from azure.mgmt.compute import ComputeManagementClient

from backup.domain.models import JobOperation, JobStatus, RecoveryPoint
from backup.domain.resource_ids import ResourceGroupId
from backup.domain.restore import SNAPSHOT_METADATA
from backup.domain.snapshots import TAG_EXPIRES, TAG_RECOVERY_POINT
from backup.services.restore import RestoreOutcome
from backup.telemetry import LOOKALIKE_EVENT
from tests.integration.api.conftest import Api
from tests.integration.engine.conftest import SNAP_RG, SRC_RG, VAULT, Simulation, policy_document
from tests.integration.engine.test_restore import RESTORE_SEED, World, restore_body
from tests.integration.engine.test_robustness import owner_client

pytestmark = pytest.mark.integration

NAME = "disk-a-instance"
HOUR = timedelta(hours=1)
FORGED_ID = "0" * 11 + "1" + "ab" * 10


@pytest.fixture
async def world(sim: Simulation) -> World:
    sim.admin.reset(RESTORE_SEED)
    sim.sync_emulator_clock()
    return World(sim, Api(sim.runtime.replacing(auth_enabled=False, retry_after_seconds=0)))


def name_of(snapshot_id: str) -> str:
    return snapshot_id.rsplit("/", 1)[1]


def plant(owner: ComputeManagementClient, name: str, disk: str, tags: dict[str, str]) -> str:
    """Someone else's incremental snapshot of ``disk`` in the snapshot resource group."""
    created = owner.snapshots.begin_create_or_update(
        "rg-snaps",
        name,
        {
            "location": "eastus",
            "tags": tags,
            "properties": {
                "creationData": {
                    "createOption": "Copy",
                    "sourceResourceId": f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}",
                },
                "incremental": True,
            },
        },
    ).result()
    return str(created.id)


def swap(owner: ComputeManagementClient, point: RecoveryPoint, tags: dict[str, str]) -> str:
    """Replace a point's snapshot by one of disk-b under the same name, with the same tags."""
    owner.snapshots.begin_delete("rg-snaps", name_of(point.snapshot_id)).result()
    return plant(owner, name_of(point.snapshot_id), "disk-b", tags)


async def snapshots(sim: Simulation) -> dict[str, dict[str, str]]:
    listed = await sim.runtime.compute.list_snapshots(ResourceGroupId.parse(SNAP_RG))
    return {s.id.lower(): dict(s.tags) for s in listed}


async def test_lookalikes_are_never_adopted_restored_or_deleted_and_are_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    sim, store = world.sim, world.store
    await sim.protect("disk-a", policy_document(default="P1D"))
    for _ in range(4):
        await sim.tick()
        sim.advance(4 * HOUR)
    p3, p2, p1, p0 = await store.list_recovery_points(VAULT, NAME)
    ours = await snapshots(sim)
    tags = {point.id: ours[point.snapshot_id.lower()] for point in (p0, p1, p2, p3)}

    with owner_client(sim) as owner:
        # Right tags, wrong source disk: p0's row was lost and its snapshot replaced.
        await store.delete_recovery_points(VAULT, [p0])
        planted = {"wrong source": swap(owner, p0, tags[p0.id])}
        # A recorded point's snapshot swapped for another disk's.
        planted["swapped"] = swap(owner, p1, tags[p1.id])
        # Copied tags of a real point, on a snapshot of the same disk and of another.
        planted["copy, same disk"] = plant(owner, "copy-same-disk", "disk-a", tags[p2.id])
        planted["copy, other disk"] = plant(owner, "copy-other-disk", "disk-b", tags[p2.id])
        # A forged point id with an expiry an hour away, on the instance's own disk.
        forged_tags = {
            **tags[p2.id],
            TAG_RECOVERY_POINT: FORGED_ID,
            TAG_EXPIRES: (sim.now + HOUR).isoformat(),
        }
        planted["forged id"] = plant(owner, "forged", "disk-a", forged_tags)

    # Reconciliation adopts none of them and reports each, by id, in its summary and its log.
    with caplog.at_level(logging.WARNING):
        report = await sim.runtime.reconciler.reconcile()
    assert report.recovered == []
    assert sorted(s.lower() for s in report.lookalikes) == sorted(s.lower() for s in planted.values())
    logged = {
        str(r.__dict__["snapshot.id"]).lower() for r in caplog.records if r.getMessage() == LOOKALIKE_EVENT
    }
    assert logged == {s.lower() for s in planted.values()}
    listed = await store.list_recovery_points(VAULT, NAME, include_deleted=True)
    assert [p.id for p in listed] == [p3.id, p2.id, p1.id]

    # A restore from the swapped point is refused at the API, with nothing accepted.
    refused = await world.restore(NAME, restore_body(p1.id, "from-swapped"))
    assert (refused.status, refused.code) == (409, SNAPSHOT_METADATA)
    assert "disk-b" in refused.body["error"]["message"]
    validated = await world.validate(NAME, restore_body(p1.id, "from-swapped"))
    assert (validated.status, validated.code) == (409, SNAPSHOT_METADATA)
    assert await world.restore_messages() == []

    # A restore accepted from a genuine point whose snapshot is swapped before the worker runs
    # fails its job instead of creating a disk holding another disk's data.
    accepted = await world.restore(NAME, restore_body(p3.id, "from-genuine"))
    job_id = (await world.result(accepted))["jobId"]
    with owner_client(sim) as owner:
        planted["swapped after acceptance"] = swap(owner, p3, tags[p3.id])
    assert await world.drain_restores() == [RestoreOutcome.FAILED]
    job = await store.get_job(VAULT, job_id)
    assert (job.status, job.error_code) == (JobStatus.FAILED, SNAPSHOT_METADATA)
    assert "from-genuine" not in world.disks()

    # Retention, long after every expiry (the forged one included), deletes only the genuine
    # expired point; the newest (p3) is kept as the n+1 rule says, and p1 is reported.
    sim.advance(timedelta(days=10))
    swept = await sim.runtime.sweeper.sweep()
    assert swept.deleted == [p2.id]
    assert [s.lower() for s in swept.not_ours] == [p1.snapshot_id.lower()]
    remaining = await snapshots(sim)
    assert {s.lower() for s in planted.values()} <= set(remaining)
    assert p2.snapshot_id.lower() not in remaining
    deletions = [j for j in await store.list_jobs(VAULT) if j.operation is JobOperation.RETENTION_DELETION]
    assert [j.recovery_point_id for j in deletions] == [p2.id]

    # The next reconciliation still adopts nothing.
    again = await sim.runtime.reconciler.reconcile()
    assert again.recovered == []
    assert {s.lower() for s in again.lookalikes} == {s.lower() for s in planted.values()}


async def test_a_genuine_lost_point_is_still_recovered(world: World) -> None:
    """Verification does not get in the way of what reconciliation is for."""
    sim, store = world.sim, world.store
    await sim.protect("disk-a")
    await sim.tick()
    (point,) = await store.list_recovery_points(VAULT, NAME)
    await store.delete_recovery_points(VAULT, [point])
    report = await sim.runtime.reconciler.reconcile()
    assert (report.recovered, report.lookalikes) == ([point.id], [])
    (rebuilt,) = await store.list_recovery_points(VAULT, NAME)
    assert (rebuilt.id, rebuilt.snapshot_id.lower()) == (point.id, point.snapshot_id.lower())
