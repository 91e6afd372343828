"""What the engine emits, read back from in-memory OpenTelemetry exporters.

The engine runs on Azurite and the Compute emulator with a manual clock (the ``sim`` harness of
tests/integration/engine); its Runtime gets a Telemetry built on an InMemoryMetricReader and an
InMemorySpanExporter, and its ARM clients report their responses to that Telemetry.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backup import telemetry
from backup.adapters.compute import ComputeGateway
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.models import JobOperation, JobStatus
from backup.services.backup_runner import Outcome
from backup.telemetry import Telemetry
from tests.integration.engine.conftest import (  # noqa: F401 - sim is a fixture
    APP,
    SNAP_RG,
    SRC_RG,
    SUB,
    TOKEN,
    VAULT,
    Simulation,
    policy_document,
    sim,
)

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
INTERVAL = timedelta(hours=4)
OVERDUE_THRESHOLD = 2
"""infra/app/alerts.bicep, rule backup-overdue: fires when age / interval > 2."""


@dataclass
class Observed:
    sim: Simulation
    reader: InMemoryMetricReader
    spans: InMemorySpanExporter

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        data = self.reader.get_metrics_data()
        return [
            (dict(point.attributes or {}), point)
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def counts(self, name: str, *keys: str) -> dict[tuple[str, ...], Any]:
        return {tuple(a[k] for k in keys): p.value for a, p in self.points(name)}

    def finished(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if span.name == name]

    def overdue_ratio(self, instance: str) -> float:
        (value,) = [
            point.value / float(attributes[telemetry.INTERVAL_SECONDS])
            for attributes, point in self.points(telemetry.LAST_SUCCESS_AGE_METRIC)
            if attributes[telemetry.INSTANCE] == instance
        ]
        return float(value)


@pytest.fixture
async def observed(sim: Simulation) -> AsyncIterator[Observed]:  # noqa: F811 - the imported fixture
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    observer = Telemetry(meter_provider=meter_provider, tracer_provider=tracer_provider)
    settings = sim.runtime.settings
    gateway = ComputeGateway(
        AsyncStaticTokenCredential(TOKEN),
        endpoint=settings.arm_endpoint,
        ca_bundle=settings.arm_ca_bundle,
        retry_total=1,
        retry_backoff_factor=0,
        polling_interval=0,
        response_hook=observer.arm_response,
    )
    sim.runtime = replace(sim.runtime, telemetry=observer, compute=gateway)
    yield Observed(sim, reader, spans)
    await gateway.close()
    meter_provider.shutdown()
    tracer_provider.shutdown()


def disk_id(disk: str) -> str:
    return f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}"


async def test_a_successful_backup(observed: Observed, caplog: pytest.LogCaptureFixture) -> None:
    simulation = observed.sim
    instance = await simulation.protect("disk-a")
    with caplog.at_level(logging.INFO, logger="backup.jobs"):
        assert await simulation.tick() == [Outcome.RECORDED]

    (job,) = await simulation.runtime.store.list_jobs(VAULT)
    key = (JobOperation.SCHEDULED_BACKUP.value, JobStatus.COMPLETED.value, VAULT.id, instance.name)
    dims = (telemetry.JOB_TYPE, telemetry.JOB_OUTCOME, telemetry.VAULT, telemetry.INSTANCE)
    assert observed.counts(telemetry.JOBS_METRIC, *dims) == {key: 1}
    ((_, duration),) = observed.points(telemetry.JOB_DURATION_METRIC)
    assert (duration.count, duration.sum) == (1, job.duration_seconds)

    # One span per step: the PUT and the first poll hand over to the next message; the last one ends the job.
    *steps, span = observed.finished(telemetry.BACKUP_SPAN)
    assert steps
    assert {dict(step.attributes or {})["run.outcome"] for step in steps} == {"InProgress"}
    assert all("job.outcome" not in dict(step.attributes or {}) for step in steps)
    assert dict(span.attributes or {}) == {
        "vault": VAULT.id,
        "instance": instance.name,
        "disk.id": disk_id("disk-a"),
        "job.id": job.id,
        "job.type": "ScheduledBackup",
        "job.outcome": "Completed",
        "run.outcome": "Recorded",
    }
    assert span.status.is_ok

    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.JOB_FINISHED_EVENT]
    assert record.levelno == logging.INFO
    assert (vars(record)["job.id"], vars(record)["error.code"]) == (job.id, "")

    # The planner ran before the backup: a new instance is healthy and 4h "old" (since protection).
    health = observed.counts(telemetry.INSTANCES_METRIC, telemetry.VAULT, telemetry.HEALTH)
    assert health == {(VAULT.id, "Healthy"): 1, (VAULT.id, "Unhealthy"): 0, (VAULT.id, "Inactive"): 0}
    assert observed.counts(telemetry.THROTTLED_METRIC) == {}


async def test_a_throttled_then_failed_backup(observed: Observed, caplog: pytest.LogCaptureFixture) -> None:
    simulation = observed.sim
    instance = await simulation.protect("disk-a")
    await simulation.runtime.planner.tick()
    simulation.admin.set_faults(
        [{"operation": "Disks_Get", "throttle429": 1.0, "retryAfterSeconds": 0}], seed=1
    )
    simulation.admin.reset_counters()
    # Throttled: a wait, not a failure. The step is sent again as a delayed message.
    [message] = await simulation.queue_messages()
    runner = simulation.runtime.runner
    assert await runner.handle_message(message.content, 1) is Outcome.DEFERRED
    throttled_by_emulator = simulation.admin.counters()["byStatus"]["429"]
    assert throttled_by_emulator >= 1
    assert observed.counts(telemetry.THROTTLED_METRIC, telemetry.SUBSCRIPTION, telemetry.HTTP_METHOD) == {
        (SUB, "GET"): throttled_by_emulator
    }
    assert await simulation.runtime.store.list_jobs(VAULT) == []
    queue = await simulation.runtime.storage.queue("backup-runs")
    await queue.clear_messages()

    # Then failing: retried by the host, and failed on its last delivery.
    simulation.admin.set_faults([{"operation": "Disks_Get", "error500": 1.0}], seed=1)
    body = message.content
    await queue.send_message(body.decode() if isinstance(body, bytes) else body)
    with caplog.at_level(logging.INFO, logger="backup.jobs"):
        assert await simulation.drain() == [Outcome.FAILED]  # after the host's 5 deliveries
    simulation.admin.clear_faults()

    (job,) = await simulation.runtime.store.list_jobs(VAULT)
    assert job.status is JobStatus.FAILED
    assert job.error_code
    dims = (telemetry.JOB_TYPE, telemetry.JOB_OUTCOME, telemetry.INSTANCE)
    assert observed.counts(telemetry.JOBS_METRIC, *dims) == {("ScheduledBackup", "Failed", instance.name): 1}

    deferred, *retried, final = observed.finished(telemetry.BACKUP_SPAN)
    assert dict(deferred.attributes or {})["run.outcome"] == "Deferred"
    assert len(retried) == 4
    for span in retried:
        attributes = dict(span.attributes or {})
        assert attributes["run.outcome"] == "Retrying"
        assert attributes["error.code"] == job.error_code
        assert "job.outcome" not in attributes, "the job is not over while the host still retries"
        assert not span.status.is_ok
    attributes = dict(final.attributes or {})
    assert attributes["job.id"] == job.id
    assert attributes["disk.id"] == disk_id("disk-a")
    assert (attributes["job.outcome"], attributes["run.outcome"]) == ("Failed", "Failed")
    assert attributes["error.code"] == job.error_code

    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.JOB_FINISHED_EVENT]
    assert record.levelno == logging.WARNING
    assert (vars(record)["job.id"], vars(record)["error.code"]) == (job.id, job.error_code)

    simulation.advance(HOUR)
    await simulation.runtime.planner.tick()
    health = observed.counts(telemetry.INSTANCES_METRIC, telemetry.HEALTH)
    assert (health[("Healthy",)], health[("Unhealthy",)]) == (0, 1)


async def test_staleness_grows_past_the_alert_threshold_and_heals(observed: Observed) -> None:
    simulation = observed.sim
    instance = await simulation.protect("disk-a", policy_document(interval="PT4H"))
    healthy: list[float] = []
    for _ in range(24):  # a day of hourly ticks, every slot backed up
        await simulation.tick()
        healthy.append(observed.overdue_ratio(instance.name))
        simulation.advance(HOUR)
    assert max(healthy) <= 1.0 < OVERDUE_THRESHOLD

    simulation.admin.revoke(APP, "Disk Snapshot Contributor", SNAP_RG)  # every backup now fails
    failing: list[float] = []
    while not failing or failing[-1] <= OVERDUE_THRESHOLD:
        assert len(failing) < 48, "staleness never crossed the threshold"
        await simulation.tick()
        failing.append(observed.overdue_ratio(instance.name))
        simulation.advance(HOUR)
    assert failing == sorted(failing)
    assert len(set(failing)) == len(failing), "grows on every planner run"
    stored = await simulation.runtime.store.get_instance(VAULT, instance.name)
    assert stored is not None
    assert stored.value.health.consecutive_failures >= 2
    # Crossed right after twice the interval without a successful backup, not before.
    assert failing[-2] <= OVERDUE_THRESHOLD < failing[-1] < OVERDUE_THRESHOLD + HOUR / INTERVAL + 0.01
    failed_jobs = observed.counts(telemetry.JOBS_METRIC, telemetry.JOB_OUTCOME)[("Failed",)]
    assert failed_jobs == stored.value.health.consecutive_failures

    simulation.admin.grant(APP, "Disk Snapshot Contributor", SNAP_RG)
    for _ in range(5):  # the next slot succeeds
        await simulation.tick()
        simulation.advance(HOUR)
    await simulation.runtime.planner.tick()
    assert observed.overdue_ratio(instance.name) <= 1.0
    health = observed.counts(telemetry.INSTANCES_METRIC, telemetry.HEALTH)
    assert (health[("Healthy",)], health[("Unhealthy",)]) == (1, 0)


async def test_retention_deletions_and_reconciliation(observed: Observed) -> None:
    simulation = observed.sim
    instance = await simulation.protect("disk-a", policy_document(interval="PT12H", default="P1D"))
    end = simulation.now + timedelta(days=3)
    while simulation.now < end:
        await simulation.tick()
        simulation.advance(HOUR * 6)

    deletions = [
        job
        for job in await simulation.runtime.store.list_jobs(VAULT)
        if job.operation is JobOperation.RETENTION_DELETION
    ]
    assert deletions
    deleted = observed.counts(telemetry.RECOVERY_POINTS_DELETED_METRIC, telemetry.VAULT, telemetry.INSTANCE)
    assert deleted == {(VAULT.id, instance.name): len(deletions)}
    spans = observed.finished(telemetry.RETENTION_DELETION_SPAN)
    assert sorted(str((s.attributes or {})["job.id"]) for s in spans) == sorted(job.id for job in deletions)
    for span in spans:
        attributes = dict(span.attributes or {})
        assert attributes["job.outcome"] == "Completed"
        assert attributes["job.type"] == "RetentionDeletion"
        assert attributes["disk.id"] == disk_id("disk-a")
    jobs = observed.counts(telemetry.JOBS_METRIC, telemetry.JOB_TYPE, telemetry.JOB_OUTCOME)
    assert jobs[("RetentionDeletion", "Completed")] == len(deletions)

    await simulation.runtime.reconciler.reconcile()
    (span,) = observed.finished(telemetry.RECONCILE_SPAN)
    assert dict(span.attributes or {}) == {"vault": VAULT.id}
