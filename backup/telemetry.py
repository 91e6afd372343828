"""What the app emits to Azure Monitor. ``infra/telemetry-contract.json`` is the other half.

The alert rules in ``infra/app/alerts.bicep`` query exactly these names and dimensions
(tests/infra checks the queries against the contract, and the contract against the constants
below). Instruments come from the global OpenTelemetry providers, which
``configure_azure_monitor`` installs at start-up when the app has a connection string;
without it they are no-ops, so tests and local runs pay nothing. Tests pass their own
providers (``Telemetry(meter_provider=..., tracer_provider=...)``).

Nothing here configures OpenTelemetry or touches the network at import time.

* **Metrics** (``customMetrics``): jobs by type and outcome, job durations, recovery points
  deleted, instances by health, staleness of the newest successful backup, throttled ARM
  responses, poison messages, look-alike snapshots that custody refused.
* **Spans** (``dependencies``, internal): one per job (backup, restore, retention deletion) and
  one per vault reconciliation, carrying vault, instance, disk id, job id, outcome, error code.
* **Logs** (``traces``): one ``backup.job.finished`` record per finished job; every record
  logged inside a job span carries the job's id, type, vault and instance when
  :class:`JobLogContext` is installed on the exporting handler (``configure_logging``).
  One ``backup.snapshot.lookalike`` WARNING record per look-alike snapshot, with its id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import metrics, trace

from backup.domain.instance_status import HEALTH_VALUES, HEALTHY, INACTIVE, UNHEALTHY, instance_health
from backup.errors import BackupError

__all__ = ["HEALTHY", "HEALTH_VALUES", "INACTIVE", "UNHEALTHY", "instance_health"]

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineResponse
    from opentelemetry.util.types import AttributeValue

    from backup.domain.custody import CustodyVerdict
    from backup.domain.jobs import Job

INSTRUMENTATION_SCOPE: Final = "azure-disk-backup"

# Metrics (customMetrics.name).
JOBS_METRIC: Final = "backup.jobs"
JOB_DURATION_METRIC: Final = "backup.job_duration_seconds"
LAST_SUCCESS_AGE_METRIC: Final = "backup.last_success_age_seconds"
POISON_METRIC: Final = "backup.poison_messages"
RECOVERY_POINTS_DELETED_METRIC: Final = "backup.recovery_points_deleted"
INSTANCES_METRIC: Final = "backup.instances"
THROTTLED_METRIC: Final = "backup.arm_throttled_responses"
SLOTS_MISSED_METRIC: Final = "backup.slots.missed"
LOOKALIKE_METRIC: Final = "backup.snapshots.lookalike"
BUDGET_RATE_METRIC: Final = "backup.arm_budget.rate"
BUDGET_DEFERRED_METRIC: Final = "backup.arm_budget.deferred"

# Log records (traces.message).
JOB_FINISHED_EVENT: Final = "backup.job.finished"
SLOT_MISSED_EVENT: Final = "backup.slot.missed"
LOOKALIKE_EVENT: Final = "backup.snapshot.lookalike"

# Spans (dependencies.name).
BACKUP_SPAN: Final = "backup"
RESTORE_SPAN: Final = "restore"
RETENTION_DELETION_SPAN: Final = "retention-deletion"
RECONCILE_SPAN: Final = "reconcile"

# Dimensions and attributes (customDimensions keys).
JOB_TYPE: Final = "job.type"
JOB_OUTCOME: Final = "job.outcome"
JOB_ID: Final = "job.id"
VAULT: Final = "vault"
INSTANCE: Final = "instance"
DISK_ID: Final = "disk.id"
INTERVAL_SECONDS: Final = "interval_seconds"
QUEUE: Final = "queue"
ERROR_CODE: Final = "error.code"
RUN_OUTCOME: Final = "run.outcome"
"""What one run of a span did, in the runner's words (Recorded, Duplicate, Skipped, Failed, Retrying)."""
HEALTH: Final = "health"
SUBSCRIPTION: Final = "subscription"
HTTP_METHOD: Final = "http.method"
CUSTODY_PATH: Final = "custody.path"
"""Which path refused a look-alike snapshot: one of :data:`CUSTODY_PATHS`."""
CUSTODY_FINDING: Final = "custody.finding"
"""Why: a :class:`backup.domain.custody.Finding` value."""
CUSTODY_DETAIL: Final = "custody.detail"
SNAPSHOT_ID: Final = "snapshot.id"
PRINCIPAL: Final = "principal"
CATEGORY: Final = "category"

