"""Immutable vaults and multi-user authorization over the fakes: what an immutable vault keeps (the
purge after soft delete, instance delete, a move to shorter retention), the soft-delete period
each vault's settings give, and every critical operation of a vault linked to a resource guard,
with and without an approval (granted by another holder, in time)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backup.domain.guards import GuardRef
from backup.domain.instance import VaultRef
from backup.domain.vault_security import CriticalOperation
from backup.errors import AuthorizationError, ConflictError, ValidationError
from backup.services.critical_operations import CriticalOperationGate
from backup.shapes.backup_instance import parse_backup_instance
from tests.service.conftest import START, SUB, VAULT, Env, policy_document
from tests.service.test_protection import properties

DAY = timedelta(days=1)
NAME = "disk-a-instance"
GUARD = GuardRef(SUB, "rg-security", "guard")
ADMIN = "security-admin@contoso.com"
OPERATOR = "operator@contoso.com"


def vault_document(
    vault: VaultRef, *, soft: str = "On", days: int = 14, lock: str = "Disabled"
) -> dict[str, Any]:
    return {
        "location": "eastus",
        "id": vault.id,
        "properties": {
            "securitySettings": {
                "softDeleteSettings": {"state": soft, "retentionDurationInDays": days},
                "immutabilitySettings": {"state": lock},
            }
        },
    }


async def protect(env: Env, *, policy: str = "Policy", **settings: Any) -> None:
    if await env.store.get_vault(VAULT) is None:
        await env.store.register_vault(VAULT, vault_document(VAULT, **settings))
        await env.store.put_policy(VAULT, "Policy", policy_document(default="P30D"))
        await env.store.put_policy(VAULT, "Shorter", policy_document(default="P7D"))
        await env.store.put_policy(VAULT, "Longer", policy_document(default="P60D"))
    request = parse_backup_instance(properties(VAULT, policy=policy), VAULT)
    await env.protection.configure(VAULT, "eastus", NAME, request, requester=OPERATOR)


async def set_security(env: Env, **settings: Any) -> None:
    stored = await env.store.get_vault(VAULT)
    assert stored is not None
    await env.store.register_vault(VAULT, vault_document(VAULT, **settings), stored.etag)


async def link_guard(env: Env) -> CriticalOperationGate:
    await env.store.put_resource_guard(GUARD, {"resource": {"id": GUARD.id}, "holders": [ADMIN]})
    await env.store.put_guard_proxy(
        VAULT, {"name": "DppResourceGuardProxy", "properties": {"resourceGuardResourceId": GUARD.id}}
    )
    return CriticalOperationGate(env.store, env.clock)


# --- soft delete follows the vault ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("soft", "days", "period"), [("On", 30, 30 * DAY), ("AlwaysOn", 90, 90 * DAY), ("Off", 0, 0 * DAY)]
)
async def test_an_instance_is_soft_deleted_for_the_vaults_period(
    env: Env, soft: str, days: int, period: timedelta
) -> None:
    await protect(env, soft=soft, days=days)
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at == START + period


async def test_with_soft_delete_off_the_next_purge_removes_the_instance(env: Env) -> None:
    await protect(env, soft="Off", days=0)
    await env.run_slots(2)
    await env.protection.delete(VAULT, NAME)
    result = await env.purger.purge_due()
    assert len(result.purged) == 1
    assert env.arm.snapshot_ids() == []


# --- immutability -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lock", ["Unlocked", "Locked"])
async def test_an_immutable_vault_refuses_to_delete_an_instance_with_unexpired_points(
    env: Env, lock: str
) -> None:
    await protect(env, lock=lock)
    await env.run_slots(2)
    with pytest.raises(ConflictError) as refused:
        await env.protection.delete(VAULT, NAME)
    assert refused.value.code == "UserErrorImmutableVaultOperationNotAllowed"
    instance = await env.store.get_instance(VAULT, NAME)
    assert instance is not None
    assert not instance.value.is_soft_deleted


async def test_an_immutable_vault_lets_an_instance_without_points_go(env: Env) -> None:
    await protect(env, lock="Locked")
    assert await env.protection.delete(VAULT, NAME) is not None


async def test_the_purge_keeps_every_point_an_immutable_vault_holds_until_it_expires(env: Env) -> None:
    """An instance deleted before its vault became immutable: the purge still deletes nothing early."""
    await protect(env, soft="On", days=14)
    await env.run_slots(2)
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at is not None
    await set_security(env, soft="On", days=14, lock="Unlocked")
    snapshots = sorted(env.arm.snapshot_ids())

    env.advance(deleted.purge_at - env.now)
    result = await env.purger.purge_due()
    assert (result.purged, result.snapshots_deleted, result.not_ours) == ([], 0, [])
    assert [instance.lower() for instance in result.held] == [deleted.id.lower()]
    assert sorted(env.arm.snapshot_ids()) == snapshots
    assert len(await env.store.list_recovery_points(VAULT, NAME, include_deleted=True)) == 2

    env.advance(30 * DAY)  # past the points' P30D expiry: the hold ends
    result = await env.purger.purge_due()
    assert len(result.purged) == 1
    assert result.snapshots_deleted == 2
    assert env.arm.snapshot_ids() == []
    assert await env.store.get_instance(VAULT, NAME) is None


async def test_the_same_purge_without_immutability_deletes_at_the_purge_date(env: Env) -> None:
    await protect(env, soft="On", days=14)
    await env.run_slots(2)
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at is not None
    env.advance(deleted.purge_at - env.now)
    result = await env.purger.purge_due()
    assert len(result.purged) == 1
    assert result.snapshots_deleted == 2


async def test_an_immutable_vault_refuses_a_policy_with_shorter_retention(env: Env) -> None:
    await protect(env, lock="Unlocked")
    with pytest.raises(ConflictError) as refused:
        await protect(env, policy="Shorter")
    assert refused.value.code == "UserErrorImmutableVaultOperationNotAllowed"
    assert "P7D instead of P30D" in refused.value.message
    current = await env.store.get_instance(VAULT, NAME)
    assert current is not None
    assert current.value.policy_name == "Policy"
    await protect(env, policy="Longer")  # lengthening is always allowed
    current = await env.store.get_instance(VAULT, NAME)
    assert current is not None
    assert current.value.policy_name == "Longer"


# --- multi-user authorization ---------------------------------------------------------------------


async def test_without_a_guard_no_operation_needs_an_approval(env: Env) -> None:
    await protect(env)
    gate = CriticalOperationGate(env.store, env.clock)
    for operation in CriticalOperation:
        await gate.require(VAULT, operation, OPERATOR)


async def test_a_guarded_delete_needs_an_approval_from_another_holder(env: Env) -> None:
    await protect(env)
    gate = await link_guard(env)
    with pytest.raises(AuthorizationError) as refused:
        await env.protection.delete(VAULT, NAME, requester=OPERATOR)
    assert refused.value.code == "LinkedAuthorizationFailed"

    with pytest.raises(AuthorizationError):  # the requester holds no role on the guard
        await gate.grant(GUARD, OPERATOR, OPERATOR, timedelta(hours=1))
    with pytest.raises(AuthorizationError):  # a holder cannot approve themselves
        await gate.grant(GUARD, ADMIN, ADMIN, timedelta(hours=1))
    with pytest.raises(ValidationError):
        await gate.grant(GUARD, ADMIN, OPERATOR, timedelta(hours=25))
    assert await env.store.list_guard_approvals(GUARD) == []

    await gate.grant(GUARD, ADMIN, OPERATOR.upper(), timedelta(hours=1))
    deleted = await env.protection.delete(VAULT, NAME, requester=OPERATOR)
    assert deleted is not None
    assert deleted.is_soft_deleted


async def test_an_approval_ends_at_its_expiry(env: Env) -> None:
    await protect(env)
    gate = await link_guard(env)
    await gate.grant(GUARD, ADMIN, OPERATOR, timedelta(hours=1))
    env.advance(timedelta(hours=1))
    with pytest.raises(AuthorizationError):
        await env.protection.delete(VAULT, NAME, requester=OPERATOR)


async def test_an_approval_is_for_its_principal_only(env: Env) -> None:
    await protect(env)
    gate = await link_guard(env)
    await gate.grant(GUARD, ADMIN, "someone-else@contoso.com", timedelta(hours=1))
    with pytest.raises(AuthorizationError):
        await env.protection.delete(VAULT, NAME, requester=OPERATOR)
    with pytest.raises(AuthorizationError):
        await env.protection.delete(VAULT, NAME)  # an unnamed in-process caller is nobody's approval


async def test_a_guarded_move_to_shorter_retention_needs_an_approval(env: Env) -> None:
    await protect(env)
    gate = await link_guard(env)
    with pytest.raises(AuthorizationError):
        await protect(env, policy="Shorter")
    await protect(env, policy="Longer")  # not a critical operation
    await gate.grant(GUARD, ADMIN, OPERATOR, timedelta(hours=1))
    await protect(env, policy="Shorter")
    current = await env.store.get_instance(VAULT, NAME)
    assert current is not None
    assert current.value.policy_name == "Shorter"


async def test_an_excluded_operation_needs_no_approval_unless_it_disarms_the_guard(env: Env) -> None:
    await protect(env)
    gate = await link_guard(env)
    record = await env.store.get_resource_guard(GUARD)
    assert record is not None
    excluded = [
        CriticalOperation.DELETE_BACKUP_INSTANCE.value,
        CriticalOperation.DISABLE_SOFT_DELETE.value,
        CriticalOperation.DELETE_GUARD_PROXY.value,
    ]
    resource = {"properties": {"vaultCriticalOperationExclusionList": excluded}}
    await env.store.put_resource_guard(GUARD, {**record.value, "resource": resource}, record.etag)
    for always in (CriticalOperation.DISABLE_SOFT_DELETE, CriticalOperation.DELETE_GUARD_PROXY):
        with pytest.raises(AuthorizationError):
            await gate.require(VAULT, always, OPERATOR)
    assert await env.protection.delete(VAULT, NAME, requester=OPERATOR) is not None


async def test_a_deleted_guard_protects_nothing(env: Env) -> None:
    await protect(env)
    await link_guard(env)
    record = await env.store.get_resource_guard(GUARD)
    assert record is not None
    await env.store.delete_resource_guard(GUARD, record.etag)
    assert await env.protection.delete(VAULT, NAME, requester=OPERATOR) is not None


@pytest.mark.parametrize("operation", list(CriticalOperation))
async def test_each_critical_operation_of_a_linked_vault_needs_an_approval(
    env: Env, operation: CriticalOperation
) -> None:
    await protect(env)
    gate = await link_guard(env)
    with pytest.raises(AuthorizationError) as refused:
        await gate.require(VAULT, operation, OPERATOR)
    assert operation.value in refused.value.message
    await gate.grant(GUARD, ADMIN, OPERATOR, timedelta(minutes=5))
    await gate.require(VAULT, operation, OPERATOR)
    approval = await gate.approval_of(VAULT, OPERATOR)
    assert approval is not None
    assert approval.expires_at == env.now + timedelta(minutes=5)


async def test_the_purge_holds_an_unrecorded_snapshot_by_its_tags_expiry(env: Env) -> None:
    """A backup that was running when the instance was deleted leaves a snapshot no row names:
    custody verifies it from its tags, and immutability holds it until the tags' expiry."""
    await protect(env, soft="On", days=14)
    await env.run_slots(1)
    [point] = await env.store.list_recovery_points(VAULT, NAME)
    await env.store.delete_recovery_points(VAULT, [point], [])  # its row is gone, its snapshot is not
    deleted = await env.protection.delete(VAULT, NAME)
    assert deleted is not None
    assert deleted.purge_at is not None
    await set_security(env, soft="On", days=14, lock="Locked")

    env.advance(deleted.purge_at - env.now)
    result = await env.purger.purge_due()
    assert result.purged == []
    assert [s.lower() for s in env.arm.snapshot_ids()] == [point.snapshot_id.lower()]

    env.advance(point.expires_at - env.now)
    result = await env.purger.purge_due()
    assert len(result.purged) == 1
    assert env.arm.snapshot_ids() == []
