"""Validate for backup: may this disk be protected, with this policy, as this identity?

Validation (``validateForBackup`` and every PUT) checks, in this order, each failure with
Azure's error code and a message that says what to grant or fix where:

1. the request: a ``Microsoft.Compute/disks`` datasource, a policy of this vault, one
   ``AzureOperationalStoreParameters`` naming the snapshot resource group (400s);
2. the disk is not protected already, in this vault or any other
   (``UserErrorDppDatasourceAlreadyProtected``), through the datasource claims
   (:mod:`backup.services.protection.claims`);
3. the snapshot resource group is in the disk's subscription (``UserErrorSnapshotRGSubscriptionMismatch``);
4. the disk exists (``UserErrorManagedDiskNotFound``);
5. the app identity holds the Disk Backup Reader actions on the disk and the Disk Snapshot
   Contributor actions on the snapshot resource group (``UserErrorMissingRequiredPermissions``,
   naming role, scope and missing actions, read through the ARM permissions API);
6. the snapshot resource group exists (``UserErrorSnapshotRGNotFound``);
7. the disk is in the vault's region and of a supported type, and a Premium SSD v2 / Ultra
   disk gets a 12-hourly or daily policy (``UserErrorDiskBackupDiskTypeNotSupported``,
   ``UserErrorDatasourceAndVaultLocationMismatch``, ``UserErrorPolicyFrequencyNotSupportedForDisk``).

Steps 1-2 read only Table Storage (:meth:`ProtectionChecks.check_request`); 3-7 call ARM
(:meth:`ProtectionChecks.check_resources`) and raise :class:`ProtectionCheckError`.

Vault identity: ARM calls for an instance are made as its vault's identity
(:func:`with_vault_identity`): a user-assigned identity attached to the app, or the app's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from backup.domain.arm import DISK_BACKUP_READER, DISK_SNAPSHOT_CONTRIBUTOR, SUPPORTED_DISK_SKUS, DiskInfo
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import VaultRef, vault_of_document
from backup.domain.policy import BackupPolicy, check_policy_supports_disk_sku
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError, NotFoundError, ValidationError
from backup.ports import ArmGateway, VaultStore
from backup.services.policies import PolicyCache
from backup.services.protection.claims import DatasourceClaims, already_protected
from backup.shapes.backup_instance import ProtectionRequest

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


class ProtectionCheckError(ValidationError):
    """A validate-for-backup check that failed on the resources (not on the request's shape)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        recommended_action: str | None = None,
    ) -> None:
        super().__init__(message, code=code, target=target, recommended_action=recommended_action)
        self.details = details or []


def with_vault_identity(
    request: ProtectionRequest,
    vault_document: Mapping[str, Any],
    bindings: IdentityBindings | None = None,
) -> ProtectionRequest:
    """Which identity backs this instance up, as Azure decides it.

    ``identityDetails.userAssignedIdentityArmUrl`` (with ``useSystemAssignedIdentity`` false)
    names one of the vault's user-assigned identities; otherwise a vault that has only a
    user-assigned identity uses it; otherwise the system-assigned identity, which is the app's.
    With ``bindings``, a user-assigned identity the deployer did not bind to the vault is a 403
    (``UserErrorIdentityNotBoundToVault``).
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
    if bindings is not None and chosen is not None:
        # A document without its id binds to no vault: the check fails closed.
        vault = vault_of_document(vault_document) or VaultRef("-", "-", "-")
        bindings.require(chosen, vault, target="properties.identityDetails.userAssignedIdentityArmUrl")
    return replace(request, identity=chosen)


@dataclass(frozen=True)
class ValidatedProtection:
    request: ProtectionRequest
    policy_name: str
    """As the policy was first spelled."""
    policy: BackupPolicy
    disk: DiskInfo


class ProtectionChecks:
    def __init__(
        self, store: VaultStore, compute: ArmGateway, claims: DatasourceClaims, policies: PolicyCache
    ) -> None:
        self._store = store
        self._compute = compute
        self._claims = claims
        self._policies = policies

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
        holder = await self._claims.live(request.disk)
        if holder is not None and not (instance is not None and holder.names(vault, instance)):
            raise already_protected(request.disk, holder, await self._claims.holder_state(holder))
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
        recommended_action=(
            "Assign "
            + "; and ".join(f"the '{role}' role on the scope '{scope}'" for role, scope, _ in missing)
            + " to the backup vault's identity (the principalId a GET of the vault shows), wait a few "
            "minutes for the assignments to apply, then configure protection again."
        ),
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
