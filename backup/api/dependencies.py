"""What API handlers get: the store, the clock, the services and the request-independent settings.

The composition root (:attr:`backup.bootstrap.Runtime.api`) builds the one :class:`ApiContext`
of a process, over the same store, clock and services as the engine's triggers. Request-scoped
data (the caller, the api-version) travels in :class:`~backup.api.router.RequestContext`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from backup.config import Settings
from backup.domain.clock import Clock
from backup.ports import FilePublisher, VaultStore

if TYPE_CHECKING:
    from backup.services.on_demand import OnDemandBackups
    from backup.services.overview import OverviewService
    from backup.services.protection import ProtectionService
    from backup.services.restore import RestoreService

_IDENTITY_NAMESPACE = uuid.UUID("6f1d3c52-9a57-4d1e-8f3b-2c4b0f6a9e11")
UNKNOWN_TENANT_ID = "00000000-0000-0000-0000-000000000000"


class ApiServices(Protocol):
    """The services the API's handlers call; the composition root provides them."""

    @property
    def protection(self) -> ProtectionService: ...

    @property
    def on_demand(self) -> OnDemandBackups: ...

    @property
    def restores(self) -> RestoreService: ...

    @property
    def overview(self) -> OverviewService: ...

    @property
    def exports(self) -> FilePublisher | None:
        """Where the jobs export is written; ``None`` when the app's storage cannot sign a
        user-delegation SAS (a connection string)."""
        ...


@dataclass
class ApiContext:
    settings: Settings
    store: VaultStore
    clock: Clock
    services: ApiServices
    auth_enabled: bool = False
    retry_after_seconds: int = 10
    """``Retry-After`` on 202 answers; tests use 0."""
    page_size: int = 100

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
