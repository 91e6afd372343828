"""The protection lifecycle of a backup instance: validate, configure, stop, suspend, resume,
delete (soft), undelete and purge. Used by the API and the CLI; nothing here knows HTTP.

Validation (``validateForBackup`` and every PUT) checks, in this order, each failure with
Azure's error code and a message that says what to grant or fix where:

1. the request: a ``Microsoft.Compute/disks`` datasource, a policy of this vault, one
   ``AzureOperationalStoreParameters`` naming the snapshot resource group (400s);
2. the disk is not protected already, in this vault or any other
   (``UserErrorDppDatasourceAlreadyProtected``), through the datasource claims below;
3. the snapshot resource group is in the disk's subscription (``UserErrorSnapshotRGSubscriptionMismatch``);
4. the disk exists (``UserErrorManagedDiskNotFound``);
5. the app identity holds the Disk Backup Reader actions on the disk and the Disk Snapshot
   Contributor actions on the snapshot resource group (``UserErrorMissingRequiredPermissions``,
   naming role, scope and missing actions, read through the ARM permissions API);
6. the snapshot resource group exists (``UserErrorSnapshotRGNotFound``);
7. the disk is in the vault's region and of a supported type, and a Premium SSD v2 / Ultra
   disk gets a 12-hourly or daily policy (``UserErrorDiskBackupDiskTypeNotSupported``,
   ``UserErrorDatasourceAndVaultLocationMismatch``, ``UserErrorPolicyFrequencyNotSupportedForDisk``).

Steps 1-2 read only Table Storage (:meth:`ProtectionService.check_request`); 3-7 call ARM
(:meth:`ProtectionService.check_resources`) and raise :class:`ProtectionCheckError`.

One disk, one instance: a *datasource claim* row (``VaultStore`` protection-lifecycle
section) names the instance protecting each disk. It is inserted before the instance row
(insert fails if another claim exists, so two vaults racing for one disk cannot both win),
kept while the instance exists (soft-deleted too, so undelete never conflicts) and released
when the instance is purged. A claim whose instance does not exist (a crash between claim and
create, or a purge that died before releasing) is stale after :data:`CLAIM_LEASE` and is taken
over with its ETag.

Vault identity: ARM calls for an instance are made as its vault's identity
(:func:`with_vault_identity`): a user-assigned identity attached to the app, or the app's own.

States (Azure's ``currentProtectionState``), and the planner row that goes with each:

=========================  ==========================  =============  ==================
operation                  from                        to             plan row
=========================  ==========================  =============  ==================
PUT (create)               -                           Configured     active
stopProtection             Configured/Error/Suspended  Stopped        inactive
suspendBackups             Configured/Error/Stopped    Suspended      inactive
resumeProtection/Backups   Stopped/Suspended           Configured     active
DELETE                     any visible state           SoftDeleted    inactive
undelete                   SoftDeleted                 Stopped        inactive
purge (timer)              SoftDeleted past purge_at   rows removed   removed
=========================  ==========================  =============  ==================

Repeating an operation in its target state is a no-op success. Resuming marks the slots of the
pause as skipped, so the first backup after a resume is the next slot, not a catch-up.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from backup.domain.arm import SUPPORTED_DISK_SKUS, DiskInfo
from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, TransitionRefused, VaultRef
from backup.domain.jobs import Job
from backup.domain.limits import CLAIM_LEASE
from backup.domain.models import ProtectionState, RecoveryPoint, RecoveryPointState
from backup.domain.policy import DISK_DATASOURCE_TYPE, BackupPolicy, check_policy_supports_disk_sku
from backup.domain.records import DatasourceClaim, PlanState, Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.snapshots import SnapshotTags
from backup.errors import (
    AuthorizationError,
    BackupError,
    ConcurrencyError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from backup.ports import ArmGateway, VaultStore
from backup.services.etag_retry import raising, retry_lost_races, write_with_retry
from backup.services.policies import PolicyCache
from backup.services.snapshot_deletion import SnapshotFate, delete_point_snapshot, deletion_job
from backup.shapes.backup_instance import ProtectionRequest
from backup.telemetry import Telemetry, instance_health

_log = logging.getLogger(__name__)

DISK_BACKUP_READER = "Disk Backup Reader"
DISK_SNAPSHOT_CONTRIBUTOR = "Disk Snapshot Contributor"
DISK_ACTIONS = ("Microsoft.Compute/disks/read", "Microsoft.Compute/disks/beginGetAccess/action")
"""What Disk Backup Reader grants on the disk that backups use."""
SNAPSHOT_RG_ACTIONS = (
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Compute/snapshots/write",
    "Microsoft.Compute/snapshots/read",
    "Microsoft.Compute/snapshots/delete",
    "Microsoft.Compute/disks/beginGetAccess/action",
)
"""What Disk Snapshot Contributor grants on the snapshot resource group that backups use."""

"""How long a claim whose instance does not exist yet is still honoured (a create in flight)."""
_POINTS_PER_TRANSACTION = 33


class ProtectionCheckError(ValidationError):
    """A validate-for-backup check that failed on the resources (not on the request's shape)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, code=code, target=target)
        self.details = details or []


# --- the request ---------------------------------------------------------------------------


def with_vault_identity(request: ProtectionRequest, vault_document: Mapping[str, Any]) -> ProtectionRequest:
    """Which identity backs this instance up, as Azure decides it.

    ``identityDetails.userAssignedIdentityArmUrl`` (with ``useSystemAssignedIdentity`` false)
    names one of the vault's user-assigned identities; otherwise a vault that has only a
    user-assigned identity uses it; otherwise the system-assigned identity, which is the app's.
    """
    identity = vault_document.get("identity") or {}
    kind = str(identity.get("type") or "None")
    attached = {key.casefold(): key for key in (identity.get("userAssignedIdentities") or {})}
    details = request.document.get("identityDetails") or {}
    chosen: str | None = None
    if details.get("useSystemAssignedIdentity") is False and details.get("userAssignedIdentityArmUrl"):
        wanted = str(details["userAssignedIdentityArmUrl"])
        if wanted.casefold() not in attached:
            raise ValidationError(
                f"'{wanted}' is not one of the vault's user-assigned identities; add it to the vault's "
                "identity.userAssignedIdentities first.",
                code="UserErrorIdentityNotOnVault",
                target="properties.identityDetails.userAssignedIdentityArmUrl",
            )
        chosen = attached[wanted.casefold()]
    elif "SystemAssigned" not in kind and len(attached) == 1:
        chosen = next(iter(attached.values()))
    return replace(request, identity=chosen)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedProtection:
    request: ProtectionRequest
    policy_name: str
    """As the policy was first spelled."""
    policy: BackupPolicy
    disk: DiskInfo


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)
    """Ids of the instances removed for good."""
    snapshots_deleted: int = 0
    not_ours: list[str] = field(default_factory=list)
    """Snapshots behind purged points whose tags did not match: left alone."""
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InstanceSummary:
    """One row of the cross-vault view."""

    instance: BackupInstance
    health: str
    next_backup: datetime | None


