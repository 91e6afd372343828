"""What API handlers get: the store, the clock and ARM, as one process-wide :class:`ApiContext`.

Nothing is built at import time. :func:`get_context` builds the context on first use from
the process runtime (``backup.bootstrap.runtime()``), so the API and the engine's triggers
share clients and clock; tests build their own (:meth:`ApiContext.create`) and either pass
it to :meth:`Router.handle <backup.api.router.Router.handle>` directly or install it with
:func:`set_context` for the Functions trigger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backup.adapters.compute import ComputeGateway
from backup.adapters.storage import StorageClients
from backup.adapters.tables.store import VaultStore
from backup.api.auth import auth_enabled_from_env
from backup.bootstrap import Runtime, runtime
from backup.config import Settings
from backup.domain.clock import Clock, SystemClock

_IDENTITY_NAMESPACE = uuid.UUID("6f1d3c52-9a57-4d1e-8f3b-2c4b0f6a9e11")
UNKNOWN_TENANT_ID = "00000000-0000-0000-0000-000000000000"


@dataclass
class ApiContext:
    settings: Settings
    store: VaultStore
    clock: Clock
    storage: StorageClients | None = None
    auth_enabled: bool = False
    retry_after_seconds: int = 10
    """``Retry-After`` on 202 answers; tests use 0."""
    page_size: int = 100
    compute: ComputeGateway | None = None
    """ARM (disks, snapshots, permissions) as the app identity; built from the settings on first
    use when not given (see :meth:`compute_gateway`)."""
    _owns_compute: bool = False
    _owns_storage: bool = True
    runtime: Runtime | None = None
    """The process runtime this context shares clients with, if any."""

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        auth_enabled: bool | None = None,
        retry_after_seconds: int = 10,
        page_size: int = 100,
        compute: ComputeGateway | None = None,
    ) -> ApiContext:
        storage = StorageClients(settings)
        return cls(
            settings=settings,
            store=VaultStore(storage),
            clock=clock or SystemClock(),
            storage=storage,
            auth_enabled=auth_enabled_from_env() if auth_enabled is None else auth_enabled,
            retry_after_seconds=retry_after_seconds,
            page_size=page_size,
            compute=compute,
        )

    @classmethod
    def from_runtime(cls, shared: Runtime) -> ApiContext:
        """Share the engine's clients and clock; the runtime owns them (closing is its business)."""
        return cls(
            settings=shared.settings,
            store=shared.store,
            clock=shared.clock,
            storage=shared.storage,
            auth_enabled=auth_enabled_from_env(),
            compute=shared.compute,
            _owns_storage=False,
            runtime=shared,
        )

    def compute_gateway(self) -> ComputeGateway:
        """The ARM gateway: the one given, or one built from the settings (and closed with the context)."""
        if self.compute is None:
            from backup.bootstrap import compute_gateway

            self.compute = compute_gateway(self.settings)
            self._owns_compute = True
        return self.compute

    @property
    def identity_principal_id(self) -> str:
        """``identity.principalId`` shown on SystemAssigned vaults.

        Vaults have no identity of their own here: every ARM call is made with the Function
        App's managed identity. The id shown is a stable GUID derived from that identity's
        client id (``AZURE_CLIENT_ID``), or from ``"system-assigned"`` when none is set; it is
        not the identity's object id, which the app cannot learn without Graph access.
        """
        seed = self.settings.managed_identity_client_id or "system-assigned"
        return str(uuid.uuid5(_IDENTITY_NAMESPACE, seed.lower()))

    @property
    def tenant_id(self) -> str:
        return UNKNOWN_TENANT_ID

    async def close(self) -> None:
        if self.compute is not None and self._owns_compute:
            await self.compute.close()
            self.compute = None
        if self.storage is not None and self._owns_storage:
            await self.storage.close()


_context: ApiContext | None = None


def get_context() -> ApiContext:
    """The API's view of the process runtime: same clients, same clock as the engine's triggers."""
    global _context
    shared = runtime()
    if _context is None or (_context.runtime is not None and _context.runtime is not shared):
        _context = ApiContext.from_runtime(shared)
    return _context


def set_context(context: ApiContext | None) -> None:
    """Install (or with ``None`` drop) the process-wide context; for tests and the composition root."""
    global _context
    _context = context
