"""An in-memory ``ComputeGateway``: disks, incremental snapshots, restores and RBAC, no network.

:class:`FakeArm` is the world (resource groups, disks, snapshots, role assignments, injected
faults, a clock); :class:`FakeComputeGateway` is the port as one identity sees it, exactly the
surface the services call. It keeps the rules the services depend on:

* RBAC as Azure evaluates it, with the Compute emulator's own role definitions and scope
  inheritance (``localdev.compute_emulator.rbac``): a call without its action is refused;
* snapshots named by the caller are idempotent: a second PUT keeps the first capture and its
  ``timeCreated`` (tags are replaced, as ARM's idempotent update does); the per-disk quota,
  the 7-per-5-minutes rate and the region rule refuse as DiskRP does;
* Premium SSD v2 and Ultra snapshots finish a background copy before they can be restored.

Every refusal is the ARM answer (status, code, message) the emulator gives, turned into the
product's exception by the real adapter's own ``translate``, so a service sees the same
``backup.errors`` class, code and ``retryable`` here as in production.
``tests/contracts/test_compute_contract.py`` holds this to the real adapter on the emulator.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from azure.core.exceptions import HttpResponseError, ODataV4Format, ServiceResponseError

from backup.domain.arm import ArmPrincipal
from backup.domain.clock import Clock
from backup.domain.lro import Accepted, InProgress
from backup.domain.pacing import BudgetScope
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError, BackupError, NotFoundError, ValidationError
from localdev.compute_emulator.errors import ArmError, not_found, resource_group_not_found
from localdev.compute_emulator.rbac import Authorizer
from localdev.compute_emulator.tokens import Principal as SeedPrincipal
from tests.fakes._types import DiskInfo, Permissions, SnapshotInfo, translate

APP_PRINCIPAL = "app"
"""The app's own identity in the fake's role assignments."""
BACKGROUND_COPY_SKUS = frozenset({"premiumv2_lrs", "ultrassd_lrs"})
FAULT_KINDS = ("throttle429", "error500", "connectionReset", "lroFailed")


def arm_failure(error: ArmError, *, long_running: bool = False) -> BackupError:
    """What the real adapter raises for this ARM answer: its ``translate`` decides.

    A long-running operation that ended Failed reaches ``translate`` as a 200 status poll
    carrying the operation's error code, so it is classified the same way here.
    """
    wire = HttpResponseError(message=error.message)
    wire.status_code = 200 if long_running else error.status
    wire.error = ODataV4Format({"code": error.code, "message": error.message})
    wire.response = SimpleNamespace(headers=dict(error.headers))
    return translate(wire)


def _linked_denied(principal: str, action: str, scope: str) -> BackupError:
    return arm_failure(
        ArmError(
            403,
            "LinkedAuthorizationFailed",
            f"The client '{principal}' does not have permission to perform action '{action}' "
            f"on the linked scope(s) '{scope}'.",
        )
    )


def _internal_execution_error() -> BackupError:
    return arm_failure(
        ArmError(500, "InternalExecutionError", "An internal execution error occurred. Please retry later."),
        long_running=True,
    )


def _immutable_source() -> BackupError:
    return arm_failure(
        ArmError(409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed.")
    )


@dataclass
class _Fault:
    operation: str
    kind: str
    remaining: int | None
    retry_after: int = 0


@dataclass
class _Snapshot:
    info: SnapshotInfo
    source_unique_id: str
    content: str
    copy_done_at: datetime | None
    size_gb: int
    seq: int


@dataclass
class _Operation:
    snapshot_key: str
    subscription_id: str
    polls_in_progress: int
    failed: bool


@dataclass
class _Group:
    id: str
    location: str


@dataclass
class FakeArm:
    """The Azure estate the fake gateways see, shared by every identity's gateway."""

    clock: Clock
    max_snapshots_per_disk: int = 500
    snapshot_rate_count: int = 7
    snapshot_rate_window: timedelta = timedelta(minutes=5)
    background_copy: timedelta = timedelta(seconds=60)
    groups: dict[str, _Group] = field(default_factory=dict)
    disks: dict[str, DiskInfo] = field(default_factory=dict)
    snapshots: dict[str, _Snapshot] = field(default_factory=dict)
    content: dict[str, str] = field(default_factory=dict)
    attached_identities: set[str] = field(default_factory=set)
    principals: dict[str, ArmPrincipal] = field(default_factory=dict)
    """Who each identity's token says it is (keyed as the gateways' ``principal``): the app's
    (``APP_PRINCIPAL``) and each attached identity's. An identity without an entry holds a token
    that does not say, as an opaque local token does."""
    calls: Counter[str] = field(default_factory=Counter)
    """ARM operations that reached the fake, by the emulator's operation names."""
    authorizer: Authorizer = field(default_factory=Authorizer)
    endpoint: str = "https://management.azure.com"
    polls_in_progress: int = 1
    """How many polls of a snapshot PUT's operation answer InProgress before it ends (the
    emulator's realistic timing: the first poll is still running)."""
    retry_after_accepted: float = 2.0
    retry_after_poll: float = 10.0
    """ARM's Retry-After on a 202 and on an InProgress poll (DiskRP's own numbers)."""
    operations: dict[str, _Operation] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)
    _rate_log: dict[str, list[datetime]] = field(default_factory=dict)
    _seq: int = 0

    # --- building the estate --------------------------------------------------------------------

    def add_group(self, group_id: str, location: str = "eastus") -> ResourceGroupId:
        parsed = ResourceGroupId.parse(group_id)
        self.groups[str(parsed).lower()] = _Group(str(parsed), location)
        return parsed

    def remove_group(self, group_id: str) -> None:
        self.groups.pop(str(ResourceGroupId.parse(group_id)).lower(), None)

    def add_disk(
        self,
        disk_id: str,
        *,
        sku: str = "StandardSSD_LRS",
        size_gb: int = 32,
        location: str | None = None,
        zone: str | None = None,
        tier: str | None = None,
        tags: Mapping[str, str] | None = None,
        content: str = "",
    ) -> DiskInfo:
        parsed = ComputeResourceId.disk(disk_id)
        group = self._group(parsed.resource_group_id)
        if group is None:
            raise ValueError(f"add the resource group of {disk_id} first")
        disk = DiskInfo(
            id=str(parsed),
            name=parsed.name,
            location=location or group.location,
            sku=sku,
            size_gb=size_gb,
            unique_id=str(uuid.uuid4()),
            provisioning_state="Succeeded",
            zone=zone,
            tier=tier,
            tags=dict(tags or {}),
        )
        self.disks[str(parsed).lower()] = disk
        self.content[str(parsed).lower()] = content
        return disk

    def remove_disk(self, disk_id: str) -> None:
        self.disks.pop(disk_id.lower(), None)

    def write_disk(self, disk_id: str, content: str) -> None:
        self.content[disk_id.lower()] = content

    def read_content(self, resource_id: str) -> str:
        """A disk's content, or what a snapshot captured (the emulator's ``/_admin/content``)."""
        snapshot = self.snapshots.get(resource_id.lower())
        return snapshot.content if snapshot else self.content[resource_id.lower()]

    def load_seed(self, seed: Mapping[str, Any]) -> None:
        """The Compute emulator's seed format (subscriptions, groups, disks, principals, role assignments)."""
        for subscription in seed.get("subscriptions", []):
            for group in subscription.get("resourceGroups", []):
                group_id = f"/subscriptions/{subscription['id']}/resourceGroups/{group['name']}"
                self.add_group(group_id, group.get("location", "eastus"))
                for disk in group.get("disks", []):
                    self.add_disk(
                        f"{group_id}/providers/Microsoft.Compute/disks/{disk['name']}",
                        sku=disk.get("sku", "Standard_LRS"),
                        size_gb=int(disk.get("sizeGB", 32)),
                        location=disk.get("location"),
                        zone=disk.get("zone"),
                        tags=disk.get("tags"),
                        content=disk.get("content", ""),
                    )
        for assignment in seed.get("roleAssignments", []):
            self.grant(assignment["principalId"], assignment["role"], assignment["scope"])
        # As a gateway holding the emulator's JWT for the principal sees itself.
        for doc in seed.get("principals", []):
            seeded = SeedPrincipal.from_doc(doc)
            self.principals[seeded.id] = ArmPrincipal(seeded.id, seeded.tenant_id, seeded.app_id)

    def set_snapshot_tags(self, snapshot_id: str, tags: Mapping[str, str]) -> None:
        """Someone else retags a snapshot (as a person in the portal might)."""
        found = self.snapshots[snapshot_id.lower()]
        found.info = replace(found.info, tags=dict(tags))

    def add_foreign_snapshot(
        self,
        snapshot_id: str,
        *,
        source_id: str,
        tags: Mapping[str, str],
        incremental: bool = True,
        provisioning_state: str = "Succeeded",
    ) -> SnapshotInfo:
        """A snapshot someone else took (of a disk, or a copy of a snapshot), carrying any tags.

        Bypasses RBAC and the per-disk rules, as another principal's PUT would for our gateway.
        """
        parsed = ComputeResourceId.snapshot(snapshot_id)
        disk = self.disks.get(source_id.lower())
        copied = self.snapshots.get(source_id.lower())
        if disk is not None:
            location, source, unique_id = disk.location, disk.id, str(disk.unique_id)
            content, size = self.content.get(disk.id.lower(), ""), disk.size_gb
        elif copied is not None:
            location, source, unique_id = copied.info.location, copied.info.id, str(uuid.uuid4())
            content, size = copied.content, copied.size_gb
        else:
            raise ValueError(f"add the source {source_id} first")
        info = SnapshotInfo(
            id=str(parsed),
            name=parsed.name,
            location=location,
            tags=dict(tags),
            incremental=incremental,
            provisioning_state=provisioning_state,
            time_created=self.clock.now(),
            completion_percent=None,
            source_resource_id=source,
            source_unique_id=unique_id,
        )
        self.snapshots[info.id.lower()] = _Snapshot(info, unique_id, content, None, size, self.next_seq())
        return info

    def remove_snapshot(self, snapshot_id: str) -> None:
        self.snapshots.pop(snapshot_id.lower(), None)

    def snapshot_ids(self) -> list[str]:
        return [found.info.id for found in sorted(self.snapshots.values(), key=lambda s: s.seq)]

    def grant(self, principal: str, role: str, scope: str) -> None:
        self.authorizer.grant(principal, role, scope)

    def revoke(self, principal: str, role: str, scope: str) -> None:
        self.authorizer.revoke(principal, role, scope)

    def set_principal(self, identity: str | None, principal: ArmPrincipal | None) -> None:
        """What ``identity``'s token (``None``: the app's) says about who holds it; ``None``: nothing."""
        key = APP_PRINCIPAL if identity is None else identity.lower()
        if principal is None:
            self.principals.pop(key, None)
        else:
            self.principals[key] = principal

    def attach_identity(self, identity: str) -> None:
        """A vault's user-assigned identity, attached to the app (its gateway may act as it)."""
        self.attached_identities.add(identity.lower())

    def fail(self, operation: str, kind: str, *, times: int | None = None, retry_after: int = 0) -> None:
        """Inject a fault into the next ``times`` calls of ``operation`` (``None``: every call).

        ``operation`` uses the emulator's names (``Disks_Get``, ``Snapshots_CreateOrUpdate``, ...);
        ``kind`` is one of :data:`FAULT_KINDS`, as the emulator's fault rules name them.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._faults.append(_Fault(operation, kind, times, retry_after))

    def clear_faults(self) -> None:
        self._faults.clear()

    # --- the rules ------------------------------------------------------------------------------

    def _group(self, group: ResourceGroupId) -> _Group | None:
        return self.groups.get(str(group).lower())

    def _subscription_known(self, subscription_id: str) -> bool:
        return any(
            g.id.lower().startswith(f"/subscriptions/{subscription_id.lower()}/")
            for g in self.groups.values()
        )

    def enter(self, operation: str) -> str | None:
        """Count the call and draw a fault; returns ``lroFailed`` when the operation must end Failed."""
        self.calls[operation] += 1
        for fault in list(self._faults):
            if fault.operation.lower() not in (operation.lower(), "*"):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            if fault.kind == "lroFailed":
                return "lroFailed"
            if fault.kind == "connectionReset":
                raise translate(ServiceResponseError("Connection reset by peer"))
            if fault.kind == "throttle429":
                raise arm_failure(
                    ArmError(
                        429,
                        "SubscriptionRequestsThrottled",
                        "Number of requests for the subscription exceeded. Please try again after "
                        f"'{fault.retry_after}' seconds.",
                        headers={"Retry-After": str(fault.retry_after)},
                    )
                )
            raise arm_failure(ArmError(500, "InternalServerError", "Encountered internal server error."))
        return None

    def require(self, principal: str, action: str, scope: str) -> None:
        try:
            self.authorizer.require(principal, action, scope)
        except ArmError as error:
            raise arm_failure(error) from None

    def require_group(self, group: ResourceGroupId) -> _Group:
        found = self._group(group)
        if found is None:
            raise arm_failure(resource_group_not_found(group.resource_group))
        return found

    def completion(self, snapshot: _Snapshot) -> float:
        if snapshot.copy_done_at is None:
            return 100.0
        total = self.background_copy.total_seconds()
        left = (snapshot.copy_done_at - self.clock.now()).total_seconds()
        return round(max(0.0, min(100.0, 100.0 * (total - left) / total)), 1) if total > 0 else 100.0

    def render(self, snapshot: _Snapshot) -> SnapshotInfo:
        return replace(
            snapshot.info, completion_percent=self.completion(snapshot), tags=dict(snapshot.info.tags)
        )

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def check_snapshot_rules(self, disk: DiskInfo, snapshot: ComputeResourceId) -> None:
        if disk.id.split("/")[2].lower() != snapshot.subscription_id.lower():
            raise arm_failure(
                ArmError(
                    400,
                    "BadRequest",
                    "An incremental snapshot can only be created in the disk's subscription.",
                )
            )
        family = [s for s in self.snapshots.values() if s.source_unique_id == disk.unique_id]
        if len(family) >= self.max_snapshots_per_disk:
            raise arm_failure(
                ArmError(
                    409,
                    "SnapshotsLimitReached",
                    f"The snapshot count was exceeded for disk '{disk.id}': a disk can have at most "
                    f"{self.max_snapshots_per_disk} incremental snapshots at a time.",
                )
            )
        now = self.clock.now()
        recent = [
            t for t in self._rate_log.get(str(disk.unique_id), []) if t > now - self.snapshot_rate_window
        ]
        self._rate_log[str(disk.unique_id)] = recent
        if len(recent) >= self.snapshot_rate_count:
            raise arm_failure(
                ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Up to {self.snapshot_rate_count} incremental snapshots of a disk can be created every "
                    f"{int(self.snapshot_rate_window.total_seconds())} seconds; the disk reached that rate.",
                )
            )
        recent.append(now)


class FakeComputeGateway:
    """``ComputeGateway`` as one identity (the app's, or a vault's user-assigned one)."""

    def __init__(self, arm: FakeArm, principal: str = APP_PRINCIPAL) -> None:
        self.arm = arm
        self.principal = principal
        self._identities: dict[str, FakeComputeGateway] = {}

    def for_identity(self, identity: str | None) -> FakeComputeGateway:
        if identity is None:
            return self
        key = identity.lower()
        if key not in self.arm.attached_identities:
            raise AuthorizationError(
                f"This app has no credential for the identity '{identity}': attach it to the app "
                "(deploy parameter extraUserAssignedIdentities).",
                code="UserErrorIdentityNotAttached",
            )
        return self._identities.setdefault(key, FakeComputeGateway(self.arm, key))

    async def calling_principal(self) -> ArmPrincipal | None:
        return self.arm.principals.get(self.principal)

    async def get_disk(self, disk: ComputeResourceId) -> DiskInfo:
        arm = self.arm
        arm.enter("Disks_Get")
        arm.require(self.principal, "Microsoft.Compute/disks/read", str(disk))
        arm.require_group(disk.resource_group_id)
        found = arm.disks.get(str(disk).lower())
        if found is None:
            raise arm_failure(not_found("Microsoft.Compute/disks", disk.name, disk.resource_group))
        return replace(found, tags=dict(found.tags))

    async def find_disk(self, disk: ComputeResourceId) -> DiskInfo | None:
        try:
            return await self.get_disk(disk)
        except NotFoundError:
            return None

    def budget_scope(self, subscription_id: str) -> BudgetScope:
        return BudgetScope(
            subscription_id.lower(), None if self.principal == APP_PRINCIPAL else self.principal
        )

    async def create_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> SnapshotInfo:
        failed = self.arm.enter("Snapshots_CreateOrUpdate")
        record = self._put_snapshot(source, snapshot, tags, failed is not None)
        if failed:
            raise _internal_execution_error()
        return self.arm.render(record)

    async def begin_incremental_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str]
    ) -> Accepted | SnapshotInfo:
        arm = self.arm
        failed = arm.enter("Snapshots_CreateOrUpdate")
        record = self._put_snapshot(source, snapshot, tags, failed is not None)
        operation_id = str(uuid.uuid4())
        arm.operations[operation_id] = _Operation(
            record.info.id.lower(), snapshot.subscription_id, arm.polls_in_progress, failed is not None
        )
        return Accepted(
            f"{arm.endpoint}/subscriptions/{snapshot.subscription_id}/providers/Microsoft.Compute/locations/"
            f"{record.info.location}/DiskOperations/{operation_id}?api-version=2026-03-02",
            arm.retry_after_accepted,
        )

    async def poll_snapshot(
        self, operation_url: str, snapshot: ComputeResourceId
    ) -> InProgress | SnapshotInfo:
        arm = self.arm
        if not operation_url.lower().startswith(arm.endpoint.lower() + "/"):
            raise ValidationError(
                f"The operation URL {operation_url} is not on the ARM endpoint {arm.endpoint}; "
                "it is not followed.",
                code="UntrustedOperationUrl",
            )
        arm.enter("DiskOperations_Get")
        operation_id = operation_url.split("?")[0].rsplit("/", 1)[-1]
        operation = arm.operations.get(operation_id)
        if operation is None or operation.subscription_id.lower() != snapshot.subscription_id.lower():
            raise arm_failure(ArmError(404, "NotFound", f"The operation '{operation_id}' was not found."))
        if operation.polls_in_progress > 0:
            operation.polls_in_progress -= 1
            return InProgress(arm.retry_after_poll)
        if operation.failed:
            raise _internal_execution_error()
        found = arm.snapshots.get(operation.snapshot_key)
        if found is None:
            raise arm_failure(
                not_found("Microsoft.Compute/snapshots", snapshot.name, snapshot.resource_group)
            )
        return arm.render(found)

    def _put_snapshot(
        self, source: DiskInfo, snapshot: ComputeResourceId, tags: Mapping[str, str], failed: bool
    ) -> _Snapshot:
        """The PUT's synchronous part: checks, then the capture (or the idempotent tag update)."""
        arm = self.arm
        arm.require(self.principal, "Microsoft.Compute/snapshots/write", str(snapshot))
        arm.require_group(snapshot.resource_group_id)
        existing = arm.snapshots.get(str(snapshot).lower())
        if existing is not None:
            if existing.info.location.lower() != source.location.replace(" ", "").lower():
                raise arm_failure(
                    ArmError(
                        409,
                        "InvalidResourceLocation",
                        f"The resource '{snapshot.name}' already exists in '{existing.info.location}'.",
                    )
                )
            if (existing.info.source_resource_id or "").lower() != source.id.lower():
                raise arm_failure(
                    ArmError(
                        409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed."
                    )
                )
            existing.info = replace(existing.info, tags=dict(tags))
            if existing.info.provisioning_state == "Failed" and not failed:
                existing.info = replace(existing.info, provisioning_state="Succeeded")  # a re-PUT repairs it
            return existing
        if not arm.authorizer.is_allowed(
            self.principal, "Microsoft.Compute/disks/beginGetAccess/action", source.id
        ):
            raise _linked_denied(self.principal, "Microsoft.Compute/disks/beginGetAccess/action", source.id)
        disk = arm.disks.get(source.id.lower())
        if disk is None:
            raise arm_failure(ArmError(404, "NotFound", f"Resource {source.id} is not found."))
        if source.location.replace(" ", "").lower() != disk.location.lower():
            raise arm_failure(
                ArmError(
                    400,
                    "BadRequest",
                    f"Snapshot '{snapshot.name}' must be created in the region of its source "
                    f"('{disk.location}'), not '{source.location}'.",
                )
            )
        arm.check_snapshot_rules(disk, snapshot)
        now = arm.clock.now()
        background = disk.sku.lower() in BACKGROUND_COPY_SKUS
        info = SnapshotInfo(
            id=f"{snapshot.resource_group_id}/providers/Microsoft.Compute/snapshots/{snapshot.name}",
            name=snapshot.name,
            location=disk.location,
            tags=dict(tags),
            incremental=True,
            provisioning_state="Failed" if failed else "Succeeded",
            time_created=now,
            completion_percent=None,
            source_resource_id=disk.id,
            source_unique_id=disk.unique_id,
        )
        record = _Snapshot(
            info,
            str(disk.unique_id),
            arm.content.get(disk.id.lower(), ""),
            now + arm.background_copy if background else None,
            disk.size_gb,
            arm.next_seq(),
        )
        arm.snapshots[info.id.lower()] = record
        return record

    async def get_snapshot(self, snapshot: ComputeResourceId) -> SnapshotInfo | None:
        arm = self.arm
        arm.enter("Snapshots_Get")
        arm.require(self.principal, "Microsoft.Compute/snapshots/read", str(snapshot))
        if arm._group(snapshot.resource_group_id) is None:
            return None
        found = arm.snapshots.get(str(snapshot).lower())
        return arm.render(found) if found else None

    async def delete_snapshot(self, snapshot: ComputeResourceId) -> None:
        arm = self.arm
        arm.enter("Snapshots_Delete")
        arm.require(self.principal, "Microsoft.Compute/snapshots/delete", str(snapshot))
        arm.snapshots.pop(str(snapshot).lower(), None)

    async def list_disks(self, resource_group: ResourceGroupId) -> list[DiskInfo]:
        arm = self.arm
        arm.enter("Disks_ListByResourceGroup")
        arm.require(self.principal, "Microsoft.Compute/disks/read", str(resource_group))
        arm.require_group(resource_group)
        prefix = str(resource_group).lower() + "/"
        return [
            replace(disk, tags=dict(disk.tags))
            for key, disk in sorted(arm.disks.items())
            if key.startswith(prefix)
        ]

    async def list_snapshots(self, resource_group: ResourceGroupId) -> list[SnapshotInfo]:
        arm = self.arm
        arm.enter("Snapshots_ListByResourceGroup")
        arm.require(self.principal, "Microsoft.Compute/snapshots/read", str(resource_group))
        arm.require_group(resource_group)
        prefix = str(resource_group).lower() + "/"
        return [
            arm.render(found)
            for found in sorted(arm.snapshots.values(), key=lambda s: s.seq)
            if found.info.id.lower().startswith(prefix)
        ]

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
    ) -> DiskInfo:
        arm = self.arm
        failed = arm.enter("Disks_CreateOrUpdate")
        arm.require(self.principal, "Microsoft.Compute/disks/write", str(target))
        arm.require_group(target.resource_group_id)
        existing = arm.disks.get(str(target).lower())
        if existing is not None:
            if (existing.source_resource_id or "").lower() != snapshot.id.lower():
                raise arm_failure(
                    ArmError(
                        409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed."
                    )
                )
            return existing
        if not (
            arm.authorizer.is_allowed(
                self.principal, "Microsoft.Compute/snapshots/beginGetAccess/action", snapshot.id
            )
            or arm.authorizer.is_allowed(self.principal, "Microsoft.Compute/snapshots/read", snapshot.id)
        ):
            raise _linked_denied(
                self.principal, "Microsoft.Compute/snapshots/beginGetAccess/action", snapshot.id
            )
        source = arm.snapshots.get(snapshot.id.lower())
        if source is None:
            raise arm_failure(ArmError(404, "NotFound", f"Resource {snapshot.id} is not found."))
        if arm.completion(source) < 100:
            raise arm_failure(
                ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Snapshot '{snapshot.id}' is still completing its background copy.",
                )
            )
        if location.replace(" ", "").lower() != source.info.location.lower():
            raise arm_failure(
                ArmError(
                    400,
                    "BadRequest",
                    f"The disk must be created in the region of its source ('{source.info.location}').",
                )
            )
        disk = DiskInfo(
            id=str(target),
            name=target.name,
            location=source.info.location,
            sku=sku,
            size_gb=source.size_gb,
            unique_id=str(uuid.uuid4()),
            provisioning_state="Failed" if failed else "Succeeded",
            zone=zone,
            tier=tier,
            disk_encryption_set_id=disk_encryption_set_id,
            tags=dict(tags or {}),
            source_resource_id=source.info.id,
        )
        arm.disks[str(target).lower()] = disk
        arm.content[str(target).lower()] = source.content
        if failed:
            raise arm_failure(
                ArmError(
                    500, "InternalExecutionError", "An internal execution error occurred. Please retry later."
                ),
                long_running=True,
            )
        return disk

    async def resource_group_exists(self, group: ResourceGroupId) -> bool:
        arm = self.arm
        arm.enter("ResourceGroups_Get")
        if not arm._subscription_known(group.subscription_id):
            return False
        arm.require(self.principal, "Microsoft.Resources/subscriptions/resourceGroups/read", str(group))
        return arm._group(group) is not None

    async def ping(self) -> None:
        self.arm.enter("Ping")

    async def permissions(self, scope: ResourceGroupId | ComputeResourceId) -> Permissions:
        arm = self.arm
        group = scope if isinstance(scope, ResourceGroupId) else scope.resource_group_id
        arm.enter(
            "Permissions_ListForResourceGroup"
            if isinstance(scope, ResourceGroupId)
            else "Permissions_ListForResource"
        )
        arm.require_group(group)
        entries = [
            (tuple(entry["actions"]), tuple(entry["notActions"]))
            for entry in arm.authorizer.permissions(self.principal, str(scope))
        ]
        return Permissions(tuple(entries))

    async def close(self) -> None:
        return None


def disk_ref(disk: DiskInfo) -> ComputeResourceId:
    return ComputeResourceId.disk(disk.id)


def fault_rule(operation: str, kind: str) -> dict[str, Any]:
    """The same fault as an emulator rule (``PUT /_admin/faults``), for the contract suite."""
    return {"operation": operation, kind: 1.0}
