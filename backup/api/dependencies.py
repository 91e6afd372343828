"""What API handlers get: the store, the clock, the services and the request-independent settings.

The composition root (:attr:`backup.bootstrap.Runtime.api`) builds the one :class:`ApiContext`
of a process, over the same store, clock and services as the engine's triggers. Request-scoped
data (the caller, the api-version) travels in :class:`~backup.api.router.RequestContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from backup.config import Settings
from backup.domain.clock import Clock
from backup.ports import CallerRights, FilePublisher, RoleAssignmentStore, VaultStore

if TYPE_CHECKING:
    from backup.services.on_demand import OnDemandBackups
    from backup.services.overview import OverviewService
    from backup.services.protection import ProtectionService
    from backup.services.restore import RestoreService
    from backup.services.vault_identity import VaultIdentities


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
    def vault_identities(self) -> VaultIdentities: ...

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
    role_assignments: RoleAssignmentStore
    caller_rights: CallerRights
    """The signed-in caller's own ARM rights (linked checks, :mod:`backup.api.linked_checks`)."""
    auth_enabled: bool = False
    retry_after_seconds: int = 10
    """``Retry-After`` on 202 answers; tests use 0."""
    page_size: int = 100
