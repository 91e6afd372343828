"""The composition root: builds the product's clients and services, lazily, once per process.

Nothing here runs at import time (cold start matters on Flex Consumption): the first trigger
that needs the runtime builds it, and no network call happens until a client is first used.
Tests build their own :class:`Runtime` with the emulator's endpoint, Azurite and a manual clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from backup import names
from backup.adapters.compute import ComputeGateway
from backup.adapters.storage import RequestHook, StorageClients
from backup.adapters.tables.store import VaultStore
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.clock import Clock, OffsetClock, SystemClock
from backup.errors import AuthorizationError
from backup.services.backup_runner import BackupRunner
from backup.services.planner import Planner, send_all
from backup.services.policies import PolicyCache
from backup.services.protection import ProtectionService
from backup.services.reconcile import Reconciler
from backup.services.restore import RestoreRunner
from backup.services.retention import RetentionSweeper
from backup.telemetry import Telemetry, configure_logging

if TYPE_CHECKING:
    from collections.abc import Sequence

    from azure.core.credentials_async import AsyncTokenCredential

_log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(days=1)


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
    """A vault's own user-assigned identity (its ARM resource id), attached to the app."""
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


def compute_gateway(settings: Settings, **options: Any) -> ComputeGateway:
    """ARM as the app's identity, and as any vault identity through ``for_identity``."""
    return ComputeGateway(
        arm_credential(settings),
        endpoint=settings.arm_endpoint,
        ca_bundle=settings.arm_ca_bundle,
        credential_for=lambda identity: identity_credential(settings, identity),
        **options,
    )


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    storage: StorageClients
    compute: ComputeGateway
    telemetry: Telemetry = field(default_factory=Telemetry)
    policies: PolicyCache = field(default_factory=PolicyCache)

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
    ) -> Runtime:
        """Production defaults; tests and benchmarks override the clock, the hooks and the waits."""
        telemetry = telemetry or Telemetry()
        return cls(
            settings=settings,
            clock=clock or clock_from(settings),
            storage=StorageClients(settings, request_hook=storage_request_hook),
            compute=compute_gateway(
                settings,
                retry_total=arm_retry_total,
                polling_interval=arm_polling_interval,
                response_hook=telemetry.arm_response,
            ),
            telemetry=telemetry,
        )

    @cached_property
    def store(self) -> VaultStore:
        return VaultStore(self.storage)

    @cached_property
    def planner(self) -> Planner:
        return Planner(self.store, self.send_backup_requests, self.clock, self.telemetry, self.policies)

    @cached_property
    def runner(self) -> BackupRunner:
        return BackupRunner(self.store, self.compute, self.clock, self.telemetry, self.policies)

    @cached_property
    def sweeper(self) -> RetentionSweeper:
        return RetentionSweeper(self.store, self.compute, self.clock, self.telemetry)

    @cached_property
    def protection(self) -> ProtectionService:
        return ProtectionService(
            self.store,
            self.compute,
            self.clock,
            soft_delete_days=self.settings.soft_delete_retention_days,
            telemetry=self.telemetry,
            policies=self.policies,
        )

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.store, self.compute, self.clock, self.telemetry)

    @cached_property
    def restore_runner(self) -> RestoreRunner:
        return RestoreRunner(self.store, self.compute, self.clock, self.telemetry)

    async def send_backup_requests(self, messages: Sequence[str]) -> None:
        queue = await self.storage.queue(names.BACKUP_QUEUE)
        await send_all(queue.send_message, messages)

    async def sweep_and_reconcile(self) -> None:
        """The retention timer: prune every tick; rebuild missing recovery points once a day."""
        result = await self.sweeper.sweep()
        _log.info(
            "retention deleted %d recovery points (%d not ours, %d errors)",
            len(result.deleted),
            len(result.not_ours),
            len(result.errors),
        )
        purged = await self.protection.purge_due()
        _log.info("purged %d soft-deleted instances", len(purged.purged))
        if await self.store.claim_marker("reconcile", self.clock.now(), RECONCILE_EVERY):
            report = await self.reconciler.reconcile()
            _log.info("reconciliation recovered %d recovery points", len(report.recovered))

    async def close(self) -> None:
        await self.compute.close()
        await self.storage.close()


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
