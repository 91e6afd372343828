"""The scope a request names, the caller's grants, and the one check the router makes.

A route under a vault (anything with ``{vaultName}``) acts on that vault: the caller must hold
the route's role at the vault or above. A wider route (a subscription's or a resource group's
list, the overview, an operation status by location) may be asked by anyone holding the role
somewhere in or above its scope; its handler then shows only what :meth:`Access.sees` allows,
so a list never leaks a vault the caller has no role on.
"""

from __future__ import annotations

from collections.abc import Mapping

from backup.api.auth import Caller
from backup.domain.access import Access, Role, Scope
from backup.errors import AuthorizationError
from backup.ports import RoleAssignmentStore


def scope_of_request(params: Mapping[str, str]) -> Scope:
    """The narrowest scope the path names: a vault, a resource group, a subscription or everything."""
    return Scope(params.get("subscriptionId"), params.get("resourceGroupName"), params.get("vaultName"))


async def access_of(caller: Caller, store: RoleAssignmentStore) -> Access:
    """The token's app roles everywhere, and the stored assignments naming the caller or its groups.

    A key holder without Easy Auth has no principal to look up: it is an administrator.
    """
    access = caller.app_wide_access
    if caller.authenticated and caller.principal_ids:
        stored = await store.role_assignments_of(caller.principal_ids)
        access = access.with_grants(assignment.grant for assignment in stored)
    return access


def authorize(caller: Caller, access: Access, role: Role, scope: Scope, action: str) -> None:
    """403 ``AuthorizationFailed`` unless the caller may do ``action`` at ``scope``."""
    allowed = access.allows(role, scope) if scope.vault is not None else access.reaches(role, scope)
    if allowed:
        return
    raise denied(caller, role, scope, action)


def require(caller: Caller, access: Access, role: Role, scope: Scope, action: str) -> None:
    """The exact check: ``role`` held at ``scope`` or above (an owner's act, a grant's scope)."""
    if not access.allows(role, scope):
        raise denied(caller, role, scope, action)


def denied(caller: Caller, role: Role, scope: Scope, action: str) -> AuthorizationError:
    who = caller.principal_name
    if caller.principal_ids:
        who += f"' with object id '{sorted(caller.principal_ids)[0]}"
    needed = f"'{role.value}'" if role is not Role.READER else "any role (BackupReader or above)"
    return AuthorizationError(
        f"The client '{who}' does not have authorization to perform {action} over scope '{scope.id}'; "
        f"it needs {needed} at that scope or above, from an app role or a role assignment.",
        target=role.value,
    )
