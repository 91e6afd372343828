"""A vault with its own user-assigned identity: its instances are backed up as that identity,
so vaults can have separate RBAC, and the app's own identity needs no disk roles at all."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from backup.bootstrap import Runtime
from backup.cli import drain_backup_queue
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import VaultRef
from backup.domain.models import JobStatus
from backup.errors import AuthorizationError, ValidationError
from backup.services.protection import ProtectionCheckError, with_vault_identity
from backup.shapes.backup_instance import parse_backup_instance
from tests.integration.engine.conftest import APP, SNAP_RG, SRC_RG, SUB, Simulation, policy_document

pytestmark = pytest.mark.integration

IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity"
    "/userAssignedIdentities/id-vault-a"
)
IDENTITY_PRINCIPAL = "a2222222-0000-4000-8000-0000000000b1"
IDENTITY_TOKEN = "vault-a-identity-token"


def instance_properties(vault: VaultRef, disk: str) -> dict[str, object]:
    return {
        "objectType": "BackupInstance",
        "dataSourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}",
            "resourceLocation": "eastus",
            "resourceName": disk,
            "resourceType": "Microsoft.Compute/disks",
        },
        "policyInfo": {
            "policyId": f"{vault.id}/backupPolicies/every-4h",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": SNAP_RG,
                    }
                ]
            },
        },
    }


async def test_a_vault_identity_backs_up_its_disks_with_its_own_roles(sim: Simulation) -> None:
    # Only the vault's identity holds the disk roles; the app's own identity holds none.
    admin = sim.admin
    admin.add_principal(IDENTITY_PRINCIPAL, IDENTITY_TOKEN)
    for role, scope in (("Disk Backup Reader", SRC_RG), ("Disk Snapshot Contributor", SNAP_RG)):
        admin.revoke(APP, role, scope)
        admin.grant(IDENTITY_PRINCIPAL, role, scope)
    own = VaultRef(SUB, "rg-backup", "vault-with-identity")
    settings = replace(
        sim.runtime.settings,
        arm_static_tokens={IDENTITY.lower(): IDENTITY_TOKEN},
        identity_bindings=IdentityBindings.parse(json.dumps({IDENTITY: [own.id]})),
    )
    runtime = Runtime.from_settings(settings, clock=sim.clock, arm_retry_total=1, arm_polling_interval=0)
    try:
        store = runtime.store
        shared = VaultRef(SUB, "rg-backup", "vault-system-assigned")
        own_document = {
            "id": own.id,
            "location": "eastus",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        }
        for vault, document in (
            (own, own_document),
            (shared, {"location": "eastus", "identity": {"type": "SystemAssigned"}}),
        ):
            await store.register_vault(vault, document)
            await store.put_policy(vault, "every-4h", policy_document())

        request = with_vault_identity(
            parse_backup_instance(instance_properties(own, "disk-a"), own),
            own_document,
            settings.identity_bindings,
        )
        assert request.identity == IDENTITY
        instance, created = await runtime.protection.configure(own, "eastus", "disk-a-instance", request)
        assert created
        assert instance.identity == IDENTITY

        await runtime.planner.tick()
        await drain_backup_queue(runtime)
        (job,) = await store.list_jobs(own)
        assert job.status is JobStatus.COMPLETED, job
        assert len(await store.list_recovery_points(own, "disk-a-instance")) == 1

        # The same disk set-up through the app's own identity is refused, naming what is missing.
        other = with_vault_identity(
            parse_backup_instance(instance_properties(shared, "disk-b"), shared),
            {"identity": {"type": "SystemAssigned"}},
        )
        assert other.identity is None
        with pytest.raises(ProtectionCheckError) as refused:
            await runtime.protection.configure(shared, "eastus", "disk-b-instance", other)
        assert refused.value.code == "UserErrorMissingRequiredPermissions"

        # An instance may only name an identity its vault has.
        stranger = instance_properties(own, "disk-c")
        stranger["identityDetails"] = {
            "useSystemAssignedIdentity": False,
            "userAssignedIdentityArmUrl": IDENTITY.replace("id-vault-a", "id-someone-else"),
        }
        with pytest.raises(ValidationError) as unknown:
            with_vault_identity(parse_backup_instance(stranger, own), own_document)
        assert unknown.value.code == "UserErrorIdentityNotOnVault"
    finally:
        await runtime.close()


async def test_an_identity_unbound_later_stops_the_vaults_backups_with_a_clear_error(sim: Simulation) -> None:
    # The vault was bound to the identity and protected a disk; then the deployer removed the
    # binding. The next backup fails, naming the binding, and no snapshot is taken as the identity.
    admin = sim.admin
    admin.add_principal(IDENTITY_PRINCIPAL, IDENTITY_TOKEN)
    for role, scope in (("Disk Backup Reader", SRC_RG), ("Disk Snapshot Contributor", SNAP_RG)):
        admin.grant(IDENTITY_PRINCIPAL, role, scope)
    own = VaultRef(SUB, "rg-backup", "vault-unbound-later")
    own_document = {
        "id": own.id,
        "location": "eastus",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
    }
    bound = replace(
        sim.runtime.settings,
        arm_static_tokens={IDENTITY.lower(): IDENTITY_TOKEN},
        identity_bindings=IdentityBindings.parse(
            json.dumps({IDENTITY: [f"/subscriptions/{SUB}/resourceGroups/rg-backup"]})
        ),
    )
    runtime = Runtime.from_settings(bound, clock=sim.clock, arm_retry_total=1, arm_polling_interval=0)
    try:
        await runtime.store.register_vault(own, own_document)
        await runtime.store.put_policy(own, "every-4h", policy_document())
        request = with_vault_identity(
            parse_backup_instance(instance_properties(own, "disk-a"), own),
            own_document,
            bound.identity_bindings,
        )
        await runtime.protection.configure(own, "eastus", "disk-a-instance", request)
    finally:
        await runtime.close()

    admin.reset_counters()
    # Bound elsewhere now (another resource group's vaults), not to this vault.
    unbound = replace(
        bound,
        identity_bindings=IdentityBindings.parse(
            json.dumps({IDENTITY: [f"/subscriptions/{SUB}/resourceGroups/rg-other"]})
        ),
    )
    runtime = Runtime.from_settings(unbound, clock=sim.clock, arm_retry_total=1, arm_polling_interval=0)
    try:
        await runtime.planner.tick()
        await drain_backup_queue(runtime)
        (job,) = await runtime.store.list_jobs(own)
        assert job.status is JobStatus.FAILED, job
        assert job.error_code == "UserErrorIdentityNotBoundToVault"
        assert "VAULT_IDENTITY_BINDINGS" in (job.error_message or "")
        assert await runtime.store.list_recovery_points(own, "disk-a-instance") == []
        # Not one ARM call was made as the identity (nor as the app) for this backup.
        assert "Snapshots_CreateOrUpdate" not in admin.counters()["byOperation"]
        # Configuring protection again, and validating it, are refused the same way.
        with pytest.raises(AuthorizationError) as refused:
            with_vault_identity(
                parse_backup_instance(instance_properties(own, "disk-b"), own),
                own_document,
                unbound.identity_bindings,
            )
        assert refused.value.code == "UserErrorIdentityNotBoundToVault"
    finally:
        await runtime.close()
