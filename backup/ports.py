"""The ports: what the services and the API need from the world outside the process.

Services and API endpoints name these ``typing.Protocol``s, never an adapter, so any object
with the same methods serves: the Table Storage store and the ARM gateway in production
(:mod:`backup.adapters`), in-memory fakes in fast tests. Only the composition root
(:mod:`backup.bootstrap`) knows which adapter stands behind each port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from backup.domain.access import RoleAssignment, Scope
from backup.domain.arm import ArmPrincipal, DiskInfo, Permissions, SnapshotInfo
from backup.domain.clock import Clock
from backup.domain.guards import GuardApproval, GuardRef
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.jobs import Job, JobIndexScan
from backup.domain.lro import Accepted, InProgress
from backup.domain.models import ProtectionState, RecoveryPoint
from backup.domain.overview import VaultOverview
from backup.domain.pacing import BudgetScope, Category
from backup.domain.records import DatasourceClaim, ExpiryEntry, PlanState, Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.vault_limits import VaultLimits

__all__ = [
    "ArmBudget",
    "ArmGateway",
    "CallerRights",
    "Clock",
    "FilePublisher",
    "InstanceRows",
    "PublishedFile",
    "Reachable",
    "RoleAssignmentStore",
    "SendLater",
    "SendMessages",
    "VaultStore",
]

SendMessages = Callable[[Sequence[str]], Awaitable[None]]
"""Puts messages on one queue (the composition root binds one per queue)."""

SendLater = Callable[[str, float], Awaitable[None]]
"""Puts one message on a queue, invisible for the given seconds (a continuation or a deferral:
a fresh message, so waiting for ARM's budget never spends one of the message's deliveries)."""


class VaultStore(Protocol):
    """The product's state: vaults, policies, instances and their plans, recovery points, jobs,
    operations, datasource claims and restore usage. Writes that another writer could reach
    take the ETag the value was read at (:class:`Versioned`) and raise
    :class:`~backup.errors.ConcurrencyError` or :class:`~backup.errors.ConflictError` on a lost race."""

    async def claim_marker(self, name: str, now: datetime, every: timedelta) -> bool: ...

    async def register_vault(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str: ...

    async def get_vault(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None: ...

    async def list_vaults(self) -> list[VaultRef]: ...

    async def list_vault_documents(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]: ...

    async def delete_vault(self, vault: VaultRef, etag: str) -> None: ...

    async def put_policy(
        self, vault: VaultRef, name: str, document: Mapping[str, Any], etag: str | None = None
    ) -> str: ...

    async def get_policy(self, vault: VaultRef, name: str) -> tuple[str, Versioned[Mapping[str, Any]]] | None:
        """The policy's name as first spelled, and its versioned document."""
        ...

    async def list_policies(self, vault: VaultRef) -> list[tuple[str, str, Versioned[Mapping[str, Any]]]]: ...

    async def delete_policy(self, vault: VaultRef, name: str, etag: str) -> None: ...

    async def instance_names(self, vault: VaultRef, *, policy: str | None = None) -> list[str]: ...

    async def create_instance(
        self, instance: BackupInstance, plan: PlanState
    ) -> Versioned[BackupInstance]: ...

    async def get_instance(self, vault: VaultRef, name: str) -> Versioned[BackupInstance] | None: ...

    async def update_instance(
        self, current: Versioned[BackupInstance], updated: BackupInstance, plan: PlanState | None = None
    ) -> Versioned[BackupInstance]: ...

    async def list_instances(
        self, vault: VaultRef, *, state: ProtectionState | None = None
    ) -> list[Versioned[BackupInstance]]: ...

    async def instances_page(
        self, vault: VaultRef, *, after: str | None = None, limit: int, deleted: bool = False
    ) -> tuple[list[BackupInstance], bool]:
        """Up to ``limit`` visible (``deleted``: soft-deleted) instances named after ``after``
        (lower case), by lower-cased name, and whether more follow. Reads about ``limit`` rows."""
        ...

    async def delete_instance(self, current: Versioned[BackupInstance]) -> None: ...

    async def instance_index_ready(self, vault: VaultRef) -> bool:
        """Whether the vault's instance index covers every instance (its backfill ran)."""
        ...

    async def indexed_instances_page(
        self, vault: VaultRef, *, field: str, value: str, after: str | None = None, limit: int
    ) -> tuple[list[BackupInstance], bool]:
        """Like :meth:`instances_page`, only instances under ``value`` (any case) of an index
        ``field``: ``health`` or ``status`` (protectionStatus). Reads about ``limit`` index rows and
        one instance row per match."""
        ...

    async def backfill_instance_index(self, vault: VaultRef) -> int:
        """Index the instance rows written before the index, once per vault (a marker row says
        it is done); returns how many it indexed."""
        ...

    async def instances_with_plans(
        self, vault: VaultRef
    ) -> list[tuple[Versioned[BackupInstance] | None, Versioned[PlanState] | None]]: ...

    async def save_plans(self, vault: VaultRef, plans: Sequence[Versioned[PlanState]]) -> int: ...

    async def mark_plans_sent(
        self, vault: VaultRef, sent: Sequence[tuple[str, datetime]], at: datetime
    ) -> int:
        """Record that each (instance, slot)'s message was sent at ``at``: only the plan rows'
        sent columns change (no ETag: the rest of the row may have moved on); rows that are
        gone are skipped. Returns how many rows were marked."""
        ...

    async def record_backup(
        self,
        current: Versioned[BackupInstance],
        updated: BackupInstance,
        point: RecoveryPoint,
        job: Job,
    ) -> Versioned[BackupInstance]: ...

    async def recover_point(
        self, current: Versioned[BackupInstance], updated: BackupInstance, point: RecoveryPoint
    ) -> Versioned[BackupInstance]: ...

    async def record_failure(
        self, current: Versioned[BackupInstance] | None, updated: BackupInstance | None, job: Job
    ) -> None: ...

    async def put_job(self, job: Job) -> None: ...

    async def get_job(self, vault: VaultRef, job_id: str) -> Job | None: ...

    async def list_jobs(self, vault: VaultRef) -> list[Job]: ...

    def jobs_page(
        self,
        vault: VaultRef,
        *,
        after_id: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        margin_hours: int = 48,
        index: JobIndexScan | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Job]:
        """Newest first after ``after_id``; ``index`` reads only the jobs whose field has one of
        its values (once the vault's jobs are indexed). Callers check their filter exactly."""
        ...

    async def count_failed_since(self, vault: VaultRef, since: datetime) -> int:
        """Failed jobs that started at or after ``since``: O(failed jobs in the window)."""
        ...

    async def job_index_ready(self, vault: VaultRef) -> bool: ...

    async def index_legacy_jobs(self, vault: VaultRef) -> int:
        """Index the jobs written before the job index existed, once per vault (a marker row)."""
        ...

    async def purge_stale_job_index(self, vault: VaultRef) -> int:
        """Remove the stale markers status changes left in the job index."""
        ...

    async def get_recovery_point(
        self, vault: VaultRef, instance: str, point_id: str
    ) -> Versioned[RecoveryPoint] | None: ...

    async def list_recovery_points(
        self, vault: VaultRef, instance: str, *, include_deleted: bool = False
    ) -> list[RecoveryPoint]: ...

    async def recovery_points_page(
        self,
        vault: VaultRef,
        instance: str,
        *,
        limit: int,
        after_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> tuple[list[RecoveryPoint], bool]: ...

    async def expired(self, vault: VaultRef, now: datetime) -> list[ExpiryEntry]: ...

    async def record_deletions(
        self,
        current: Versioned[BackupInstance],
        updated: BackupInstance,
        deleted: Iterable[tuple[RecoveryPoint, ExpiryEntry | None]],
        jobs: Iterable[Job],
        *,
        deleted_at: datetime,
    ) -> Versioned[BackupInstance]: ...

    async def delete_recovery_points(
        self, vault: VaultRef, points: Sequence[RecoveryPoint], jobs: Iterable[Job] = ()
    ) -> None: ...

    async def release_recovery_point(
        self, vault: VaultRef, point: RecoveryPoint, in_use_until: datetime
    ) -> None: ...

    async def move_legacy_tombstones(self, vault: VaultRef, *, now: datetime) -> int: ...

    async def purge_deleted_history(self, vault: VaultRef, expired_before: datetime) -> int: ...

    async def put_operation(
        self,
        vault: VaultRef,
        operation_id: str,
        document: Mapping[str, Any],
        *,
        status: str,
        create: bool = False,
        etag: str | None = None,
    ) -> str: ...

    async def get_operation(
        self, vault: VaultRef, operation_id: str
    ) -> Versioned[Mapping[str, Any]] | None: ...

    async def put_vault_overview(self, summary: VaultOverview) -> None: ...

    async def get_vault_overview(self, vault: VaultRef) -> VaultOverview | None: ...

    async def put_vault_limits(self, vault: VaultRef, limits: VaultLimits) -> None:
        """Replace the vault's scope limits whole."""
        ...

    async def get_vault_limits(self, vault: VaultRef) -> VaultLimits | None:
        """The vault's scope limits; ``None`` when an owner never set them."""
        ...

    async def get_datasource_claim(self, disk_id: str) -> Versioned[DatasourceClaim] | None: ...

    async def put_datasource_claim(self, claim: DatasourceClaim, etag: str | None = None) -> str: ...

    async def release_datasource_claim(self, disk_id: str, vault: VaultRef, instance: str) -> None: ...

    async def accept_on_demand_backup(
        self, current: Versioned[BackupInstance], updated: BackupInstance, job: Job
    ) -> Versioned[BackupInstance]: ...

    async def get_restore_usage(
        self, vault: VaultRef, instance: str
    ) -> Versioned[tuple[datetime, ...]] | None: ...

    async def accept_restore(
        self,
        vault: VaultRef,
        instance: str,
        *,
        usage: Versioned[tuple[datetime, ...]] | None,
        recent_restores: Sequence[datetime],
        job: Job,
        point: Versioned[RecoveryPoint],
        in_use_until: datetime,
    ) -> None:
        """Count the restore, create its job and lease the point, atomically. A lost race (the
        count or the point changed since read, or the count was created since its absence was
        read) raises :class:`~backup.errors.ConcurrencyError` and writes nothing."""
        ...

    # multi-user authorization: resource guards, their approvals, a vault's link to a guard

    async def put_resource_guard(
        self, guard: GuardRef, record: Mapping[str, Any], etag: str | None = None
    ) -> str: ...

    async def get_resource_guard(self, guard: GuardRef) -> Versioned[Mapping[str, Any]] | None: ...

    async def list_resource_guards(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]: ...

    async def delete_resource_guard(self, guard: GuardRef, etag: str) -> None: ...

    async def put_guard_approval(self, guard: GuardRef, approval: GuardApproval) -> None: ...

    async def list_guard_approvals(self, guard: GuardRef) -> list[GuardApproval]: ...

    async def put_guard_proxy(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str: ...

    async def get_guard_proxy(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None: ...

    async def delete_guard_proxy(self, vault: VaultRef, etag: str) -> None: ...


class RoleAssignmentStore(Protocol):
    """Who holds which app role at which scope (:mod:`backup.domain.access`), as stored grants.

    An assignment's name (a GUID) is unique across every scope, as in Azure; a principal holds
    a role at a scope at most once. Reads serve the two questions the API asks: the grants of a
    caller (by its principal ids) and the assignments at given scopes (a scope's list).
    """

    async def create_role_assignment(self, assignment: RoleAssignment) -> None:
        """Store a new assignment; :class:`~backup.errors.ConflictError` ``RoleAssignmentExists``
        when its name is taken (at any scope) or the principal already holds the role there."""
        ...

    async def get_role_assignment(self, scope: Scope, name: str) -> RoleAssignment | None: ...

    async def delete_role_assignment(self, assignment: RoleAssignment) -> None:
        """Remove it (every row of it); an assignment already gone is no error."""
        ...

    async def role_assignments_at(self, scopes: Sequence[Scope]) -> list[RoleAssignment]:
        """The assignments made exactly at each of these scopes (not below), by scope then name."""
        ...

    async def role_assignments_of(self, principal_ids: Iterable[str]) -> list[RoleAssignment]:
        """Every assignment naming one of these principals, at any scope."""
        ...


class InstanceRows(Protocol):
    """The stored form of an instance, carried in a queue message so a worker need not read it."""

    def encode_instance(self, current: Versioned[BackupInstance]) -> dict[str, Any]: ...

    def decode_instance(self, vault: VaultRef, encoded: Mapping[str, Any]) -> Versioned[BackupInstance]: ...


class ArmGateway(Protocol):
    """Azure Resource Manager: disks, snapshots and permissions, as one identity.

    Every failure is one of :mod:`backup.errors` (retryable or permanent by class)."""

    def for_identity(self, identity: str | None) -> ArmGateway: ...

    async def calling_principal(self) -> ArmPrincipal | None:
        """Who this gateway's ARM calls are made as: the object id, tenant and client id in the
        access token its credential gets for ARM. Learned once per identity and kept; ``None``
        (and logged) when the token does not say (not a JWT, no ``oid``/``tid``) or no token
        could be had (then asked again next time). Never raises."""
        ...

    async def get_disk(self, disk: ComputeResourceId) -> DiskInfo: ...

    async def find_disk(self, disk: ComputeResourceId) -> DiskInfo | None: ...

    async def create_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> SnapshotInfo: ...

    async def begin_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> Accepted | SnapshotInfo:
        """PUT the snapshot and return ARM's first answer without waiting. Paced by the caller:
        it holds a write token of :meth:`budget_scope` first; a 429 raises ``ThrottledError``
        at once (no SDK retry), with ARM's Retry-After."""
        ...

    async def poll_snapshot(
        self, operation_url: str, snapshot: ComputeResourceId
    ) -> InProgress | SnapshotInfo:
        """One GET of the PUT's operation (only on the ARM endpoint's host): still running, or
        the snapshot; a Failed operation raises its product error. Paced by the caller (a read token)."""
        ...

    def budget_scope(self, subscription_id: str) -> BudgetScope:
        """Whose ARM bucket this gateway's calls in the subscription spend."""
        ...

    async def get_snapshot(self, snapshot: ComputeResourceId) -> SnapshotInfo | None: ...

    async def delete_snapshot(self, snapshot: ComputeResourceId) -> None: ...

    async def list_disks(self, resource_group: ResourceGroupId) -> list[DiskInfo]: ...

    async def list_snapshots(self, resource_group: ResourceGroupId) -> list[SnapshotInfo]: ...

    async def create_disk_from_snapshot(
        self,
        target: ComputeResourceId,
        snapshot: SnapshotInfo,
        *,
        location: str,
        sku: str,
        zone: str | None = None,
        tier: str | None = None,
        disk_encryption_set_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> DiskInfo: ...

    async def resource_group_exists(self, group: ResourceGroupId) -> bool: ...

    async def ping(self) -> None: ...

    async def permissions(self, scope: ResourceGroupId | ComputeResourceId) -> Permissions: ...

    async def close(self) -> None: ...


class CallerRights(Protocol):
    """The caller's own Azure rights (linked checks), asked of ARM's permissions API with the
    caller's own ARM access token: what the app may do is not what the caller may."""

    async def missing(
        self, token: str, scope: ResourceGroupId | ComputeResourceId, actions: tuple[str, ...]
    ) -> list[str]:
        """The ``actions`` the token's principal may not perform at ``scope``;
        :class:`~backup.errors.NotFoundError` when the scope does not exist."""
        ...


class ArmBudget(Protocol):
    """ARM's request budget per (subscription, principal) and category, shared across processes.

    Every ARM request the app makes first reserves a token here; what ARM answers (the
    ``x-ms-ratelimit-remaining-*`` headers, a 429's Retry-After) is reported back, so the
    pace follows what ARM really grants, including to other clients spending the same bucket."""

    async def reserve(self, scope: BudgetScope, category: Category, count: int = 1) -> list[float]:
        """Hold ``count`` tokens; for each, the seconds from now at which it may be spent
        (ascending, 0.0 for "now"). A held token is spent by the request it was held for.
        Tokens are held only a short horizon ahead: beyond it nothing is held and
        :class:`~backup.errors.ThrottledError` says (``retry_after``) when to ask again."""
        ...

    async def report(
        self,
        scope: BudgetScope,
        category: Category,
        *,
        remaining: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """What ARM answered: the remaining tokens it reported, or a 429's Retry-After."""
        ...


class Reachable(Protocol):
    """Something the health check can ask whether it answers."""

    async def ping(self) -> None: ...


@dataclass(frozen=True)
class PublishedFile:
    """A file written where its reader fetches it: its URL and a read-only SAS for it alone."""

    url: str
    """The blob's URL, without a query."""
    sas_token: str
    """A user-delegation SAS (query string without ``?``), signed by a key the app's identity
    obtained from Entra, never by an account key; it reads this blob and nothing else."""
    expires_at: datetime


class FilePublisher(Protocol):
    """Writes files for callers to download (the jobs export), each readable through its SAS."""

    async def publish(self, name: str, content: bytes, content_type: str) -> PublishedFile: ...
