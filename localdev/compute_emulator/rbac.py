"""Built-in roles, action matching and scope inheritance, as Azure RBAC evaluates them.

The product's least-privilege story (three narrow disk roles instead of Contributor) is only
testable offline if the emulator refuses exactly what Azure would refuse, so the role
definitions below are the published action lists, not approximations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import ArmError


@dataclass(frozen=True)
class Role:
    name: str
    id: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


BUILT_IN_ROLES: tuple[Role, ...] = (
    Role(
        "Disk Backup Reader",
        "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/disks/beginGetAccess/action",
        ),
    ),
    Role(
        "Disk Snapshot Contributor",
        "7efff54f-a5b4-42b5-a1c5-5411624893ce",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Compute/snapshots/delete",
            "Microsoft.Compute/snapshots/write",
            "Microsoft.Compute/snapshots/read",
            "Microsoft.Compute/snapshots/beginGetAccess/action",
            "Microsoft.Compute/snapshots/endGetAccess/action",
            "Microsoft.Compute/disks/beginGetAccess/action",
            "Microsoft.Storage/storageAccounts/listkeys/action",
            "Microsoft.Storage/storageAccounts/write",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Storage/storageAccounts/delete",
        ),
    ),
    Role(
        "Disk Restore Operator",
        "b50d9833-a0cb-478e-945f-707fcc997c13",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Compute/disks/write",
            "Microsoft.Compute/disks/read",
        ),
    ),
    Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", ("*/read",)),
    Role(
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    ),
    Role("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", ("*",)),
)

_ROLES_BY_KEY = {key.lower(): role for role in BUILT_IN_ROLES for key in (role.name, role.id)}


def resolve_role(name_or_id: str) -> Role:
    """Accept a built-in role's display name or definition GUID (case-insensitive)."""
    role = _ROLES_BY_KEY.get(str(name_or_id).strip().lower())
    if role is None:
        known = ", ".join(r.name for r in BUILT_IN_ROLES)
        raise ValueError(f"unknown role '{name_or_id}'; the emulator knows: {known}")
    return role


@lru_cache(maxsize=512)
def _pattern(action_pattern: str) -> re.Pattern[str]:
    # RBAC wildcards match any run of characters, including '/', and ignore case.
    return re.compile("^" + ".*".join(re.escape(part) for part in action_pattern.split("*")) + "$", re.I)


def action_matches(action_pattern: str, action: str) -> bool:
    return _pattern(action_pattern).match(action) is not None


def role_allows(role: Role, action: str) -> bool:
    """NotActions subtract from the same role's Actions; they never deny what another role grants."""
    return any(action_matches(p, action) for p in role.actions) and not any(
        action_matches(p, action) for p in role.not_actions
    )


def normalize_scope(scope: str) -> str:
    scope = "/" + scope.strip().strip("/")
    return scope


def scope_covers(assignment_scope: str, target_scope: str) -> bool:
    """An assignment at S applies to S and to everything below it, on segment boundaries."""
    parent = normalize_scope(assignment_scope).lower()
    child = normalize_scope(target_scope).lower()
    return parent == "/" or child == parent or child.startswith(parent + "/")


@dataclass(frozen=True)
class RoleAssignment:
    principal_id: str
    role: Role
    scope: str

    def to_dict(self) -> dict[str, str]:
        return {
            "principalId": self.principal_id,
            "role": self.role.name,
            "roleDefinitionId": self.role.id,
            "scope": self.scope,
        }


class Authorizer:
    """Holds the role assignments and answers "may principal P do action A at scope S"."""

    def __init__(self) -> None:
        self.assignments: list[RoleAssignment] = []

    def grant(self, principal_id: str, role_name: str, scope: str) -> RoleAssignment:
        assignment = RoleAssignment(
            str(principal_id).lower(), resolve_role(role_name), normalize_scope(scope)
        )
        if not any(_same(a, assignment) for a in self.assignments):
            self.assignments.append(assignment)
        return assignment

    def revoke(self, principal_id: str, role_name: str, scope: str) -> bool:
        wanted = RoleAssignment(str(principal_id).lower(), resolve_role(role_name), normalize_scope(scope))
        before = len(self.assignments)
        self.assignments = [a for a in self.assignments if not _same(a, wanted)]
        return len(self.assignments) != before

    def applicable(self, principal_id: str, scope: str) -> list[RoleAssignment]:
        principal = principal_id.lower()
        return [a for a in self.assignments if a.principal_id == principal and scope_covers(a.scope, scope)]

    def is_allowed(self, principal_id: str, action: str, scope: str) -> bool:
        return any(role_allows(a.role, action) for a in self.applicable(principal_id, scope))

    def require(self, principal_id: str, action: str, scope: str) -> None:
        if not self.is_allowed(principal_id, action, scope):
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{principal_id}' with object id '{principal_id}' does not have authorization "
                f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials.",
            )

    def require_linked(
        self, principal_id: str, action: str, scope: str, linked_actions: tuple[str, ...], linked_scope: str
    ) -> None:
        """ARM's linked-access check: the caller must also hold one of ``linked_actions`` on a
        resource the request only references (the source of a copy)."""
        if any(self.is_allowed(principal_id, a, linked_scope) for a in linked_actions):
            return
        raise ArmError(
            403,
            "LinkedAuthorizationFailed",
            f"The client '{principal_id}' with object id '{principal_id}' has permission to perform action "
            f"'{action}' on scope '{scope}'; however, it does not have permission to perform action(s) "
            f"'{linked_actions[0]}' on the linked scope(s) '{linked_scope}' (respectively) or the linked "
            "scope(s) are invalid.",
        )

    def permissions(self, principal_id: str, scope: str) -> list[dict[str, list[str]]]:
        """``Microsoft.Authorization/permissions``: one entry per assignment at or above ``scope``."""
        return [
            {
                "actions": list(a.role.actions),
                "notActions": list(a.role.not_actions),
                "dataActions": [],
                "notDataActions": [],
            }
            for a in self.applicable(principal_id, scope)
        ]


def _same(a: RoleAssignment, b: RoleAssignment) -> bool:
    return a.principal_id == b.principal_id and a.role == b.role and a.scope.lower() == b.scope.lower()