# --- the service --------------------------------------------------------------------------------


class ProtectionService:
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        *,
        soft_delete_days: int = 14,
        telemetry: Telemetry | None = None,
        policies: PolicyCache | None = None,
    ) -> None:
        self._store = store
        self._compute = compute
        self._clock = clock
        self._soft_delete = timedelta(days=soft_delete_days)
        self._telemetry = telemetry
        self._policies = policies or PolicyCache()

    # validation -------------------------------------------------------------------------------

    async def check_request(
        self, vault: VaultRef, request: ProtectionRequest, *, instance: str | None = None
    ) -> tuple[str, BackupPolicy]:
        """Store-only checks: the policy exists in the vault, the disk is not protected elsewhere.

        ``instance`` is the instance being configured (its own claim is no conflict).
        Returns the policy's stored name and the parsed policy.
        """
        found = await self._store.get_policy(vault, request.policy_name)
        if found is None:
            raise ValidationError(
                f"The backup policy '{request.policy_name}' does not exist in vault '{vault.name}'. "
                "Create it first, or name one of the vault's policies in policyInfo.policyId.",
                code="UserErrorPolicyNotFound",
                target="properties.policyInfo.policyId",
            )
        name, stored = found
        holder = await self._live_claim(request.disk)
        if holder is not None and not (instance is not None and holder.names(vault, instance)):
            raise _already_protected(request.disk, holder, await self._holder_state(holder))
        return name, self._policies.parse(stored.value)

    async def check_resources(
        self, vault_location: str, request: ProtectionRequest, policy: BackupPolicy
    ) -> DiskInfo:
        """The ARM checks, as the instance's identity; :class:`ProtectionCheckError` on the first failure."""
        compute = self._compute.for_identity(request.identity)
        disk_id, group = request.disk, request.snapshot_resource_group
        if disk_id.subscription_id.casefold() != group.subscription_id.casefold():
            raise ProtectionCheckError(
                f"The snapshot resource group '{group}' is in subscription {group.subscription_id}, but the "
                f"disk is in subscription {disk_id.subscription_id}. Incremental snapshots can only be "
                "created in the disk's subscription: choose a resource group there.",
                code="UserErrorSnapshotRGSubscriptionMismatch",
                target="properties.policyInfo.policyParameters.dataStoreParametersList",
            )
        disk: DiskInfo | None = None
        try:
            disk = await compute.get_disk(disk_id)
        except NotFoundError as error:
            raise _disk_not_found(disk_id) from error
        except AuthorizationError:
            disk = None  # the permission check below says what is missing
        try:
            disk_permissions = await compute.permissions(disk_id)
        except NotFoundError as error:
            raise _disk_not_found(disk_id) from error
        try:
            group_permissions = await compute.permissions(group)
        except NotFoundError as error:
            raise _snapshot_group_not_found(group) from error
        missing = [
            (DISK_BACKUP_READER, str(disk_id), disk_permissions.missing(DISK_ACTIONS)),
            (DISK_SNAPSHOT_CONTRIBUTOR, str(group), group_permissions.missing(SNAPSHOT_RG_ACTIONS)),
        ]
        missing = [entry for entry in missing if entry[2]]
        if missing:
            raise _missing_permissions(missing)
        if disk is None:
            disk = await compute.get_disk(disk_id)
        if not await compute.resource_group_exists(group):
            raise _snapshot_group_not_found(group)
        if disk.location.replace(" ", "").casefold() != vault_location.replace(" ", "").casefold():
            raise ProtectionCheckError(
                f"The disk '{disk.name}' is in region '{disk.location}' but the backup vault is in "
                f"'{vault_location}'. A disk is backed up by a vault in its own region.",
                code="UserErrorDatasourceAndVaultLocationMismatch",
                target="properties.dataSourceInfo.resourceID",
            )
        if disk.sku.casefold() not in SUPPORTED_DISK_SKUS:
            raise ProtectionCheckError(
                f"The disk '{disk.name}' has SKU '{disk.sku}', which disk backup does not support "
                "(supported: Standard HDD, Standard SSD, Premium SSD, Premium SSD v2 and Ultra disks).",
                code="UserErrorDiskBackupDiskTypeNotSupported",
                target="properties.dataSourceInfo.resourceID",
            )
        try:
            check_policy_supports_disk_sku(policy, disk.sku)
        except ValidationError as error:
            raise ProtectionCheckError(
                error.message,
                code="UserErrorPolicyFrequencyNotSupportedForDisk",
                target="properties.policyInfo",
            ) from error
        return disk

    async def validate_for_backup(
        self, vault: VaultRef, vault_location: str, request: ProtectionRequest, *, instance: str | None = None
    ) -> ValidatedProtection:
        name, policy = await self.check_request(vault, request, instance=instance)
        disk = await self.check_resources(vault_location, request, policy)
        return ValidatedProtection(request, name, policy, disk)

    # configure --------------------------------------------------------------------------------

    async def configure(
        self, vault: VaultRef, vault_location: str, name: str, request: ProtectionRequest
    ) -> tuple[BackupInstance, bool]:
        """Create the instance (True) or update its policy / properties (False), after every check."""
        current = await self._store.get_instance(vault, name)
        if current is not None:
            _check_unchangeable(current.value, request)
            name = current.value.name
        validated = await self.validate_for_backup(vault, vault_location, request, instance=name)
        if current is None:
            return await self._create(vault, name, validated), True
        return await self._update(current, validated), False

    async def _create(self, vault: VaultRef, name: str, validated: ValidatedProtection) -> BackupInstance:
        disk = validated.disk
        document = _document_with_defaults(validated.request.document, disk, validated.request.disk)
        instance = BackupInstance(
            vault=vault,
            name=name,
            disk_id=str(validated.request.disk),
            disk_location=disk.location,
            policy_name=validated.policy_name,
            policy_document=validated.policy.to_json(),
            snapshot_resource_group_id=str(validated.request.snapshot_resource_group),
            protection_state=ProtectionState.PROTECTION_CONFIGURED,
            document=document,
            identity=validated.request.identity,
        )
        await self._claim(validated.request.disk, vault, name)
        try:
            await self._store.create_instance(
                instance, PlanState(name, instance.policy_document, active=True)
            )
        except BaseException:
            await self._store.release_datasource_claim(instance.disk_id, vault, name)
            raise
        return instance

    async def _update(
        self, current: Versioned[BackupInstance], validated: ValidatedProtection
    ) -> BackupInstance:
        request = validated.request

        def change(instance: BackupInstance) -> BackupInstance:
            _check_unchangeable(instance, request)
            return replace(
                instance,
                policy_name=validated.policy_name,
                policy_document=validated.policy.to_json(),
                document=_document_with_defaults(request.document, validated.disk, request.disk),
                identity=request.identity,
            )

        return await self._mutate(current, change)

    # state changes ----------------------------------------------------------------------------

    async def stop_protection(self, vault: VaultRef, name: str) -> BackupInstance:
        """Stop backups and keep every recovery point forever (``ProtectionStopped``)."""
        return await self._transition(vault, name, ProtectionState.PROTECTION_STOPPED, "stopProtection")

    async def suspend_backups(self, vault: VaultRef, name: str) -> BackupInstance:
        """Stop backups; retention goes on, the newest point is kept (``BackupSchedulesSuspended``)."""
        return await self._transition(
            vault, name, ProtectionState.BACKUP_SCHEDULES_SUSPENDED, "suspendBackups"
        )

    async def resume_protection(self, vault: VaultRef, name: str) -> BackupInstance:
        return await self._transition(vault, name, ProtectionState.PROTECTION_CONFIGURED, "resumeProtection")

    async def resume_backups(self, vault: VaultRef, name: str) -> BackupInstance:
        return await self._transition(vault, name, ProtectionState.PROTECTION_CONFIGURED, "resumeBackups")

    async def _transition(
        self, vault: VaultRef, name: str, target: ProtectionState, operation: str
    ) -> BackupInstance:
        current = await self.get(vault, name)
        now = self._clock.now()

        def change(instance: BackupInstance) -> BackupInstance:
            due = None
            if target is ProtectionState.PROTECTION_CONFIGURED:
                due = self._policies.parse(instance.policy_document).schedule.due_slot(now)
            try:
                return instance.with_transition(target, resume_at_slot=due)
            except TransitionRefused as refused:
                if refused.state is ProtectionState.SOFT_DELETED:
                    raise _not_found(vault, name) from None
                raise _wrong_state(name, refused.state, operation) from None

        return await self._mutate(current, change)

    async def delete(self, vault: VaultRef, name: str) -> BackupInstance | None:
        """Stop protection and delete data: soft delete now, purge after the retention period.

        Scheduled backups stop at once (plan row inactive, state ``SoftDeleted``); recovery points
        and snapshots stay until :meth:`purge_due` runs after ``purge_at``. ``None`` when there
        is no visible instance of that name (ARM answers 204).
        """
        current = await self._store.get_instance(vault, name)
        if current is None or current.value.is_soft_deleted:
            return None
        now = self._clock.now()

        def change(instance: BackupInstance) -> BackupInstance:
            if instance.is_soft_deleted:
                return instance
            return instance.soft_deleted(now, now + self._soft_delete)

        return await self._mutate(current, change)

    async def undelete(self, vault: VaultRef, name: str) -> BackupInstance:
        """Bring a soft-deleted instance back, as ``ProtectionStopped`` with all its data."""
        current = await self.get_deleted(vault, name)

        def change(instance: BackupInstance) -> BackupInstance:
            if not instance.is_soft_deleted:
                raise _deleted_not_found(vault, name)
            return instance.undeleted()

        return await self._mutate(current, change)

    async def _mutate(
        self,
        current: Versioned[BackupInstance],
        change: Callable[[BackupInstance], BackupInstance],
    ) -> BackupInstance:
        """Apply ``change`` and write instance and plan row in one transaction, re-reading on a lost race."""
        vault, name = current.value.vault, current.value.name

        async def write(latest: Versioned[BackupInstance]) -> BackupInstance:
            before = latest.value
            updated = change(before)
            if updated == before:
                return before
            plan = PlanState(
                updated.name, updated.policy_document, active=updated.protection_state.takes_scheduled_backups
            )
            saved = await self._store.update_instance(latest, updated, plan=plan)
            return saved.value

        return await write_with_retry(
            write,
            lambda: self._store.get_instance(vault, name),
            current=current,
            gone=raising(lambda: _not_found(vault, name)),
            exhausted=raising(
                lambda: ConcurrencyError(f"The backup instance '{name}' kept changing; try again.")
            ),
        )

    # reads ------------------------------------------------------------------------------------

    async def get(self, vault: VaultRef, name: str) -> Versioned[BackupInstance]:
        """A visible (not soft-deleted) instance, or 404."""
        current = await self._store.get_instance(vault, name)
        if current is None or current.value.is_soft_deleted:
            raise _not_found(vault, name, soft_deleted=current is not None)
        return current

    async def get_deleted(self, vault: VaultRef, name: str) -> Versioned[BackupInstance]:
        current = await self._store.get_instance(vault, name)
        if current is None or not current.value.is_soft_deleted:
            raise _deleted_not_found(vault, name)
        return current

    async def list_instances(self, vault: VaultRef) -> list[BackupInstance]:
        return [row.value for row in await self._store.list_instances(vault) if not row.value.is_soft_deleted]

    async def list_deleted(self, vault: VaultRef) -> list[BackupInstance]:
        rows = await self._store.list_instances(vault, state=ProtectionState.SOFT_DELETED)
        return [row.value for row in rows]

    async def summaries(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[InstanceSummary]:
        """Every visible instance of the vaults in a subscription (or resource group), with its health
        and next scheduled backup: the cross-vault view."""
        now = self._clock.now()
        summaries = []
        for _, document in await self._store.list_vault_documents(subscription_id, resource_group):
            parts = str(document.value.get("id", "")).split("/")
            if len(parts) != 9:
                continue
            vault = VaultRef(parts[2], parts[4], parts[8])
            for row in await self._store.list_instances(vault):
                instance = row.value
                if instance.is_soft_deleted:
                    continue
                active = instance.protection_state.takes_scheduled_backups
                next_backup = (
                    self._policies.parse(instance.policy_document).schedule.next_slot(now) if active else None
                )
                summaries.append(
                    InstanceSummary(instance, instance_health(instance, active=active), next_backup)
                )
        return summaries

    # purge ------------------------------------------------------------------------------------

    async def purge_due(self) -> PurgeResult:
        """Remove soft-deleted instances whose period ended: their snapshots (only ours), their
        recovery point, expiry and instance rows, and their datasource claim; one
        RetentionDeletion job per recovery point. For the retention timer; safe to rerun."""
        result = PurgeResult()
        now = self._clock.now()
        for vault in await self._store.list_vaults():
            for row in await self._store.list_instances(vault, state=ProtectionState.SOFT_DELETED):
                instance = row.value
                if instance.purge_at is None or instance.purge_at > now:
                    continue
                try:
                    await self._purge(row, result)
                except BackupError as error:
                    _log.warning("purge of %s stopped: %s %s", instance.id, error.code, error.message)
                    result.errors.append(f"{instance.id}: {error.code}")
        return result

    async def _purge(self, current: Versioned[BackupInstance], result: PurgeResult) -> None:
        instance = current.value
        points = await self._store.list_recovery_points(instance.vault, instance.name, include_deleted=True)
        for start in range(0, len(points), _POINTS_PER_TRANSACTION):
            chunk = points[start : start + _POINTS_PER_TRANSACTION]
            jobs = []
            for point in chunk:
                job = await self._delete_point_snapshot(instance, point, result)
                if job is not None:
                    jobs.append(job)
            await self._store.delete_recovery_points(instance.vault, chunk, jobs)
            for job in jobs:
                if self._telemetry is not None:
                    self._telemetry.job_finished(job)
        result.snapshots_deleted += await self._delete_unrecorded_snapshots(instance)
        try:
            await self._store.delete_instance(current)
        except ConcurrencyError:
            # A backup that was running when the instance was deleted recorded a point since we
            # read it; the next purge removes that one too.
            _log.info("purge of %s postponed: the instance changed while purging", instance.id)
            return
        await self._store.release_datasource_claim(instance.disk_id, instance.vault, instance.name)
        result.purged.append(instance.id)

    async def _delete_point_snapshot(
        self, instance: BackupInstance, point: RecoveryPoint, result: PurgeResult
    ) -> Job | None:
        """Delete the snapshot behind one point if it is ours; the job to record, if any."""
        if point.state is RecoveryPointState.DELETING:
            return None  # retention already deleted its snapshot and recorded a job
        started = self._clock.now()
        job = deletion_job(
            instance, point, started=started, id_time=instance.purge_at or started, why="purge"
        )
        fate, snapshot_id = await delete_point_snapshot(
            self._compute.for_identity(instance.identity), instance, point
        )
        if fate is SnapshotFate.NOT_OURS:
            result.not_ours.append(snapshot_id)
            return None
        if fate is SnapshotFate.DELETED:
            result.snapshots_deleted += 1
        return job.completed(self._clock.now())

    async def _delete_unrecorded_snapshots(self, instance: BackupInstance) -> int:
        """Our snapshots of this instance that no recovery point row names (a backup that was
        running at deletion time): found by their tags in the snapshot resource group."""
        compute = self._compute.for_identity(instance.identity)
        try:
            snapshots = await compute.list_snapshots(
                ResourceGroupId.parse(instance.snapshot_resource_group_id)
            )
        except NotFoundError:
            return 0
        deleted = 0
        for snapshot in snapshots:
            tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
            if (
                tags is None
                or tags.vault_id.casefold() != instance.vault.id.casefold()
                or tags.instance.casefold() != instance.name.casefold()
            ):
                continue
            await compute.delete_snapshot(ComputeResourceId.snapshot(snapshot.id))
            deleted += 1
        return deleted

    # claims -----------------------------------------------------------------------------------

    async def _live_claim(self, disk: ComputeResourceId) -> DatasourceClaim | None:
        """The claim on a disk if it is live: its instance exists and protects this disk, or it is
        younger than :data:`CLAIM_LEASE` (a create in flight)."""
        found = await self._store.get_datasource_claim(str(disk))
        if found is None:
            return None
        return found.value if await self._claim_is_live(found.value) else None

    async def _claim_is_live(self, claim: DatasourceClaim) -> bool:
        instance = await self._store.get_instance(claim.vault, claim.instance)
        if instance is not None:
            return instance.value.disk_id.casefold() == claim.disk_id.casefold()
        return self._clock.now() - claim.claimed_at < CLAIM_LEASE

    async def _holder_state(self, claim: DatasourceClaim) -> ProtectionState | None:
        instance = await self._store.get_instance(claim.vault, claim.instance)
        return instance.value.protection_state if instance is not None else None

    async def _claim(self, disk: ComputeResourceId, vault: VaultRef, name: str) -> None:
        claim = DatasourceClaim(str(disk), vault, name, self._clock.now())

        async def attempt() -> None:
            found = await self._store.get_datasource_claim(str(disk))
            try:
                if found is None:
                    await self._store.put_datasource_claim(claim)
                    return
                if found.value.names(vault, name):
                    await self._store.put_datasource_claim(claim, found.etag)
                    return
                if await self._claim_is_live(found.value):
                    raise _already_protected(disk, found.value, await self._holder_state(found.value))
                await self._store.put_datasource_claim(claim, found.etag)  # stale: take it over
            except (ConflictError, ConcurrencyError) as error:
                if error.code == "UserErrorDppDatasourceAlreadyProtected":
                    raise
                # Someone else wrote the claim meanwhile: look again.
                raise ConcurrencyError(error.message, code=error.code) from error

        await retry_lost_races(
            attempt,
            exhausted=raising(lambda: ConcurrencyError(f"Could not claim the disk '{disk}'; try again.")),
        )


# --- helpers ---------------------------------------------------------------------------------------


def _check_unchangeable(instance: BackupInstance, request: ProtectionRequest) -> None:
    if instance.is_soft_deleted:
        raise ConflictError(
            f"The backup instance '{instance.name}' is soft-deleted. Undelete it "
            f"(deletedBackupInstances/{instance.name}/undelete) or use another name.",
            code="UserErrorBackupInstanceSoftDeleted",
            target="backupInstanceName",
        )
    if str(request.disk).casefold() != instance.disk_id.casefold():
        raise ValidationError(
            f"The backup instance '{instance.name}' protects '{instance.disk_id}'; its datasource cannot be "
            f"changed to '{request.disk}'. Create another backup instance for that disk.",
            code="UserErrorDatasourceChangeNotAllowed",
            target="properties.dataSourceInfo.resourceID",
        )
    if str(request.snapshot_resource_group).casefold() != instance.snapshot_resource_group_id.casefold():
        raise ValidationError(
            f"The backup instance '{instance.name}' keeps its snapshots in "
            f"'{instance.snapshot_resource_group_id}'; the snapshot resource group cannot be changed after "
            f"protection is configured (to '{request.snapshot_resource_group}'). Delete the instance and "
            "protect the disk again to use another.",
            code="UserErrorSnapshotRGChangeNotAllowed",
            target="properties.policyInfo.policyParameters.dataStoreParametersList",
        )


def _document_with_defaults(
    document: Mapping[str, Any], disk: DiskInfo, disk_id: ComputeResourceId
) -> dict[str, Any]:
    """The stored properties: as sent, with the datasource fields Azure fills in when absent."""
    result = copy.deepcopy(dict(document))
    source = dict(result.get("dataSourceInfo") or {})
    source.setdefault("objectType", "Datasource")
    source["datasourceType"] = DISK_DATASOURCE_TYPE
    source.setdefault("resourceType", DISK_DATASOURCE_TYPE)
    source.setdefault("resourceName", disk.name)
    source.setdefault("resourceLocation", disk.location)
    if not source.get("resourceUri"):
        source["resourceUri"] = str(disk_id)
    result["dataSourceInfo"] = source
    result.setdefault("friendlyName", disk.name)
    return result


def _already_protected(
    disk: ComputeResourceId, holder: DatasourceClaim, state: ProtectionState | None
) -> ValidationError:
    where = f"backup instance '{holder.instance}' of vault '{holder.vault.id}'"
    if state is ProtectionState.SOFT_DELETED:
        hint = (
            " That instance is soft-deleted: undelete it, or wait until it is purged, to protect the disk "
            "again."
        )
    else:
        hint = " Delete that backup instance (stop protection and delete data) to protect it elsewhere."
    return ValidationError(
        f"The disk '{disk}' is already protected by {where}.{hint}",
        code="UserErrorDppDatasourceAlreadyProtected",
        target="properties.dataSourceInfo.resourceID",
    )


def _missing_permissions(missing: list[tuple[str, str, list[str]]]) -> ProtectionCheckError:
    parts = [f"role '{role}' on '{scope}' (missing {', '.join(actions)})" for role, scope, actions in missing]
    details = [
        {
            "code": "UserErrorMissingRequiredPermissions",
            "message": (
                f"Assign '{role}' to the backup app's identity on '{scope}'; it lacks {', '.join(actions)}."
            ),
            "target": scope,
        }
        for role, scope, actions in missing
    ]
    return ProtectionCheckError(
        "The backup app's managed identity lacks permissions it needs. Assign "
        + "; and ".join(parts)
        + ". Role assignments can take a few minutes to apply.",
        code="UserErrorMissingRequiredPermissions",
        target=missing[0][1],
        details=details,
    )


def _disk_not_found(disk: ComputeResourceId) -> ProtectionCheckError:
    return ProtectionCheckError(
        f"The managed disk '{disk}' was not found. Check the id in dataSourceInfo.resourceID.",
        code="UserErrorManagedDiskNotFound",
        target="properties.dataSourceInfo.resourceID",
    )


def _snapshot_group_not_found(group: ResourceGroupId) -> ProtectionCheckError:
    return ProtectionCheckError(
        f"The snapshot resource group '{group}' was not found. Create it in the disk's subscription, or name "
        "an existing one in AzureOperationalStoreParameters.resourceGroupId.",
        code="UserErrorSnapshotRGNotFound",
        target="properties.policyInfo.policyParameters.dataStoreParametersList",
    )


def _not_found(vault: VaultRef, name: str, *, soft_deleted: bool = False) -> NotFoundError:
    hint = (
        " It is soft-deleted: see deletedBackupInstances, and undelete it to use it again."
        if soft_deleted
        else ""
    )
    return NotFoundError(
        f"The backup instance '{name}' was not found in vault '{vault.name}'.{hint}",
        code="ResourceNotFound",
        target="backupInstanceName",
    )


def _deleted_not_found(vault: VaultRef, name: str) -> NotFoundError:
    return NotFoundError(
        f"No deleted backup instance '{name}' exists in vault '{vault.name}'.",
        code="ResourceNotFound",
        target="backupInstanceName",
    )


def _wrong_state(name: str, state: ProtectionState, operation: str) -> ConflictError:
    return ConflictError(
        f"The backup instance '{name}' is {state.value}; {operation} does not apply in that state.",
        code="UserErrorInvalidProtectionState",
        target="backupInstanceName",
    )
