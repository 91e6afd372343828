"""What the app emits to Azure Monitor. ``infra/telemetry-contract.json`` is the other half.

The alert rules in ``infra/app/alerts.bicep`` query exactly these names and dimensions
(tests/infra checks both sides against the contract). Instruments come from the global
OpenTelemetry providers, which ``configure_azure_monitor`` installs at start-up when the app
has a connection string; without it they are no-ops, so tests and local runs pay nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import metrics, trace

if TYPE_CHECKING:
    from backup.domain.jobs import Job

INSTRUMENTATION_SCOPE: Final = "azure-disk-backup"

JOBS_METRIC: Final = "backup.jobs"
LAST_SUCCESS_AGE_METRIC: Final = "backup.last_success_age_seconds"
POISON_METRIC: Final = "backup.poison_messages"
JOB_FINISHED_EVENT: Final = "backup.job.finished"

JOB_TYPE: Final = "job.type"
JOB_OUTCOME: Final = "job.outcome"
JOB_ID: Final = "job.id"
VAULT: Final = "vault"
INSTANCE: Final = "instance"
INTERVAL_SECONDS: Final = "interval_seconds"
QUEUE: Final = "queue"
ERROR_CODE: Final = "error.code"

_log = logging.getLogger("backup.jobs")


class Telemetry:
    """The product's instruments; build one per process (the composition root does)."""

    def __init__(
        self,
        meter_provider: metrics.MeterProvider | None = None,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(INSTRUMENTATION_SCOPE)
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(INSTRUMENTATION_SCOPE)
        self._jobs = meter.create_counter(
            JOBS_METRIC, unit="{job}", description="Jobs that reached a final state"
        )
        self._age = meter.create_gauge(
            LAST_SUCCESS_AGE_METRIC, unit="s", description="Seconds since the newest successful backup"
        )
        self._poison = meter.create_counter(
            POISON_METRIC, unit="{message}", description="Messages moved to a poison queue"
        )

    def job_finished(self, job: Job) -> None:
        attributes = {
            JOB_TYPE: job.operation.value,
            JOB_OUTCOME: job.status.value,
            VAULT: job.vault_id,
            INSTANCE: job.instance,
        }
        self._jobs.add(1, attributes)
        failed = job.error_code is not None and not job.status.succeeded
        _log.log(
            logging.WARNING if failed else logging.INFO,
            JOB_FINISHED_EVENT,
            extra={**attributes, JOB_ID: job.id, ERROR_CODE: job.error_code or ""},
        )

    def last_success_age(
        self, vault_id: str, instance: str, age_seconds: float, interval_seconds: int
    ) -> None:
        self._age.set(
            age_seconds, {VAULT: vault_id, INSTANCE: instance, INTERVAL_SECONDS: str(interval_seconds)}
        )

    def poison_message(self, queue: str) -> None:
        self._poison.add(1, {QUEUE: queue})

    @contextmanager
    def job_span(self, name: str, **attributes: Any) -> Iterator[trace.Span]:
        with self._tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span
