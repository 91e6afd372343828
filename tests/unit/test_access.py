"""The scope decision (``backup.domain.access``): which grant covers which scope, what each role
implies, what a list may show, and the role definitions' ids."""

from __future__ import annotations

import pytest

from backup.domain.access import (
    EVERYTHING,
    ROLE_DEFINITION_IDS,
    Access,
    Grant,
    ListingPlan,
    Role,
    Scope,
    implies,
    role_definition_id,
    role_of_definition,
)
from backup.domain.instance import VaultRef
from backup.errors import ValidationError

SUB = "00000000-0000-0000-0000-0000000000ab"
OTHER_SUB = "00000000-0000-0000-0000-0000000000cd"
VAULT_A = VaultRef(SUB, "rg-team-a", "vault-a")
VAULT_A2 = VaultRef(SUB, "rg-team-a", "vault-a2")
VAULT_B = VaultRef(SUB, "rg-team-b", "vault-b")
VAULT_C = VaultRef(OTHER_SUB, "rg-team-a", "vault-a")


def test_scopes_parse_as_arm_writes_them_and_print_back() -> None:
    for text in (
        "/",
        f"/subscriptions/{SUB}",
        f"/subscriptions/{SUB}/resourceGroups/rg-team-a",
        VAULT_A.id,
    ):
        assert Scope.parse(text).id == text
    assert Scope.parse(VAULT_A.id) == Scope.of_vault(VAULT_A)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "//",
        f"/subscriptions/{SUB}/",
        "/subscriptions/not-a-guid",
        f"/subscriptions/{SUB}/resourceGroups/../x",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/backupInstances/i",
    ],
)
def test_anything_else_is_not_a_scope(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Scope.parse(text)
    assert raised.value.code == "InvalidRoleAssignmentScope"


def test_a_scope_covers_itself_and_what_is_under_it_case_insensitively() -> None:
    vault = Scope.of_vault(VAULT_A)
    group = Scope(SUB, "RG-TEAM-A")
    assert EVERYTHING.covers(vault)
    assert Scope(SUB.upper()).covers(vault)
    assert group.covers(vault)
    assert vault.covers(Scope.parse(VAULT_A.id.upper()))
    assert not vault.covers(group)
    assert not group.covers(Scope.of_vault(VAULT_B))
    assert not Scope(SUB, "rg-team").covers(group)  # a prefix of a name is not a parent
    assert not Scope(SUB).covers(Scope.of_vault(VAULT_C))
    assert vault.ancestry() == (EVERYTHING, Scope(SUB), Scope(SUB, "rg-team-a"), vault)


def test_every_role_reads_and_only_the_owner_implies_the_others() -> None:
    for role in Role:
        assert implies(role, Role.READER)
        assert implies(Role.OWNER, role)
        assert implies(role, role)
    assert not implies(Role.OPERATOR, Role.RESTORE_OPERATOR)
    assert not implies(Role.RESTORE_OPERATOR, Role.OPERATOR)
    assert not implies(Role.READER, Role.OPERATOR)
    for role in (Role.READER, Role.OPERATOR, Role.RESTORE_OPERATOR):
        assert not implies(role, Role.OWNER)


def test_a_vault_grant_acts_on_that_vault_alone() -> None:
    access = Access(frozenset({Grant(Role.OPERATOR, Scope.of_vault(VAULT_A))}))
    assert access.allows(Role.OPERATOR, Scope.of_vault(VAULT_A))
    assert access.allows(Role.READER, Scope.of_vault(VAULT_A))
    assert not access.allows(Role.RESTORE_OPERATOR, Scope.of_vault(VAULT_A))
    assert not access.allows(Role.OWNER, Scope.of_vault(VAULT_A))
    for other in (VAULT_A2, VAULT_B, VAULT_C):
        assert not access.allows(Role.READER, Scope.of_vault(other))
        assert not access.sees(other)
    assert access.visible([VAULT_B, VAULT_A, VAULT_C, VAULT_A2]) == [VAULT_A]


def test_a_group_grant_covers_its_vaults_and_not_the_group_next_door() -> None:
    access = Access(frozenset({Grant(Role.RESTORE_OPERATOR, Scope(SUB, "rg-team-a"))}))
    assert access.visible([VAULT_A, VAULT_A2, VAULT_B, VAULT_C]) == [VAULT_A, VAULT_A2]
    assert access.allows(Role.RESTORE_OPERATOR, Scope.of_vault(VAULT_A2))
    assert not access.allows(Role.RESTORE_OPERATOR, Scope(SUB))


def test_lists_above_a_grant_are_reachable_but_show_only_what_it_covers() -> None:
    access = Access(frozenset({Grant(Role.READER, Scope.of_vault(VAULT_A))}))
    assert access.reaches(Role.READER, Scope(SUB))
    assert access.reaches(Role.READER, Scope(SUB, "rg-team-a"))
    assert access.reaches(Role.READER, EVERYTHING)
    assert not access.reaches(Role.READER, Scope(SUB, "rg-team-b"))
    assert not access.reaches(Role.READER, Scope(OTHER_SUB))
    assert not access.reaches(Role.OPERATOR, Scope(SUB))
    assert not access.allows(Role.READER, Scope(SUB))


def test_app_roles_hold_everywhere_and_no_grant_gives_nothing() -> None:
    everywhere = Access.everywhere([Role.OPERATOR])
    assert all(everywhere.sees(vault) for vault in (VAULT_A, VAULT_B, VAULT_C))
    assert everywhere.allows(Role.OPERATOR, Scope(OTHER_SUB))
    nothing = Access(frozenset())
    assert nothing.visible([VAULT_A, VAULT_B]) == []
    assert not nothing.reaches(Role.READER, EVERYTHING)
    combined = Access.everywhere([Role.READER]).with_grants([Grant(Role.OWNER, Scope.of_vault(VAULT_B))])
    assert combined.allows(Role.OWNER, Scope.of_vault(VAULT_B))
    assert not combined.allows(Role.OPERATOR, Scope.of_vault(VAULT_A))
    assert combined.roles == {Role.READER, Role.OWNER}


def test_role_definition_ids_round_trip_at_any_scope() -> None:
    assert len(set(ROLE_DEFINITION_IDS.values())) == len(Role)
    for role in Role:
        for scope in (EVERYTHING, Scope(SUB), Scope.of_vault(VAULT_A)):
            assert role_of_definition(role_definition_id(role, scope)) is role
        assert (
            role_of_definition(
                f"/providers/Microsoft.Authorization/roleDefinitions/{ROLE_DEFINITION_IDS[role].upper()}"
            )
            is role
        )


@pytest.mark.parametrize(
    "definition",
    [
        None,
        42,
        "BackupOperator",
        # Azure's built-in Owner: not one of this app's roles.
        "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/not-a-guid",
    ],
)
def test_other_role_definitions_are_a_400_listing_the_app_roles(definition: object) -> None:
    with pytest.raises(ValidationError) as raised:
        role_of_definition(definition)
    assert raised.value.code == "RoleDefinitionDoesNotExist"
    assert ROLE_DEFINITION_IDS[Role.OWNER] in str(raised.value)


def test_a_list_reads_the_whole_scope_only_when_a_grant_covers_it() -> None:
    sub, group_a, group_b = Scope(SUB), Scope(SUB, "rg-team-a"), Scope(SUB, "rg-team-b")
    assert Access.everywhere([Role.READER]).listing_plan(sub) == ListingPlan(whole=True)
    assert Access(frozenset({Grant(Role.OPERATOR, sub)})).listing_plan(group_a) == ListingPlan(whole=True)
    narrow = Access(
        frozenset(
            {
                Grant(Role.READER, Scope.of_vault(VAULT_A)),  # inside a granted group: read with it
                Grant(Role.OPERATOR, Scope(SUB, "RG-Team-A")),
                Grant(Role.RESTORE_OPERATOR, Scope.of_vault(VAULT_B)),
                Grant(Role.OWNER, Scope.of_vault(VAULT_C)),  # another subscription
            }
        )
    )
    assert narrow.listing_plan(sub) == ListingPlan(
        whole=False, groups=("rg-team-a",), vaults=(("rg-team-b", "vault-b"),)
    )
    assert narrow.listing_plan(group_b) == ListingPlan(whole=False, vaults=(("rg-team-b", "vault-b"),))
    assert narrow.listing_plan(group_a) == ListingPlan(whole=True)
    assert Access(frozenset()).listing_plan(sub) == ListingPlan(whole=False)