# Values of HEALTH: HEALTHY, UNHEALTHY, INACTIVE (HEALTH_VALUES), from backup.domain.instance_status.

# Values of CUSTODY_PATH.
CUSTODY_PATHS: Final = ("reconcile", "restore", "retention", "purge", "backup")

# The attributes the job_span keywords become.
_SPAN_KEYWORDS: Final = {
    "vault": VAULT,
    "instance": INSTANCE,
    "job_id": JOB_ID,
    "disk_id": DISK_ID,
    "job_type": JOB_TYPE,
    "outcome": RUN_OUTCOME,
    "error_code": ERROR_CODE,
}
_SUBSCRIPTION_IN_PATH = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)

_log = logging.getLogger("backup.jobs")
_custody_log = logging.getLogger("backup.custody")


@dataclass(frozen=True)
class _ActiveJob:
    span: trace.Span
    log_attributes: Mapping[str, str]


_active_job: ContextVar[_ActiveJob | None] = ContextVar("backup_active_job", default=None)


class JobLogContext(logging.Filter):
    """Adds the current job's id, type, vault and instance to every record logged inside a job span.

    Install it on the handler that exports logs (``configure_logging`` does, for Azure Monitor's);
    attributes the record already has are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        active = _active_job.get()
        if active is not None:
            for key, value in active.log_attributes.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


def configure_logging() -> None:
    """After ``configure_azure_monitor``: job context on exported records, product INFO records kept."""
    product = logging.getLogger("backup")
    if product.level == logging.NOTSET:
        product.setLevel(logging.INFO)  # job records are INFO; the root logger drops INFO by default
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, LoggingHandler) and not any(
            isinstance(existing, JobLogContext) for existing in handler.filters
        ):
            handler.addFilter(JobLogContext())


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
        self._duration = meter.create_histogram(
            JOB_DURATION_METRIC, unit="s", description="Duration of finished jobs, start to end"
        )
        self._age = meter.create_gauge(
            LAST_SUCCESS_AGE_METRIC, unit="s", description="Seconds since the newest successful backup"
        )
        self._poison = meter.create_counter(
            POISON_METRIC, unit="{message}", description="Messages moved to a poison queue"
        )
        self._deleted = meter.create_counter(
            RECOVERY_POINTS_DELETED_METRIC,
            unit="{recovery_point}",
            description="Recovery points deleted by retention",
        )
        self._instances = meter.create_gauge(
            INSTANCES_METRIC, unit="{instance}", description="Backup instances of a vault by health"
        )
        self._throttled = meter.create_counter(
            THROTTLED_METRIC,
            unit="{response}",
            description="429 responses from Azure Resource Manager, each retried or surfaced",
        )
        self._missed = meter.create_counter(
            SLOTS_MISSED_METRIC,
            unit="{slot}",
            description="Scheduled slots recorded as missed (no backup started within the start window)",
        )
        self._lookalikes = meter.create_counter(
            LOOKALIKE_METRIC,
            unit="{snapshot}",
            description="Snapshots that claim to be a recovery point and failed verification",
        )
        self._budget_rate = meter.create_gauge(
            BUDGET_RATE_METRIC,
            unit="{request}/s",
            description="ARM requests per second the app allows itself, per bucket",
        )
        self._budget_deferred = meter.create_counter(
            BUDGET_DEFERRED_METRIC,
            unit="{request}",
            description="ARM requests the budget made wait (a token later than now, or none yet)",
        )

    # Jobs ------------------------------------------------------------------------------------

    def job_finished(self, job: Job) -> None:
        """A job reached a final state: count it, time it, log it, and mark its span."""
        attributes = {
            JOB_TYPE: job.operation.value,
            JOB_OUTCOME: job.status.value,
            VAULT: job.vault_id,
            INSTANCE: job.instance,
        }
        self._jobs.add(1, attributes)
        if job.duration_seconds is not None:
            self._duration.record(max(0.0, job.duration_seconds), attributes)
        self.job_outcome(job)
        failed = job.error_code is not None and not job.status.succeeded
        _log.log(
            logging.WARNING if failed else logging.INFO,
            JOB_FINISHED_EVENT,
            extra={**attributes, JOB_ID: job.id, ERROR_CODE: job.error_code or ""},
        )

    def job_outcome(self, job: Job) -> Job:
        """Put the job's final status (and error code) on its span, if that span is the current one."""
        active = _active_job.get()
        if active is not None and active.log_attributes.get(JOB_ID) == job.id and job.status.is_terminal:
            active.span.set_attributes({JOB_TYPE: job.operation.value, JOB_OUTCOME: job.status.value})
            if job.error_code:
                active.span.set_attribute(ERROR_CODE, job.error_code)
        return job

    @contextmanager
    def job_span(self, name: str, **attributes: AttributeValue | None) -> Iterator[trace.Span]:
        """A span around one job (or one vault's reconciliation).

        Keywords ``vault``, ``instance``, ``job_id``, ``disk_id``, ``job_type``, ``outcome`` and
        ``error_code`` become the contract's attribute names; ``None`` values are left out. A
        :class:`BackupError` escaping the span sets ``error.code``; the span records the exception.
        """
        named = {
            _SPAN_KEYWORDS.get(key, key): value for key, value in attributes.items() if value is not None
        }
        logged: dict[str, str] = {
            key: str(named[key]) for key in (JOB_ID, JOB_TYPE, VAULT, INSTANCE) if key in named
        }
        with self._tracer.start_as_current_span(name, attributes=named) as span:
            token = _active_job.set(_ActiveJob(span, logged))
            try:
                yield span
            except BackupError as error:
                span.set_attribute(ERROR_CODE, error.code)
                raise
            finally:
                _active_job.reset(token)

    # Instances ---------------------------------------------------------------------------------

    def last_success_age(
        self, vault_id: str, instance: str, age_seconds: float, interval_seconds: int
    ) -> None:
        self._age.set(
            age_seconds, {VAULT: vault_id, INSTANCE: instance, INTERVAL_SECONDS: str(interval_seconds)}
        )

    def instances_by_health(self, vault_id: str, counts: Mapping[str, int]) -> None:
        """Every health value of the vault, zeros included, so a recovered state drops to 0."""
        for health in HEALTH_VALUES:
            self._instances.set(counts.get(health, 0), {VAULT: vault_id, HEALTH: health})

    def slot_missed(self, job: Job) -> None:
        """A slot was recorded as missed (its Failed ``BackupSlotMissed`` job): count it and log it.

        Deliberately not :meth:`job_finished`: a missed slot is not a failed run, and its own
        alert aggregates per instance and outage instead of firing once per job."""
        attributes = {VAULT: job.vault_id, INSTANCE: job.instance}
        self._missed.add(1, attributes)
        _log.warning(
            SLOT_MISSED_EVENT,
            extra={
                **attributes,
                JOB_ID: job.id,
                ERROR_CODE: job.error_code or "",
                "error.message": job.error_message or "",
            },
        )

    def recovery_points_deleted(self, vault_id: str, instance: str, count: int) -> None:
        if count:
            self._deleted.add(count, {VAULT: vault_id, INSTANCE: instance})

    def lookalike_snapshot(self, vault_id: str, path: str, snapshot_id: str, verdict: CustodyVerdict) -> None:
        """A snapshot custody refused (never adopted, restored or deleted): count it, log its id."""
        finding = verdict.finding.value
        self._lookalikes.add(1, {VAULT: vault_id, CUSTODY_PATH: path, CUSTODY_FINDING: finding})
        _custody_log.warning(
            LOOKALIKE_EVENT,
            extra={
                VAULT: vault_id,
                CUSTODY_PATH: path,
                CUSTODY_FINDING: finding,
                CUSTODY_DETAIL: verdict.detail,
                SNAPSHOT_ID: snapshot_id,
            },
        )

    # Platform ----------------------------------------------------------------------------------

    def poison_message(self, queue: str) -> None:
        self._poison.add(1, {QUEUE: queue})

    def arm_response(self, response: PipelineResponse[Any, Any]) -> None:
        """azure-core ``raw_response_hook``: count every 429 an ARM client receives (each attempt)."""
        if response.http_response.status_code != 429:
            return
        request = response.http_request
        match = _SUBSCRIPTION_IN_PATH.search(request.url)
        self._throttled.add(
            1, {SUBSCRIPTION: match.group(1).lower() if match else "", HTTP_METHOD: request.method}
        )

    def budget_rate(self, subscription_id: str, principal: str, category: str, rate: float) -> None:
        """The rate one ledger allows after a write (``principal``: ``app`` or the identity's key)."""
        self._budget_rate.set(rate, {SUBSCRIPTION: subscription_id, PRINCIPAL: principal, CATEGORY: category})

    def budget_deferred(self, subscription_id: str, principal: str, category: str, count: int) -> None:
        if count:
            self._budget_deferred.add(
                count, {SUBSCRIPTION: subscription_id, PRINCIPAL: principal, CATEGORY: category}
            )
