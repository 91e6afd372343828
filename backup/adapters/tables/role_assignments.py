"""Role assignments in the ``_access`` partition of ``vaultdata``: three rows per assignment.

``a|{scope}|{name}`` lists a scope's assignments (a RowKey range), ``b|{principal}|{name}``
resolves a caller's grants (a range per principal id, one per request), and ``g|{name}`` makes
the name unique across scopes. One partition, so the three rows are written and deleted in one
entity-group transaction: a grant is never half there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from backup.adapters.tables import keys
from backup.adapters.tables.base import TableStore, delete_op
from backup.domain.access import Role, RoleAssignment, Scope
from backup.errors import ConflictError


def _entity(assignment: RoleAssignment) -> dict[str, Any]:
    return {
        "Name": assignment.name,
        "Scope": assignment.scope.id,
        "Role": assignment.role.value,
        "PrincipalId": assignment.principal_id,
        "PrincipalType": assignment.principal_type,
        "CreatedOn": assignment.created_on,
        "CreatedBy": assignment.created_by,
    }


def _assignment(entity: Any) -> RoleAssignment:
    return RoleAssignment(
        name=str(entity["Name"]),
        scope=Scope.parse(str(entity["Scope"])),
        role=Role(str(entity["Role"])),
        principal_id=str(entity["PrincipalId"]),
        principal_type=str(entity["PrincipalType"]),
        created_on=str(entity["CreatedOn"]),
        created_by=str(entity["CreatedBy"]),
    )


def _row_keys(assignment: RoleAssignment) -> tuple[str, str, str]:
    return (
        keys.assignment_by_scope_key(assignment.scope.parts, assignment.name),
        keys.assignment_by_principal_key(assignment.principal_id, assignment.name),
        keys.assignment_name_key(assignment.name),
    )


class RoleAssignmentRows(TableStore):
    async def create_role_assignment(self, assignment: RoleAssignment) -> None:
        held = await self.role_assignments_of([assignment.principal_id])
        if any(a.role is assignment.role and a.scope.parts == assignment.scope.parts for a in held):
            raise _exists(assignment)
        entity = _entity(assignment)
        try:
            await self._transact(
                keys.ACCESS_PARTITION,
                [("create", {"RowKey": row, **entity}) for row in _row_keys(assignment)],
            )
        except ConflictError as error:
            raise _exists(assignment) from error

    async def get_role_assignment(self, scope: Scope, name: str) -> RoleAssignment | None:
        entity = await self._point(keys.ACCESS_PARTITION, keys.assignment_by_scope_key(scope.parts, name))
        return None if entity is None else _assignment(entity)

    async def delete_role_assignment(self, assignment: RoleAssignment) -> None:
        rows = _row_keys(assignment)
        present = [row for row in rows if await self._point(keys.ACCESS_PARTITION, row) is not None]
        if present:
            await self._transact(keys.ACCESS_PARTITION, [delete_op(row) for row in present])

    async def role_assignments_at(self, scopes: Sequence[Scope]) -> list[RoleAssignment]:
        found: list[RoleAssignment] = []
        for scope in scopes:
            lower, upper = keys.assignments_at_scope_range(scope.parts)
            found.extend([_assignment(e) async for e in self._range(keys.ACCESS_PARTITION, lower, upper)])
        return found

    async def role_assignments_of(self, principal_ids: Iterable[str]) -> list[RoleAssignment]:
        found: list[RoleAssignment] = []
        for principal in sorted(set(principal_ids)):
            lower, upper = keys.assignments_of_principal_range(principal)
            found.extend([_assignment(e) async for e in self._range(keys.ACCESS_PARTITION, lower, upper)])
        return found


def _exists(assignment: RoleAssignment) -> ConflictError:
    return ConflictError(
        f"The role assignment '{assignment.name}' already exists, or principal '{assignment.principal_id}' "
        f"already holds '{assignment.role.value}' at '{assignment.scope.id}'.",
        code="RoleAssignmentExists",
        target="roleAssignmentName",
    )
