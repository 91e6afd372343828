"""The composition root: the one place that builds the product's adapters and services.

Every service, the API's included, is built here, once per process and lazily: the first
trigger that needs one builds it, and no network call happens until a client is first used.
Adapters are imported inside the functions that build them, so importing this module loads
no Azure SDK (cold start matters on Flex Consumption).

Tests and benchmarks build the same root with their own settings, clock and hooks
(:meth:`Runtime.from_settings`), replace an adapter with a fake by passing it in, and derive a
root over the same clients with one adapter swapped (:meth:`Runtime.replacing`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from backup import names
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.clock import Clock, OffsetClock, SystemClock
from backup.errors import AuthorizationError
from backup.services.backup_runner import BackupRunner
from backup.services.health import HealthReport, check
from backup.services.maintenance import Maintenance
from backup.services.on_demand import OnDemandBackups
from backup.services.overview import OverviewService
from backup.services.planner import Planner
from backup.services.policies import PolicyCache
from backup.services.protection import InstancePurger, ProtectionService
from backup.services.reconcile import Reconciler
from backup.services.restore import RestoreRunner, RestoreService
from backup.services.retention import RetentionSweeper
from backup.services.vault_identity import VaultIdentities
from backup.telemetry import Telemetry, configure_logging

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from backup.adapters.compute import ComputeGateway
    from backup.adapters.storage import RequestHook, StorageClients
    from backup.api.dependencies import ApiContext
    from backup.ports import (
        ArmBudget,
        ArmGateway,
        CallerRights,
        FilePublisher,
        InstanceRows,
        RoleAssignmentStore,
        SendLater,
        SendMessages,
        VaultStore,
    )

_log = logging.getLogger(__name__)


def clock_from(settings: Settings) -> Clock:
    if settings.clock_speed is None and settings.clock_origin is None:
        return SystemClock()
    origin = datetime.fromisoformat(settings.clock_origin) if settings.clock_origin else None
    return OffsetClock(origin=origin, speed=1.0 if settings.clock_speed is None else settings.clock_speed)


def arm_credential(settings: Settings) -> AsyncTokenCredential:
    if settings.arm_static_token:
        return AsyncStaticTokenCredential(settings.arm_static_token)
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=settings.managed_identity_client_id)


def identity_credential(settings: Settings, identity: str) -> AsyncTokenCredential:
    """A vault's own user-assigned identity (its ARM resource id), attached to the app.

    The one place a credential for such an identity is made: one the deployer bound to no vault
    (``VAULT_IDENTITY_BINDINGS``) gets none, whatever asks; which vault may use a bound one is
    checked where the vault is known (the API, the backup and restore workers)."""
    if identity.lower() not in settings.identity_bindings.scopes:
        raise AuthorizationError(
            f"The user-assigned identity '{identity}' is bound to no backup vault "
            "(app setting VAULT_IDENTITY_BINDINGS): nothing runs as it.",
            code="UserErrorIdentityNotBoundToVault",
        )
    if settings.arm_static_token:
        token = settings.arm_static_tokens.get(identity.lower())
        if token is None:
            raise AuthorizationError(
                f"No local token for the identity '{identity}': add it to ARM_STATIC_TOKENS.",
                code="UserErrorIdentityNotAttached",
            )
        return AsyncStaticTokenCredential(token)
    from azure.identity.aio import ManagedIdentityCredential

    return ManagedIdentityCredential(identity_config={"resource_id": identity})


def arm_budget(
    storage: StorageClients, clock: Clock, telemetry: Telemetry, settings: Settings | None = None
) -> ArmBudget:
    """ARM's request budget, shared by every process through the app's table (no I/O until used),
    at the limits the settings give (``ARM_BUDGET_LIMITS``; ARM's published ones by default)."""
    from backup.adapters.tables.budget import TableArmBudget

    limits = (settings or Settings()).arm_budget_limits
    return TableArmBudget(storage, clock, telemetry=telemetry, limits=limits)


def compute_gateway(settings: Settings, **options: Any) -> ComputeGateway:
    """ARM as the app's identity, and as any vault identity through ``for_identity``."""
    from backup.adapters.compute import ComputeGateway

    return ComputeGateway(
        arm_credential(settings),
        endpoint=settings.arm_endpoint,
        ca_bundle=settings.arm_ca_bundle,
        credential_for=lambda identity: identity_credential(settings, identity),
        **options,
    )


@dataclass
class Runtime:
    """The process's adapters (behind their ports) and every service built over them."""

    settings: Settings
    clock: Clock
    storage: StorageClients
    """Table and queue clients; the store and the queue senders are built over them by default."""
    compute: ArmGateway
    store: VaultStore
    send_backup_requests: SendMessages
    send_restore_requests: SendMessages
    instance_rows: InstanceRows | None = None
    telemetry: Telemetry = field(default_factory=Telemetry)
    policies: PolicyCache = field(default_factory=PolicyCache)
    auth_enabled: bool = False
    """Whether the API resolves callers from App Service Authentication (``API_AUTH_ENABLED``)."""
    retry_after_seconds: int = 10
    """``Retry-After`` on the API's 202 answers; tests use 0."""
    page_size: int = 100
    """Items per page of the API's lists."""
    send_backup_later: SendLater | None = None
    """The backup queue's delayed sends: a backup's next step (a poll, a wait for the budget)."""
    budget: ArmBudget | None = None
    """ARM's request budget shared by every process; ``None``: unpaced."""
    files: FilePublisher | None = None
    """Where the jobs export is written; ``None``: the host's blob endpoint, if it has one."""
    role_assignments: RoleAssignmentStore | None = None
    """The stored role grants; ``None``: the store's own (the table store serves both ports)."""
    caller_rights: CallerRights | None = None
    """The signed-in caller's own ARM rights; ``None``: ARM's permissions API with the caller's token."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        telemetry: Telemetry | None = None,
        storage_request_hook: RequestHook | None = None,
        arm_retry_total: int = 3,
        arm_polling_interval: float | None = None,
        store: VaultStore | None = None,
        compute: ArmGateway | None = None,
        send_backup_requests: SendMessages | None = None,
        send_restore_requests: SendMessages | None = None,
        auth_enabled: bool | None = None,
        retry_after_seconds: int = 10,
        page_size: int = 100,
        send_backup_later: SendLater | None = None,
        budget: ArmBudget | None = None,
        arm_clock: Clock | None = None,
        role_assignments: RoleAssignmentStore | None = None,
        caller_rights: CallerRights | None = None,
    ) -> Runtime:
        """Production adapters from the settings; tests and benchmarks override the clock, the
        hooks and the waits, and pass fakes for any port (store, ARM, queues, ARM's budget)."""
        from backup.adapters.instance_rows import TableInstanceRows
        from backup.adapters.queues import QueueSender
        from backup.adapters.storage import StorageClients
        from backup.adapters.tables.store import VaultStore as TableVaultStore

        telemetry = telemetry or Telemetry()
        storage = StorageClients(settings, request_hook=storage_request_hook)
        clock = clock or clock_from(settings)
        # ARM's buckets refill on ARM's time: a test that holds the product's clock still
        # passes a clock that keeps running (``arm_clock``); in production they are the same.
        budget = budget or arm_budget(storage, arm_clock or clock, telemetry, settings)
        if auth_enabled is None:
            from backup.api.auth import auth_enabled_from_env

            auth_enabled = auth_enabled_from_env()
        return cls(
            settings=settings,
            clock=clock,
            storage=storage,
            compute=compute
            or compute_gateway(
                settings,
                retry_total=arm_retry_total,
                polling_interval=arm_polling_interval,
                response_hook=telemetry.arm_response,
                budget=budget,
            ),
            store=store or TableVaultStore(storage),
            send_backup_requests=send_backup_requests or QueueSender(storage, names.BACKUP_QUEUE),
            send_restore_requests=send_restore_requests or QueueSender(storage, names.RESTORE_QUEUE),
            send_backup_later=send_backup_later or QueueSender(storage, names.BACKUP_QUEUE).later,
            budget=budget,
            # The row codec is pure (the row and its ETag as JSON), so it serves any store.
            instance_rows=TableInstanceRows(),
            telemetry=telemetry,
            auth_enabled=auth_enabled,
            retry_after_seconds=retry_after_seconds,
            page_size=page_size,
            role_assignments=role_assignments,
            caller_rights=caller_rights,
        )

    def replacing(self, **changes: Any) -> Runtime:
        """A root over the same clients with some adapters or settings replaced, e.g.
        ``runtime.replacing(store=crashing_store)``; its services are built afresh."""
        return dataclasses.replace(self, **changes)

    @cached_property
    def planner(self) -> Planner:
        return Planner(
            self.store,
            self.send_backup_requests,
            self.clock,
            self.telemetry,
            self.policies,
            rows=self.instance_rows,
            start_window=self.settings.backup_start_window,
        )

    @cached_property
    def runner(self) -> BackupRunner:
        return BackupRunner(
            self.store,
            self.compute,
            self.clock,
            self.telemetry,
            self.policies,
            rows=self.instance_rows,
            send_later=self.send_backup_later,
            budget=self.budget,
            start_window=self.settings.backup_start_window,
            identity_bindings=self.settings.identity_bindings,
        )

    @cached_property
    def sweeper(self) -> RetentionSweeper:
        return RetentionSweeper(self.store, self.compute, self.clock, self.telemetry)

    @cached_property
    def protection(self) -> ProtectionService:
        return ProtectionService(
            self.store,
            self.compute,
            self.clock,
            policies=self.policies,
        )

    @cached_property
    def purger(self) -> InstancePurger:
        return InstancePurger(self.store, self.compute, self.clock, telemetry=self.telemetry)

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.store, self.compute, self.clock, self.telemetry)

    @cached_property
    def maintenance(self) -> Maintenance:
        return Maintenance(self.store, self.clock, self.sweeper, self.purger, self.reconciler)

    @cached_property
    def overview(self) -> OverviewService:
        return OverviewService(self.store, self.clock)

    @cached_property
    def on_demand(self) -> OnDemandBackups:
        return OnDemandBackups(self.store, self.clock, self.send_backup_requests, self.policies)

    @cached_property
    def restores(self) -> RestoreService:
        return RestoreService(
            self.store,
            self.compute,
            self.clock,
            self.send_restore_requests,
            telemetry=self.telemetry,
            identity_bindings=self.settings.identity_bindings,
        )

    @cached_property
    def vault_identities(self) -> VaultIdentities:
        return VaultIdentities(self.compute)

    @cached_property
    def restore_runner(self) -> RestoreRunner:
        return RestoreRunner(
            self.store,
            self.compute,
            self.clock,
            self.telemetry,
            identity_bindings=self.settings.identity_bindings,
        )

    @cached_property
    def exports(self) -> FilePublisher | None:
        """The jobs export's blobs: with the app's identity on ``AzureWebJobsStorage__blobServiceUri``
        (user-delegation SAS, never an account key), or none when storage is a connection string."""
        if self.files is not None:
            return self.files
        if not self.settings.blob_service_uri:
            return None
        from azure.identity.aio import DefaultAzureCredential

        from backup.adapters.file_publisher import BlobFilePublisher

        client_id = self.settings.storage_client_id or self.settings.managed_identity_client_id
        return BlobFilePublisher(
            self.settings.blob_service_uri, DefaultAzureCredential(managed_identity_client_id=client_id)
        )

    @cached_property
    def api(self) -> ApiContext:
        """What the API's handlers get: this root's store, clock and services."""
        from backup.api.dependencies import ApiContext

        return ApiContext(
            settings=self.settings,
            store=self.store,
            clock=self.clock,
            services=self,
            role_assignments=self._role_assignments(),
            caller_rights=self._caller_rights(),
            auth_enabled=self.auth_enabled,
            retry_after_seconds=self.retry_after_seconds,
            page_size=self.page_size,
        )

    def _caller_rights(self) -> CallerRights:
        if self.caller_rights is not None:
            return self.caller_rights
        from backup.adapters.caller_rights import ArmCallerRights

        return ArmCallerRights(self.settings)

    def _role_assignments(self) -> RoleAssignmentStore:
        if self.role_assignments is not None:
            return self.role_assignments
        if hasattr(self.store, "role_assignments_of"):
            # The table store (and its in-memory fake) hold the grants next to everything else.
            return cast("RoleAssignmentStore", self.store)
        from backup.adapters.tables.store import VaultStore as TableVaultStore

        return TableVaultStore(self.storage)

    async def check_health(self) -> HealthReport:
        """The health endpoint's report: storage and ARM each asked once."""
        return await check(self.storage, self.compute)

    async def close(self) -> None:
        await self.compute.close()
        await self.storage.close()
        exports = self.__dict__.get("exports")
        close_exports = getattr(exports, "close", None)
        if close_exports is not None:
            await close_exports()


_runtime: Runtime | None = None
_runtime_loop: asyncio.AbstractEventLoop | None = None
_telemetry_configured = False


def runtime() -> Runtime:
    """The process's runtime, built from the environment on first use.

    Its async clients belong to the event loop they were built on. The Functions worker runs
    one loop for the life of the process, so this builds once; a process that runs several
    loops one after another (the local host in tests) gets a fresh runtime per loop.
    """
    global _runtime, _runtime_loop, _telemetry_configured
    loop = _current_loop()
    if _runtime is None or (_runtime_loop is not None and loop is not None and loop is not _runtime_loop):
        settings = Settings.from_env()
        if not _telemetry_configured:
            configure_telemetry(settings)
            _telemetry_configured = True
        _runtime = Runtime.from_settings(settings)
        _runtime_loop = loop
    return _runtime


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def use_runtime(replacement: Runtime | None) -> None:
    """Install a runtime built elsewhere (tests); it stays until replaced, whatever the loop."""
    global _runtime, _runtime_loop
    _runtime = replacement
    _runtime_loop = None


def configure_telemetry(settings: Settings) -> None:
    """Azure Monitor export, only when the app has a connection string (never in tests)."""
    import os

    from backup.config import APPLICATIONINSIGHTS_CONNECTION_STRING

    if not os.environ.get(APPLICATIONINSIGHTS_CONNECTION_STRING):
        return
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Application Insights has local auth disabled: export with the app's managed identity.
    configure_azure_monitor(
        credential=ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    )
    configure_logging()
    _log.info("Azure Monitor telemetry configured")
