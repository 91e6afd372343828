"""Linked checks: with Entra sign-in, the caller's own Azure rights become necessary too.

The app's identity may read every team's disks; a caller may not. So configuring protection asks
ARM, as the caller, whether the caller may read the disk, and a restore whether the caller may
write disks in the target resource group (as Azure Backup's own linked authorization does), and
creating a vault whether the caller may read its resource group (which must exist).
Azure answers a refusal with ``LinkedAuthorizationFailed``; so does this app.

The caller's ARM token arrives in ``X-MS-TOKEN-AAD-ACCESS-TOKEN``: App Service Authentication's
token store puts it there for a browser sign-in whose login asks for ARM's scope
(``https://management.azure.com/user_impersonation``). It must belong to the signed-in principal
(its ``oid`` is one of the caller's object ids), and without it the request is refused: the check
fails closed. A function key without App Service Authentication is an administrator's credential
and skips these checks (the README says so); a per-vault allow-list for that case is not built yet.
"""

from __future__ import annotations

from backup.api.router import RequestContext
from backup.credentials import token_principal
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError, NotFoundError

TOKEN_HEADER = "X-MS-TOKEN-AAD-ACCESS-TOKEN"
DISK_READ = "Microsoft.Compute/disks/read"
DISK_WRITE = "Microsoft.Compute/disks/write"
GROUP_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
LINKED_AUTHORIZATION_FAILED = "LinkedAuthorizationFailed"


async def require_caller_may(
    ctx: RequestContext,
    scope: ResourceGroupId | ComputeResourceId,
    actions: tuple[str, ...],
    *,
    why: str,
    target: str,
) -> None:
    """403 ``LinkedAuthorizationFailed`` unless the signed-in caller itself may do ``actions`` at
    ``scope``; nothing for a key holder without App Service Authentication."""
    caller = ctx.caller
    if not caller.authenticated:
        return
    token = _header(ctx, TOKEN_HEADER)
    if not token:
        raise AuthorizationError(
            f"The client '{caller.principal_name}' signed in without an Azure Resource Manager token, so "
            f"its own rights on '{scope}' cannot be checked ({why}). Sign in with the ARM scope "
            f"(https://management.azure.com/user_impersonation) so that {TOKEN_HEADER} carries it.",
            code=LINKED_AUTHORIZATION_FAILED,
            target=target,
        )
    try:
        holder = token_principal(token).object_id
    except ValueError as error:
        raise AuthorizationError(
            f"The {TOKEN_HEADER} token cannot be read: {error}.",
            code=LINKED_AUTHORIZATION_FAILED,
            target=target,
        ) from None
    if holder not in caller.principal_ids:
        raise AuthorizationError(
            f"The {TOKEN_HEADER} token belongs to '{holder}', not to the signed-in client "
            f"'{caller.principal_name}': the caller's own rights are checked with the caller's own token.",
            code=LINKED_AUTHORIZATION_FAILED,
            target=target,
        )
    try:
        missing = await ctx.api.caller_rights.missing(token, scope, actions)
    except NotFoundError as error:
        raise NotFoundError(
            f"'{scope}' does not exist, or the client '{caller.principal_name}' cannot see it.",
            code=error.code if error.code == "ResourceGroupNotFound" else "ResourceNotFound",
            target=target,
        ) from None
    if missing:
        raise AuthorizationError(
            f"The client '{caller.principal_name}' with object id '{holder}' has permission to perform "
            f"this backup action, but not the linked action(s) {', '.join(missing)} on '{scope}' "
            f"({why}). Ask for a role there that grants them, e.g. Reader on the disk or Disk Restore "
            "Operator on the target resource group.",
            code=LINKED_AUTHORIZATION_FAILED,
            target=target,
        )


def _header(ctx: RequestContext, name: str) -> str | None:
    lowered = name.lower()
    for key, value in ctx.request.headers.items():
        if key.lower() == lowered:
            return value.strip() or None
    return None
