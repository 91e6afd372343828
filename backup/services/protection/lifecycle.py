"""The protection lifecycle of a backup instance, for the API and the CLI: configure (create or
update, after every check in :mod:`backup.services.protection.checks`), stop, suspend, resume,
delete (soft), undelete, and the reads. Nothing here knows HTTP.

States (Azure's ``currentProtectionState``), and the planner row that goes with each; the
transitions themselves are :meth:`BackupInstance.with_transition`:

=========================  ==========================  =============  ==================
operation                  from                        to             plan row
=========================  ==========================  =============  ==================
PUT (create)               -                           Configured     active
stopProtection             Configured/Error/Suspended  Stopped        inactive
suspendBackups             Configured/Error/Stopped    Suspended      inactive
resumeProtection/Backups   Stopped/Suspended           Configured     active
DELETE                     any visible state           SoftDeleted    inactive
undelete                   SoftDeleted                 Stopped        inactive
sync                       Error                       Configured     active
purge (timer)              SoftDeleted past purge_at   rows removed   removed
=========================  ==========================  =============  ==================

Repeating an operation in its target state is a no-op success. The vault's security settings
(:mod:`backup.domain.vault_security`) govern DELETE: the soft-delete period is the vault's
(``Off``: purged by the next retention run), and an immutable vault refuses it while any
recovery point has not expired (custody's :func:`~backup.domain.custody.immutability_hold`), as
Azure refuses stop-protection-with-delete there; an update that moves an instance to a policy
with shorter retention is refused in an immutable vault. Under multi-user authorization both
are critical operations (:mod:`backup.services.critical_operations`) that need the requester's
approval. Resuming marks the slots of the pause as skipped, so the first backup after a resume
is the next slot, not a catch-up. The purge is :mod:`backup.services.protection.purge`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from backup.domain.arm import DiskInfo
from backup.domain.clock import Clock
from backup.domain.custody import DeletionTerms, immutability_hold
from backup.domain.instance import BackupInstance, TransitionRefused, VaultRef
from backup.domain.instance_status import status_bucket
from backup.domain.models import ProtectionState
from backup.domain.policy import BackupPolicy
from backup.domain.protection import check_unchangeable, document_with_defaults
from backup.domain.records import PlanState, Versioned
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.domain.vault_security import CriticalOperation, VaultSecurity, retention_shortened
from backup.errors import ConcurrencyError, ConflictError, NotFoundError
from backup.ports import ArmGateway, VaultStore
from backup.services.critical_operations import CriticalOperationGate
from backup.services.etag_retry import raising, write_with_retry
from backup.services.policies import PolicyCache
from backup.services.protection.checks import ProtectionCheckError, ProtectionChecks, ValidatedProtection
from backup.services.protection.claims import DatasourceClaims
from backup.services.protection.listing import InstanceListing
from backup.shapes.backup_instance import ProtectionRequest

IMMUTABLE_VAULT = "UserErrorImmutableVaultOperationNotAllowed"
"""The refusal of an operation an immutable vault forbids (Azure documents no code of its own)."""


class ProtectionService:
    def __init__(
        self,
        store: VaultStore,
        compute: ArmGateway,
        clock: Clock,
        *,
        policies: PolicyCache | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._gate = CriticalOperationGate(store, clock)
        self._policies = policies or PolicyCache()
        self._claims = DatasourceClaims(store, clock)
        self._checks = ProtectionChecks(store, compute, self._claims, self._policies)

    # validation -------------------------------------------------------------------------------

    async def check_request(
        self, vault: VaultRef, request: ProtectionRequest, *, instance: str | None = None
    ) -> tuple[str, BackupPolicy]:
        """See :meth:`ProtectionChecks.check_request`."""
        return await self._checks.check_request(vault, request, instance=instance)

    async def check_resources(
        self, vault_location: str, request: ProtectionRequest, policy: BackupPolicy
    ) -> DiskInfo:
        """See :meth:`ProtectionChecks.check_resources`."""
        return await self._checks.check_resources(vault_location, request, policy)

    async def validate_for_backup(
        self, vault: VaultRef, vault_location: str, request: ProtectionRequest, *, instance: str | None = None
    ) -> ValidatedProtection:
        return await self._checks.validate_for_backup(vault, vault_location, request, instance=instance)

    # configure --------------------------------------------------------------------------------

    async def configure(
        self,
        vault: VaultRef,
        vault_location: str,
        name: str,
        request: ProtectionRequest,
        *,
        requester: str = "",
    ) -> tuple[BackupInstance, bool]:
        """Create the instance (True) or update its policy / properties (False), after every check.

        An update to a policy with shorter retention is refused in an immutable vault and needs
        ``requester``'s approval under multi-user authorization."""
        current = await self._store.get_instance(vault, name)
        if current is not None:
            check_unchangeable(current.value, request.disk, request.snapshot_resource_group)
            name = current.value.name
        validated = await self.validate_for_backup(vault, vault_location, request, instance=name)
        if current is None:
            return await self._create(vault, name, validated), True
        before = self._policies.parse(current.value.policy_document)
        shortened = retention_shortened(before, validated.policy)
        if shortened is not None:
            if (await self._security(vault)).immutable:
                raise ConflictError(
                    f"The backup vault '{vault.name}' is immutable: the retention of backup instance "
                    f"'{name}' cannot be shortened ({shortened}).",
                    code=IMMUTABLE_VAULT,
                    target="properties.policyInfo.policyId",
                )
            await self._gate.require(vault, CriticalOperation.MODIFY_PROTECTION, requester)
        return await self._update(current, validated), False

    async def _security(self, vault: VaultRef) -> VaultSecurity:
        stored = await self._store.get_vault(vault)
        return VaultSecurity.from_document(stored.value if stored is not None else None)

    async def _create(self, vault: VaultRef, name: str, validated: ValidatedProtection) -> BackupInstance:
        disk = validated.disk
        document = document_with_defaults(validated.request.document, disk, validated.request.disk)
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
            # The checks just read the disk: keep what a backup's snapshot PUT needs of it.
            disk_facts=disk,
            disk_facts_refreshed_at=self._clock.now(),
        )
        await self._claims.take(validated.request.disk, vault, name)
        try:
            await self._store.create_instance(
                instance, PlanState(name, instance.policy_document, active=True)
            )
        except BaseException:
            await self._claims.release(instance.disk_id, vault, name)
            raise
        return instance

    async def _update(
        self, current: Versioned[BackupInstance], validated: ValidatedProtection
    ) -> BackupInstance:
        request = validated.request

        def change(instance: BackupInstance) -> BackupInstance:
            check_unchangeable(instance, request.disk, request.snapshot_resource_group)
            return replace(
                instance,
                policy_name=validated.policy_name,
                policy_document=validated.policy.to_json(),
                document=document_with_defaults(request.document, validated.disk, request.disk),
                identity=request.identity,
                disk_facts=validated.disk,
                disk_facts_refreshed_at=self._clock.now(),
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

    async def sync(self, vault: VaultRef, vault_location: str, name: str, *, force: bool) -> BackupInstance:
        """Re-read the instance's policy and disk and run the protection checks again; when they
        pass, the instance takes the policy and disk facts as they are now and a protection error
        is cleared (``ProtectionError`` becomes ``ProtectionConfigured``, the failure count 0).

        Without ``force`` (Azure's ``syncType: Default``) an instance without an error is left as
        it is. A failed check raises its :class:`ProtectionCheckError` and changes nothing.
        """
        current = await self.get(vault, name)
        if not force and not _in_error(current.value):
            return current.value
        instance = current.value
        found = await self._store.get_policy(vault, instance.policy_name)
        if found is None:
            raise ProtectionCheckError(
                f"The backup policy '{instance.policy_name}' of backup instance '{name}' no longer exists in "
                f"vault '{vault.name}'. Assign an existing policy with a PUT of the instance.",
                code="UserErrorPolicyNotFound",
                target="properties.policyInfo.policyId",
            )
        policy_name, stored = found
        policy = self._policies.parse(stored.value)
        request = ProtectionRequest(
            disk=ComputeResourceId.disk(instance.disk_id),
            policy_name=policy_name,
            snapshot_resource_group=ResourceGroupId.parse(instance.snapshot_resource_group_id),
            document=instance.document,
            identity=instance.identity,
        )
        disk = await self._checks.check_resources(vault_location, request, policy)
        now = self._clock.now()

        def change(latest: BackupInstance) -> BackupInstance:
            synced = replace(
                latest,
                policy_name=policy_name,
                policy_document=policy.to_json(),
                disk_facts=disk,
                disk_facts_refreshed_at=now,
                datasource_missing_since=None,
                health=replace(latest.health, consecutive_failures=0),
            )
            if synced.protection_state is ProtectionState.PROTECTION_ERROR:
                synced = synced.with_protection_state(ProtectionState.PROTECTION_CONFIGURED)
            return synced

        return await self._mutate(current, change)

    async def delete(self, vault: VaultRef, name: str, *, requester: str = "") -> BackupInstance | None:
        """Stop protection and delete data: soft delete now, purge after the vault's soft-delete period.

        Scheduled backups stop at once (plan row inactive, state ``SoftDeleted``); recovery points
        and snapshots stay until the purge runs after ``purge_at``. ``None`` when there is no
        visible instance of that name (ARM answers 204). Refused (409) in an immutable vault
        while a recovery point has not expired; under multi-user authorization ``requester``
        needs an approval.
        """
        current = await self._store.get_instance(vault, name)
        if current is None or current.value.is_soft_deleted:
            return None
        now = self._clock.now()
        security = await self._security(vault)
        if security.immutable:
            terms = DeletionTerms(now=now, immutable=True)
            points = await self._store.list_recovery_points(vault, current.value.name)
            held = [point for point in points if immutability_hold(point.expires_at, terms) is not None]
            if held:
                last = max(point.expires_at for point in held)
                raise ConflictError(
                    f"The backup vault '{vault.name}' is immutable and backup instance '{name}' has "
                    f"{len(held)} recovery point(s) that expire only at {last.isoformat()} at the latest: "
                    "it cannot be deleted before then. Stop protection and keep its data instead.",
                    code=IMMUTABLE_VAULT,
                    target="backupInstanceName",
                )
        await self._gate.require(vault, CriticalOperation.DELETE_BACKUP_INSTANCE, requester)
        period = security.soft_delete_period

        def change(instance: BackupInstance) -> BackupInstance:
            if instance.is_soft_deleted:
                return instance
            return instance.soft_deleted(now, now + period)

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

    async def instances_page(
        self, vault: VaultRef, *, after: str | None, limit: int, deleted: bool = False
    ) -> tuple[list[BackupInstance], bool]:
        """A keyset page of the vault's visible (``deleted``: soft-deleted) instances, by name.

        Soft-deleted instances are few: their page reads the status index when the vault's is
        complete, so it costs what they number, not what the vault holds."""
        if deleted and await self._store.instance_index_ready(vault):
            return await self._store.indexed_instances_page(
                vault,
                field="status",
                value=status_bucket(ProtectionState.SOFT_DELETED),
                after=after,
                limit=limit,
            )
        return await self._store.instances_page(vault, after=after, limit=limit, deleted=deleted)

    @property
    def listing(self) -> InstanceListing:
        """The cross-vault view (:mod:`.listing`)."""
        return InstanceListing(self._store, self._clock, self._policies)


def _in_error(instance: BackupInstance) -> bool:
    return (
        instance.protection_state is ProtectionState.PROTECTION_ERROR
        or instance.health.consecutive_failures > 0
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
