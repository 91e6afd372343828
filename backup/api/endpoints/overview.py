"""The overview's counts, a product-only call (Azure has none; served under ``/api/x/``).

=======================================================  ==========================================
request                                                  answer
=======================================================  ==========================================
GET /x/subscriptions/{s}[/resourceGroups/{rg}]/overview  200 ``SubscriptionOverview``: totals over
                                                         the vaults in scope, each vault's counts,
                                                         ``asOf`` and whether they are ``exact``
=======================================================  ==========================================

It reads the vault registry and one summary row per vault (:mod:`backup.services.overview`),
so its cost grows with the vaults, not with the instances or jobs in them. It counts only the
vaults the caller holds a role on (:meth:`backup.domain.access.Access.sees`).
"""

from __future__ import annotations

from typing import Any

from backup.api import paths
from backup.api.endpoints._common import visible_vault_documents
from backup.api.http import ApiResponse, json_response
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import VaultRef, vault_of_document
from backup.domain.overview import Overview, OverviewFigures, VaultOverview

routes = RouteTable()

OVERVIEW_OF_SUBSCRIPTION = paths.SUBSCRIPTION + "/overview"
OVERVIEW_OF_RESOURCE_GROUP = paths.RESOURCE_GROUP + "/overview"


def counts(figures: OverviewFigures) -> dict[str, Any]:
    """``OverviewCounts`` (:mod:`backup.shapes.overview`)."""
    return {
        "instances": figures.instances,
        "protected": figures.protected,
        "byHealth": dict(figures.by_health),
        "byProtectionState": dict(figures.by_state),
        "recoveryPoints": figures.recovery_points,
        "oldestRecoveryPointTime": rfc3339(figures.oldest_point_at),
        "oldestRecoveryPointExact": figures.points_of_unknown_age == 0,
        "oldestLastBackupTime": rfc3339(figures.oldest_last_backup_at),
        "oldestLastBackupInstanceId": figures.oldest_last_backup_instance,
        "neverBackedUp": figures.never_backed_up,
        "failedJobsLast24Hours": figures.failed_jobs_24h,
    }


def vault_counts(summary: VaultOverview) -> dict[str, Any]:
    return {
        "vaultId": summary.vault.id,
        "vaultName": summary.vault.name,
        "computedAt": rfc3339(summary.computed_at),
        **counts(summary.figures),
    }


def overview_body(scope: str, overview: Overview) -> dict[str, Any]:
    """``SubscriptionOverview``."""
    return {
        "scope": scope,
        "asOf": rfc3339(overview.as_of),
        "exact": overview.exact,
        "inexactReasons": list(overview.inexact_reasons),
        "totals": counts(overview.totals),
        "vaults": [vault_counts(summary) for summary in overview.vaults],
    }


@routes.get(OVERVIEW_OF_SUBSCRIPTION, extension=True)
async def subscription_overview(ctx: RequestContext) -> ApiResponse:
    subscription = ctx.params["subscriptionId"]
    overview = await ctx.api.services.overview.overview_of(await _visible(ctx, subscription))
    return json_response(200, overview_body(f"/subscriptions/{subscription}", overview))


@routes.get(OVERVIEW_OF_RESOURCE_GROUP, extension=True)
async def resource_group_overview(ctx: RequestContext) -> ApiResponse:
    subscription, group = ctx.params["subscriptionId"], ctx.params["resourceGroupName"]
    overview = await ctx.api.services.overview.overview_of(await _visible(ctx, subscription, group))
    return json_response(
        200, overview_body(f"/subscriptions/{subscription}/resourceGroups/{group}", overview)
    )


async def _visible(ctx: RequestContext, subscription: str, group: str | None = None) -> list[VaultRef]:
    return [
        vault
        for _, document in await visible_vault_documents(ctx, subscription, group)
        if (vault := vault_of_document(document.value)) is not None and ctx.access.sees(vault)
    ]
