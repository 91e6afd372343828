"""Role assignments (``RoleAssignmentStore``), held to one contract by the fake and by the table
rows on Azurite: what is created reads back at its scope and for its principal, names are unique
across scopes, a grant is held once, and a delete removes it from every read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from backup.domain.access import EVERYTHING, Role, RoleAssignment, Scope
from backup.domain.instance import VaultRef
from backup.errors import ConflictError, ValidationError


def _assignment(scope: Scope, role: Role = Role.READER, principal: str | None = None) -> RoleAssignment:
    return RoleAssignment(
        name=str(uuid.uuid4()),
        scope=scope,
        role=role,
        principal_id=principal or str(uuid.uuid4()),
        principal_type="User",
        created_on="2026-11-26T04:00:00Z",
        created_by="owner@example.com",
    )


async def test_an_assignment_reads_back_at_its_scope_and_for_its_principal(
    store: Any, vault: VaultRef
) -> None:
    at_vault = _assignment(Scope.of_vault(vault), Role.OPERATOR)
    await store.create_role_assignment(at_vault)
    assert await store.get_role_assignment(Scope.of_vault(vault), at_vault.name) == at_vault
    assert await store.role_assignments_at([Scope.of_vault(vault)]) == [at_vault]
    assert await store.role_assignments_of([at_vault.principal_id]) == [at_vault]
    # Not at another scope, not for another principal.
    group = Scope(vault.subscription_id, vault.resource_group)
    assert await store.get_role_assignment(group, at_vault.name) is None
    assert await store.role_assignments_at([group]) == []
    assert await store.role_assignments_of([str(uuid.uuid4())]) == []


async def test_the_scopes_of_a_vault_list_each_scope_exactly(store: Any, vault: VaultRef) -> None:
    principal = str(uuid.uuid4())
    subscription = Scope(vault.subscription_id)
    group = Scope(vault.subscription_id, vault.resource_group)
    made = [
        _assignment(subscription, Role.READER, principal),
        _assignment(group, Role.RESTORE_OPERATOR, principal),
        _assignment(Scope.of_vault(vault), Role.OWNER, principal),
    ]
    for assignment in made:
        await store.create_role_assignment(assignment)
    listed = await store.role_assignments_at(Scope.of_vault(vault).ancestry())
    assert [a for a in listed if a.principal_id == principal] == made
    assert sorted(await store.role_assignments_of([principal]), key=lambda a: a.name) == sorted(
        made, key=lambda a: a.name
    )
    # A sibling resource group's list holds none of them ("rg-backup" is a prefix of "rg-backup2").
    sibling = Scope(vault.subscription_id, vault.resource_group + "2")
    assert await store.role_assignments_at([sibling]) == []


async def test_the_root_scope_round_trips(store: Any) -> None:
    root = _assignment(EVERYTHING, Role.OWNER)
    await store.create_role_assignment(root)
    assert await store.get_role_assignment(EVERYTHING, root.name) == root
    assert root in await store.role_assignments_at([EVERYTHING])


async def test_a_name_is_unique_across_scopes_and_a_grant_is_held_once(store: Any, vault: VaultRef) -> None:
    first = _assignment(Scope.of_vault(vault))
    await store.create_role_assignment(first)
    same_name_elsewhere = RoleAssignment(
        first.name, Scope(vault.subscription_id), Role.OWNER, str(uuid.uuid4()), "User", "t", "x"
    )
    with pytest.raises(ConflictError):
        await store.create_role_assignment(same_name_elsewhere)
    same_grant_new_name = _assignment(first.scope, first.role, first.principal_id)
    with pytest.raises(ConflictError):
        await store.create_role_assignment(same_grant_new_name)
    assert await store.role_assignments_of([first.principal_id]) == [first]
    assert await store.get_role_assignment(Scope(vault.subscription_id), first.name) is None


async def test_a_delete_removes_it_from_every_read_and_frees_its_name(store: Any, vault: VaultRef) -> None:
    assignment = _assignment(Scope.of_vault(vault), Role.OPERATOR)
    await store.create_role_assignment(assignment)
    await store.delete_role_assignment(assignment)
    assert await store.get_role_assignment(assignment.scope, assignment.name) is None
    assert await store.role_assignments_at([assignment.scope]) == []
    assert await store.role_assignments_of([assignment.principal_id]) == []
    await store.delete_role_assignment(assignment)  # already gone: no error
    await store.create_role_assignment(assignment)
    assert await store.role_assignments_of([assignment.principal_id]) == [assignment]


async def test_ids_that_are_not_guids_are_refused(store: Any, vault: VaultRef) -> None:
    bad = RoleAssignment(
        "not-a-guid", Scope.of_vault(vault), Role.READER, str(uuid.uuid4()), "User", "t", "x"
    )
    with pytest.raises(ValidationError):
        await store.create_role_assignment(bad)
    with pytest.raises(ValidationError):
        await store.create_role_assignment(
            RoleAssignment(str(uuid.uuid4()), Scope.of_vault(vault), Role.READER, "someone", "User", "t", "x")
        )
