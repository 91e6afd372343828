"""``SubscriptionOverview``: the counts behind Backup Center's tiles, a product-only answer
(``GET /api/x/subscriptions/{s}[/resourceGroups/{rg}]/overview``; Azure has no such call)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backup.shapes.arm import Time

Count = Annotated[int, msgspec.Meta(ge=0)]


class OverviewCounts(msgspec.Struct, rename="camel", kw_only=True):
    """Counts over the backup instances (soft-deleted ones left out) and jobs of some vaults."""

    instances: Count
    protected: Annotated[
        int,
        msgspec.Meta(ge=0, description="Instances that take scheduled backups, failing ones included."),
    ]
    by_health: Annotated[
        dict[str, int], msgspec.Meta(description="Instances by health: Healthy, Unhealthy, Inactive.")
    ]
    by_protection_state: Annotated[
        dict[str, int], msgspec.Meta(description="Instances by currentProtectionState.")
    ]
    recovery_points: Annotated[int, msgspec.Meta(ge=0, description="Live recovery points held.")]
    oldest_recovery_point_time: Time | None
    oldest_recovery_point_exact: Annotated[
        bool,
        msgspec.Meta(
            description="False while some instance holding points does not know its oldest one "
            "(written by an older version): the oldest point may then be older."
        ),
    ]
    oldest_last_backup_time: Annotated[
        Time | None,
        msgspec.Meta(
            description="The oldest last successful backup of any protected instance, failing ones included."
        ),
    ]
    oldest_last_backup_instance_id: str | None
    never_backed_up: Annotated[
        int, msgspec.Meta(ge=0, description="Protected instances without a successful backup.")
    ]
    failed_jobs_last24_hours: Count


class VaultOverviewCounts(OverviewCounts, kw_only=True):
    """One vault's counts, as of ``computedAt``."""

    vault_id: str
    vault_name: str
    computed_at: Time


class SubscriptionOverview(msgspec.Struct, rename="camel", kw_only=True):
    """The totals over every vault in scope, each vault's own counts, and whether they are exact."""

    scope: Annotated[
        str, msgspec.Meta(description="/subscriptions/{s} or /subscriptions/{s}/resourceGroups/{rg}.")
    ]
    as_of: Annotated[
        Time | None, msgspec.Meta(description="When the oldest of the vaults' counts was computed.")
    ]
    exact: Annotated[
        bool,
        msgspec.Meta(
            description="False when a vault's counts are missing or older than 15 minutes; "
            "inexactReasons says which."
        ),
    ]
    inexact_reasons: list[str]
    totals: OverviewCounts
    vaults: list[VaultOverviewCounts]
