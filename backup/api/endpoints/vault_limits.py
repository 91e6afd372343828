"""A vault's scope limits, a product-only call (served under ``/api/x/``; Azure has none).

=================================================================  ==================================
request                                                            answer
=================================================================  ==================================
GET /x/{vaultId}/scopeLimits                                       200 ``VaultScopeLimits`` (``{}``
                                                                   when never set: unbounded)
PUT /x/{vaultId}/scopeLimits (BackupOwner)                         200, the limits as stored
=================================================================  ==================================

What they bound and why: :mod:`backup.domain.vault_limits`.
"""

from __future__ import annotations

from backup.api import paths
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.router import RequestContext, RouteTable
from backup.domain.access import Role
from backup.domain.vault_limits import VaultLimits

routes = RouteTable()

SCOPE_LIMITS = paths.VAULT + "/scopeLimits"


@routes.get(SCOPE_LIMITS, extension=True)
async def get_scope_limits(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    limits = await ctx.api.store.get_vault_limits(vault)
    return json_response(200, (limits or VaultLimits()).to_json())


@routes.route("PUT", SCOPE_LIMITS, role=Role.OWNER, extension=True)
async def put_scope_limits(ctx: RequestContext) -> ApiResponse:
    limits = VaultLimits.parse(ctx.json_object())
    vault, _ = await load_vault(ctx)
    await ctx.api.store.put_vault_limits(vault, limits)
    return json_response(200, limits.to_json())


async def limits_of(ctx: RequestContext) -> VaultLimits:
    return await ctx.api.store.get_vault_limits(ctx.vault) or VaultLimits()
