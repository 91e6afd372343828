"""The telemetry module on its own: in-memory OpenTelemetry providers, no network, no global state."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backup import bootstrap, telemetry
from backup.config import Settings
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job
from backup.domain.models import BackupInstanceHealth, JobOperation, JobStatus, ProtectionState
from backup.errors import AuthorizationError, ThrottledError
from backup.telemetry import JobLogContext, Telemetry, instance_health
from tests.paths import REPO_ROOT

VAULT = VaultRef("11111111-0000-4000-8000-000000000001", "rg", "vault")
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@dataclass
class Capture:
    telemetry: Telemetry
    reader: InMemoryMetricReader
    spans: InMemorySpanExporter

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) of every data point of one metric."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += [(dict(p.attributes or {}), p) for p in metric.data.data_points]
        return found

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


@pytest.fixture
def capture() -> Iterator[Capture]:
    reader = InMemoryMetricReader()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Capture(Telemetry(meter_provider=meter_provider, tracer_provider=tracer_provider), reader, exporter)
    meter_provider.shutdown()
    tracer_provider.shutdown()


def job(status: JobStatus = JobStatus.COMPLETED, error_code: str | None = None, job_id: str = "job-1") -> Job:
    return Job(
        id=job_id,
        vault_id=VAULT.id,
        instance="inst",
        operation=JobOperation.SCHEDULED_BACKUP,
        status=status,
        start_time=T0,
        end_time=T0 + timedelta(seconds=42) if status.is_terminal else None,
        error_code=error_code,
    )


def instance(
    state: ProtectionState = ProtectionState.PROTECTION_CONFIGURED, failures: int = 0
) -> BackupInstance:
    return BackupInstance(
        vault=VAULT,
        name="inst",
        disk_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
        disk_location="eastus",
        policy_name="p",
        policy_document={},
        snapshot_resource_group_id="/subscriptions/s/resourceGroups/snaps",
        protection_state=state,
        health=BackupInstanceHealth(consecutive_failures=failures),
    )


def test_a_finished_job_is_counted_timed_logged_and_marks_its_span(
    capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    failed = job(JobStatus.FAILED, "UserErrorDiskNotFound")
    with (
        caplog.at_level(logging.INFO, logger="backup.jobs"),
        capture.telemetry.job_span("backup", vault=VAULT.id, instance="inst", job_id="job-1"),
    ):
        capture.telemetry.job_finished(failed)

    expected = {"job.type": "ScheduledBackup", "job.outcome": "Failed", "vault": VAULT.id, "instance": "inst"}
    ((attributes, point),) = capture.points(telemetry.JOBS_METRIC)
    assert (attributes, point.value) == (expected, 1)
    ((attributes, point),) = capture.points(telemetry.JOB_DURATION_METRIC)
    assert (attributes, point.count, point.sum) == (expected, 1, 42.0)
    (span,) = capture.finished()
    assert span.attributes is not None
    assert span.attributes["job.outcome"] == "Failed"
    assert span.attributes["error.code"] == "UserErrorDiskNotFound"
    (record,) = [r for r in caplog.records if r.getMessage() == telemetry.JOB_FINISHED_EVENT]
    assert record.levelno == logging.WARNING
    assert vars(record)["job.id"] == "job-1"
    assert vars(record)["error.code"] == "UserErrorDiskNotFound"


def test_a_job_outside_its_span_leaves_the_span_alone(capture: Capture) -> None:
    with capture.telemetry.job_span("backup", job_id="job-1"):
        capture.telemetry.job_finished(job(job_id="another-job"))
    (span,) = capture.finished()
    assert span.attributes is not None
    assert "job.outcome" not in span.attributes


def test_span_keywords_become_contract_attributes(capture: Capture) -> None:
    with capture.telemetry.job_span(
        "backup", vault="v", instance="i", job_id="j", disk_id="d", job_type="OnDemandBackup", extra=None
    ) as span:
        span.set_attribute(telemetry.RUN_OUTCOME, "Recorded")
    (finished,) = capture.finished()
    assert dict(finished.attributes or {}) == {
        "vault": "v",
        "instance": "i",
        "job.id": "j",
        "disk.id": "d",
        "job.type": "OnDemandBackup",
        "run.outcome": "Recorded",
    }


def test_an_error_escaping_a_span_sets_its_code(capture: Capture) -> None:
    with (
        pytest.raises(ThrottledError),
        capture.telemetry.job_span("backup", job_id="j"),
    ):
        raise ThrottledError("slow down", code="SubscriptionRequestsThrottled")
    (span,) = capture.finished()
    assert span.attributes is not None
    assert span.attributes["error.code"] == "SubscriptionRequestsThrottled"
    assert not span.status.is_ok
    assert [event.name for event in span.events] == ["exception"]


def test_records_logged_in_a_job_span_carry_the_job(
    capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(JobLogContext())
    other = logging.getLogger("backup.services.somewhere")
    with caplog.at_level(logging.INFO):
        other.info("before")
        with capture.telemetry.job_span(
            "backup", vault="v", instance="i", job_id="j", job_type="ScheduledBackup", disk_id="d"
        ):
            other.info("inside")
            other.info("explicit", extra={"instance": "kept"})
        other.info("after")
    by_message = {record.getMessage(): vars(record) for record in caplog.records}
    assert "job.id" not in by_message["before"]
    assert "job.id" not in by_message["after"]
    inside = by_message["inside"]
    assert (inside["job.id"], inside["job.type"], inside["vault"], inside["instance"]) == (
        "j",
        "ScheduledBackup",
        "v",
        "i",
    )
    assert "disk.id" not in inside
    assert by_message["explicit"]["instance"] == "kept"


def test_instances_by_health_reports_every_value(capture: Capture) -> None:
    capture.telemetry.instances_by_health(VAULT.id, {telemetry.UNHEALTHY: 2})
    assert sorted((a[telemetry.HEALTH], p.value) for a, p in capture.points(telemetry.INSTANCES_METRIC)) == [
        ("Healthy", 0),
        ("Inactive", 0),
        ("Unhealthy", 2),
    ]


@pytest.mark.parametrize(
    ("state", "failures", "active", "expected"),
    [
        (ProtectionState.PROTECTION_CONFIGURED, 0, True, "Healthy"),
        (ProtectionState.PROTECTION_CONFIGURED, 1, True, "Unhealthy"),
        (ProtectionState.PROTECTION_ERROR, 0, True, "Unhealthy"),
        (ProtectionState.PROTECTION_STOPPED, 3, True, "Inactive"),
        (ProtectionState.BACKUP_SCHEDULES_SUSPENDED, 0, True, "Inactive"),
        (ProtectionState.PROTECTION_CONFIGURED, 0, False, "Inactive"),
    ],
)
def test_instance_health(state: ProtectionState, failures: int, active: bool, expected: str) -> None:
    assert instance_health(instance(state, failures), active=active) == expected


@dataclass
class _Request:
    url: str
    method: str


@dataclass
class _Response:
    status_code: int


@dataclass
class _PipelineResponse:
    http_request: _Request
    http_response: _Response


def test_only_throttled_arm_responses_are_counted(capture: Capture) -> None:
    url = "https://management.azure.com/subscriptions/ABC-1/resourceGroups/rg/providers/x?api-version=1"
    for status in (200, 429, 429, 500):
        capture.telemetry.arm_response(_PipelineResponse(_Request(url, "PUT"), _Response(status)))  # type: ignore[arg-type]
    capture.telemetry.arm_response(_PipelineResponse(_Request("https://h/tenants", "GET"), _Response(429)))  # type: ignore[arg-type]
    points = {
        (a["subscription"], a["http.method"]): p.value for a, p in capture.points(telemetry.THROTTLED_METRIC)
    }
    assert points == {("abc-1", "PUT"): 2, ("", "GET"): 1}


def test_deletions_and_poison_messages(capture: Capture) -> None:
    capture.telemetry.recovery_points_deleted(VAULT.id, "inst", 3)
    capture.telemetry.recovery_points_deleted(VAULT.id, "inst", 0)
    capture.telemetry.poison_message("backup-runs-poison")
    ((attributes, point),) = capture.points(telemetry.RECOVERY_POINTS_DELETED_METRIC)
    assert (attributes, point.value) == ({"vault": VAULT.id, "instance": "inst"}, 3)
    ((attributes, point),) = capture.points(telemetry.POISON_METRIC)
    assert (attributes, point.value) == ({"queue": "backup-runs-poison"}, 1)


def test_authorization_errors_keep_their_arm_code(capture: Capture) -> None:
    with pytest.raises(AuthorizationError), capture.telemetry.job_span("reconcile", vault="v"):
        raise AuthorizationError("no", code="AuthorizationFailed")
    (span,) = capture.finished()
    assert span.name == "reconcile"
    assert dict(span.attributes or {}) == {"vault": "v", "error.code": "AuthorizationFailed"}


# Start-up ---------------------------------------------------------------------------------------


def test_importing_the_app_configures_no_telemetry() -> None:
    code = (
        "import function_app, backup.bootstrap, backup.telemetry\n"
        "from opentelemetry import metrics, trace\n"
        "import sys\n"
        "print(type(metrics.get_meter_provider()).__name__, type(trace.get_tracer_provider()).__name__,\n"
        "      'azure.monitor.opentelemetry' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["_ProxyMeterProvider", "ProxyTracerProvider", "False"]


class _FakeCredential:
    def __init__(self, *, client_id: str | None = None) -> None:
        self.client_id = client_id


def test_no_connection_string_no_azure_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    bootstrap.configure_telemetry(Settings(managed_identity_client_id="cid"))
    assert calls == []


def test_azure_monitor_exports_with_the_user_assigned_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv(
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000-0000-0000-0000-0"
    )
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr("azure.identity.ManagedIdentityCredential", _FakeCredential)
    configured: list[bool] = []
    monkeypatch.setattr(bootstrap, "configure_logging", lambda: configured.append(True))

    bootstrap.configure_telemetry(Settings(managed_identity_client_id="the-uami-client-id"))

    ((kwargs),) = calls
    assert isinstance(kwargs["credential"], _FakeCredential)
    assert kwargs["credential"].client_id == "the-uami-client-id"
    assert configured == [True]


def test_configure_logging_adds_the_job_context_to_the_exporting_handler() -> None:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider

    root, product = logging.getLogger(), logging.getLogger("backup")
    handler = LoggingHandler(logger_provider=LoggerProvider())
    saved_level = product.level
    root.addHandler(handler)
    try:
        product.setLevel(logging.NOTSET)
        telemetry.configure_logging()
        telemetry.configure_logging()  # idempotent
        assert [type(f) for f in handler.filters] == [JobLogContext]
        assert product.level == logging.INFO
    finally:
        root.removeHandler(handler)
        product.setLevel(saved_level)
