"""Through the local Functions host: a backup that fails every delivery lands in the poison
queue, and the poison trigger turns it into a failed job."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backup import names
from backup.bootstrap import use_runtime
from backup.domain.models import JobStatus
from backup.services.backup_runner import RETRIES_EXHAUSTED
from backup.services.messages import SCHEDULED, BackupRequest
from tests.hosting import project_host
from tests.integration.engine.conftest import START, VAULT, Simulation
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration


def host_json(folder: Path) -> Path:
    """The project's host.json, but with invocations that time out fast and give up after two."""
    document = json.loads((REPO_ROOT / "host.json").read_text())
    document["functionTimeout"] = "00:00:02"
    document["extensions"]["queues"].update(
        {"maxDequeueCount": 2, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:00.200"}
    )
    (folder / "host.json").write_text(json.dumps(document))
    return folder


async def test_a_backup_that_times_out_every_delivery_ends_as_a_failed_job(
    sim: Simulation, tmp_path: Path
) -> None:
    await sim.protect("disk-a")
    await sim.runtime.send_backup_requests(
        [BackupRequest(VAULT, "disk-a-instance", SCHEDULED, slot=START).to_json()]
    )
    # ARM answers after the function's time is up, every time.
    sim.admin.set_faults([], seed=1, latency_ms=3000)
    use_runtime(sim.runtime)
    host = project_host(sim.azurite.connection_string, project_dir=host_json(tmp_path), host_keys=())
    try:
        async with host:
            job = None
            for _ in range(150):
                jobs = await sim.runtime.store.list_jobs(VAULT)
                job = jobs[0] if jobs else None
                if job is not None and job.status is JobStatus.FAILED:
                    break
                await asyncio.sleep(0.1)
    finally:
        use_runtime(None)
        sim.admin.clear_faults()

    assert job is not None, "no job was recorded for the poisoned message"
    assert job.status is JobStatus.FAILED
    assert job.error_code == RETRIES_EXHAUSTED
    poison = await sim.runtime.storage.queue(names.BACKUP_QUEUE + names.POISON_SUFFIX)
    work = await sim.runtime.storage.queue(names.BACKUP_QUEUE)
    assert await work.peek_messages() == []
    instance = await sim.runtime.store.get_instance(VAULT, "disk-a-instance")
    assert instance is not None
    assert instance.value.health.last_error_code == RETRIES_EXHAUSTED
    # The poison trigger consumed its message after recording the job.
    assert await poison.peek_messages() == []
