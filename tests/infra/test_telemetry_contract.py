"""The code emits what infra/telemetry-contract.json promises, and nothing else.

tests/infra/test_alerts.py checks the alert queries against the contract; this checks
``backup/telemetry.py`` against it: its name constants, and what its instruments actually
emit (names, instrument kinds, units, dimension keys and enumerated values), read back with
OpenTelemetry's in-memory reader and exporter. Together: code, contract and Bicep agree.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Gauge, Histogram, InMemoryMetricReader, Metric, Sum
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backup import names, telemetry
from backup.domain.custody import CustodyVerdict, Finding
from backup.domain.jobs import Job
from backup.domain.models import JobOperation, JobStatus

pytestmark = pytest.mark.infra

VAULT_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v"


def constants(suffix: str) -> dict[str, str]:
    return {
        name: value
        for name, value in vars(telemetry).items()
        if name.endswith(suffix) and name.isupper() and isinstance(value, str)
    }


def test_name_constants_are_the_contract_names(telemetry_contract: dict[str, Any]) -> None:
    assert set(constants("_METRIC").values()) == set(telemetry_contract["metrics"])
    assert set(constants("_EVENT").values()) == set(telemetry_contract["traces"])
    spans = {key for key in telemetry_contract["spans"] if not key.startswith("$")}
    assert set(constants("_SPAN").values()) == spans


def test_contract_entries_are_complete(telemetry_contract: dict[str, Any]) -> None:
    for name, metric in telemetry_contract["metrics"].items():
        assert metric["instrument"] in {"counter", "gauge", "histogram"}, name
        assert metric["unit"], name
        assert metric["description"], name
        assert metric["dimensions"], name
        assert isinstance(metric["alerts"], list), name
        assert set(metric.get("values", {})) <= set(metric["dimensions"]), name


def test_enumerated_values_are_the_codes(telemetry_contract: dict[str, Any]) -> None:
    metrics = telemetry_contract["metrics"]
    assert metrics["backup.jobs"]["values"]["job.type"] == [operation.value for operation in JobOperation]
    terminal = [status.value for status in JobStatus if status.is_terminal]
    # Cancelled is Azure's; our jobs never reach it, but the queries may name it.
    assert set(terminal) <= set(metrics["backup.jobs"]["values"]["job.outcome"])
    assert metrics["backup.instances"]["values"]["health"] == list(telemetry.HEALTH_VALUES)
    poison_queues = [queue + names.POISON_SUFFIX for queue in names.WORK_QUEUES]
    assert metrics["backup.poison_messages"]["values"]["queue"] == poison_queues
    lookalike = metrics[telemetry.LOOKALIKE_METRIC]["values"]
    assert lookalike["custody.path"] == list(telemetry.CUSTODY_PATHS)
    assert lookalike["custody.finding"] == [f.value for f in Finding if f is not Finding.VERIFIED]


class _Request:
    url = "https://management.azure.com/subscriptions/s1/resourceGroups/rg?api-version=1"
    method = "GET"


class _Response:
    status_code = 429


class _PipelineResponse:
    http_request = _Request()
    http_response = _Response()


def _emit_everything(t: telemetry.Telemetry) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for operation in JobOperation:
        job = Job(
            id=f"job-{operation.value}",
            vault_id=VAULT_ID,
            instance="i",
            operation=operation,
            status=JobStatus.IN_PROGRESS,
            start_time=start,
        )
        t.job_finished(job.completed(start + timedelta(seconds=5)))
        t.job_finished(job.failed(start + timedelta(seconds=5), "SomeCode", "failed"))
    t.last_success_age(VAULT_ID, "i", 60.0, 3600)
    t.instances_by_health(VAULT_ID, {telemetry.HEALTHY: 1})
    t.recovery_points_deleted(VAULT_ID, "i", 2)
    t.poison_message(names.BACKUP_QUEUE + names.POISON_SUFFIX)
    missed = Job("missed", VAULT_ID, "i", JobOperation.SCHEDULED_BACKUP, JobStatus.IN_PROGRESS, start)
    t.slot_missed(missed.failed(start, "BackupSlotMissed", "the scheduler did not run"))
    t.arm_response(_PipelineResponse())  # type: ignore[arg-type]
    for finding in (f for f in Finding if f is not Finding.VERIFIED):
        t.lookalike_snapshot(VAULT_ID, "reconcile", "/snapshots/s", CustodyVerdict(finding, "why"))
    t.budget_rate("s1", "app", "writes", 7.5)
    t.budget_deferred("s1", "app", "reads", 3)


def _kind(metric: Metric) -> str:
    data = metric.data
    if isinstance(data, Sum):
        assert data.is_monotonic, metric.name
        return "counter"
    if isinstance(data, Gauge):
        return "gauge"
    assert isinstance(data, Histogram), metric.name
    return "histogram"


def test_emitted_metrics_match_the_contract(telemetry_contract: dict[str, Any]) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _emit_everything(telemetry.Telemetry(meter_provider=provider))
    data = reader.get_metrics_data()
    assert data is not None
    emitted = {
        metric.name: metric
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    contract = telemetry_contract["metrics"]
    assert set(emitted) == set(contract)
    for name, metric in emitted.items():
        promised = contract[name]
        assert _kind(metric) == promised["instrument"], name
        assert metric.unit == promised["unit"], name
        for point in metric.data.data_points:
            attributes = dict(point.attributes or {})
            assert set(attributes) == set(promised["dimensions"]), name
            assert all(isinstance(value, str) for value in attributes.values()), name
            for dimension, allowed in promised.get("values", {}).items():
                if isinstance(allowed, list):
                    assert attributes[dimension] in allowed, (name, dimension, attributes[dimension])
    provider.shutdown()


def test_the_job_record_carries_the_contract_attributes(
    telemetry_contract: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job("j", VAULT_ID, "i", JobOperation.RESTORE, JobStatus.FAILED, start, start, error_code="E")
    with caplog.at_level(logging.INFO, logger="backup.jobs"):
        telemetry.Telemetry(meter_provider=MeterProvider()).job_finished(job)
    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.JOB_FINISHED_EVENT]
    for attribute in telemetry_contract["traces"][telemetry.JOB_FINISHED_EVENT]["attributes"]:
        assert attribute in vars(record), attribute


def test_the_missed_slot_record_carries_the_contract_attributes(
    telemetry_contract: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job("j", VAULT_ID, "i", JobOperation.SCHEDULED_BACKUP, JobStatus.IN_PROGRESS, start)
    with caplog.at_level(logging.INFO, logger="backup.jobs"):
        telemetry.Telemetry(meter_provider=MeterProvider()).slot_missed(
            job.failed(start, "BackupSlotMissed", "missed")
        )
    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.SLOT_MISSED_EVENT]
    assert record.levelno == logging.WARNING
    for attribute in telemetry_contract["traces"][telemetry.SLOT_MISSED_EVENT]["attributes"]:
        assert attribute in vars(record), attribute


def test_the_lookalike_record_carries_the_contract_attributes(
    telemetry_contract: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    verdict = CustodyVerdict(Finding.WRONG_SOURCE_DISK, "it was taken from another disk")
    with caplog.at_level(logging.WARNING, logger="backup.custody"):
        telemetry.Telemetry(meter_provider=MeterProvider()).lookalike_snapshot(
            VAULT_ID, "retention", "/snapshots/s", verdict
        )
    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.LOOKALIKE_EVENT]
    assert record.levelno == logging.WARNING
    for attribute in telemetry_contract["traces"][telemetry.LOOKALIKE_EVENT]["attributes"]:
        assert attribute in vars(record), attribute
    assert vars(record)["snapshot.id"] == "/snapshots/s"


def test_span_attributes_are_contract_attributes(telemetry_contract: dict[str, Any]) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    t = telemetry.Telemetry(meter_provider=MeterProvider(), tracer_provider=provider)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job("j", VAULT_ID, "i", JobOperation.SCHEDULED_BACKUP, JobStatus.IN_PROGRESS, start)
    with t.job_span(
        telemetry.BACKUP_SPAN,
        vault=VAULT_ID,
        instance="i",
        job_id="j",
        disk_id="d",
        job_type="ScheduledBackup",
    ) as span:
        span.set_attribute(telemetry.RUN_OUTCOME, "Failed")
        t.job_finished(job.failed(start, "SomeCode", "failed"))
    (finished,) = exporter.get_finished_spans()
    promised = telemetry_contract["spans"][telemetry.BACKUP_SPAN]["attributes"]
    assert set(finished.attributes or {}) == set(promised)
    provider.shutdown()
