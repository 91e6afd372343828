"""An in-memory ``RoleAssignmentStore``: the same answers and refusals as the table rows.

``tests/contracts/test_role_assignments_contract.py`` holds it to the real adapter on Azurite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from backup.adapters.tables import keys
from backup.domain.access import RoleAssignment, Scope
from backup.errors import ConflictError


class FakeRoleAssignments:
    def __init__(self) -> None:
        self._by_name: dict[str, RoleAssignment] = {}

    async def create_role_assignment(self, assignment: RoleAssignment) -> None:
        # The real adapter's keys validate the names; so do they here.
        keys.assignment_by_scope_key(assignment.scope.parts, assignment.name)
        keys.assignment_by_principal_key(assignment.principal_id, assignment.name)
        duplicate = any(
            held.principal_id == assignment.principal_id
            and held.role is assignment.role
            and held.scope.parts == assignment.scope.parts
            for held in self._by_name.values()
        )
        if duplicate or assignment.name in self._by_name:
            raise ConflictError(
                f"The role assignment '{assignment.name}' already exists.", code="RoleAssignmentExists"
            )
        self._by_name[assignment.name] = assignment

    async def get_role_assignment(self, scope: Scope, name: str) -> RoleAssignment | None:
        keys.assignment_by_scope_key(scope.parts, name)
        found = self._by_name.get(name.lower())
        return found if found is not None and found.scope.parts == scope.parts else None

    async def delete_role_assignment(self, assignment: RoleAssignment) -> None:
        self._by_name.pop(assignment.name, None)

    async def role_assignments_at(self, scopes: Sequence[Scope]) -> list[RoleAssignment]:
        return [
            held
            for scope in scopes
            for held in sorted(self._by_name.values(), key=lambda a: a.name)
            if held.scope.parts == scope.parts
        ]

    async def role_assignments_of(self, principal_ids: Iterable[str]) -> list[RoleAssignment]:
        return [
            held
            for principal in sorted(set(principal_ids))
            for held in sorted(self._by_name.values(), key=lambda a: a.name)
            if held.principal_id == principal
        ]
