"""The overview's counts: one vault's summary, computed from its instance rows, and the totals of
many vaults, so that Backup Center's tiles read O(vaults) rows, not O(instances or jobs).

Pure: the maintenance step (:mod:`backup.services.overview`) reads the rows, the store keeps a
summary per vault (``c|overview``), and the API adds the summaries of the vaults in scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backup.domain.instance import BackupInstance, VaultRef

STALE_AFTER = timedelta(minutes=15)
"""A summary older than this makes the totals inexact (the timer recomputes every 5 minutes)."""
FAILED_JOBS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class OverviewFigures:
    """The counts a tile shows, for one vault or a sum of vaults."""

    instances: int = 0
    """Visible instances (soft-deleted ones are not counted)."""
    protected: int = 0
    """Instances that take scheduled backups, failing ones included (ProtectionError too)."""
    by_health: Mapping[str, int] = field(default_factory=dict)
    """Healthy, Unhealthy, Inactive, as the cross-vault list reports each instance's health."""
    by_state: Mapping[str, int] = field(default_factory=dict)
    """``currentProtectionState`` values."""
    recovery_points: int = 0
    """Live recovery points held (the sum of the instances' live counts)."""
    oldest_point_at: datetime | None = None
    """The oldest restorable point among instances that know theirs."""
    points_of_unknown_age: int = 0
    """Instances that hold points but do not know their oldest one (rows written before
    ``OldestPointAt``): while non-zero, ``oldest_point_at`` may not be the oldest."""
    oldest_last_backup_at: datetime | None = None
    """The oldest last successful backup over every protected instance, failing ones included."""
    oldest_last_backup_instance: str | None = None
    """The id of that instance."""
    never_backed_up: int = 0
    """Protected instances without any successful backup."""
    failed_jobs_24h: int = 0


@dataclass(frozen=True)
class VaultOverview:
    """One vault's summary row, as of ``computed_at``."""

    vault: VaultRef
    computed_at: datetime
    figures: OverviewFigures


@dataclass(frozen=True)
class Overview:
    """The totals over some vaults, each vault's own figures, and how far they can be trusted."""

    totals: OverviewFigures
    vaults: tuple[VaultOverview, ...]
    as_of: datetime | None
    """The oldest ``computed_at`` of the vaults' summaries (``None``: no vault)."""
    inexact_reasons: tuple[str, ...]
    """Why the totals may not be exact now; empty when they are."""

    @property
    def exact(self) -> bool:
        return not self.inexact_reasons


def _oldest_point_of(instance: BackupInstance) -> datetime | None:
    # The instance row's OldestPointAt, so the summary needs no other row. Rows written before
    # it existed have none until the vault's index backfill (or retention deleting their points)
    # sets it: until then their points are counted as of unknown age.
    return instance.health.oldest_point_at


def summarize_vault(
    vault: VaultRef,
    instances: Iterable[tuple[BackupInstance, str]],
    failed_jobs_24h: int,
    computed_at: datetime,
) -> VaultOverview:
    """A vault's summary from its visible instances, each with its health, and its failed jobs."""
    by_health: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    count = protected = points = unknown_age = never = 0
    oldest_point: datetime | None = None
    oldest_backup: tuple[datetime, str] | None = None
    for instance, health in instances:
        count += 1
        by_health[health] += 1
        by_state[instance.protection_state.value] += 1
        points += instance.live_recovery_points
        if instance.live_recovery_points > 0:
            point_at = _oldest_point_of(instance)
            if point_at is None:
                unknown_age += 1
            elif oldest_point is None or point_at < oldest_point:
                oldest_point = point_at
        if not instance.protection_state.takes_scheduled_backups:
            continue
        protected += 1
        last = instance.health.last_successful_backup
        if last is None:
            never += 1
        elif oldest_backup is None or (last, instance.id) < oldest_backup:
            oldest_backup = (last, instance.id)
    figures = OverviewFigures(
        instances=count,
        protected=protected,
        by_health=dict(sorted(by_health.items())),
        by_state=dict(sorted(by_state.items())),
        recovery_points=points,
        oldest_point_at=oldest_point,
        points_of_unknown_age=unknown_age,
        oldest_last_backup_at=oldest_backup[0] if oldest_backup else None,
        oldest_last_backup_instance=oldest_backup[1] if oldest_backup else None,
        never_backed_up=never,
        failed_jobs_24h=failed_jobs_24h,
    )
    return VaultOverview(vault, computed_at, figures)


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def add_figures(left: OverviewFigures, right: OverviewFigures) -> OverviewFigures:
    oldest_backup = left
    if right.oldest_last_backup_at is not None and (
        left.oldest_last_backup_at is None or right.oldest_last_backup_at < left.oldest_last_backup_at
    ):
        oldest_backup = right
    return OverviewFigures(
        instances=left.instances + right.instances,
        protected=left.protected + right.protected,
        by_health=dict(sorted((Counter(left.by_health) + Counter(right.by_health)).items())),
        by_state=dict(sorted((Counter(left.by_state) + Counter(right.by_state)).items())),
        recovery_points=left.recovery_points + right.recovery_points,
        oldest_point_at=_earliest(left.oldest_point_at, right.oldest_point_at),
        points_of_unknown_age=left.points_of_unknown_age + right.points_of_unknown_age,
        oldest_last_backup_at=oldest_backup.oldest_last_backup_at,
        oldest_last_backup_instance=oldest_backup.oldest_last_backup_instance,
        never_backed_up=left.never_backed_up + right.never_backed_up,
        failed_jobs_24h=left.failed_jobs_24h + right.failed_jobs_24h,
    )


def combine(
    summaries: Sequence[VaultOverview],
    now: datetime,
    *,
    missing: Sequence[VaultRef] = (),
    stale_after: timedelta = STALE_AFTER,
) -> Overview:
    """The totals of ``summaries``; ``missing`` vaults (no summary could be had) make them inexact,
    as does any summary older than ``stale_after``."""
    totals = OverviewFigures()
    for summary in summaries:
        totals = add_figures(totals, summary.figures)
    reasons = [
        f"Vault '{vault.name}' has no summary yet; its instances are not counted." for vault in missing
    ]
    for summary in summaries:
        age = now - summary.computed_at
        if age > stale_after:
            minutes = int(age.total_seconds() // 60)
            reasons.append(f"Vault '{summary.vault.name}' was last counted {minutes} minutes ago.")
    as_of = min((summary.computed_at for summary in summaries), default=None)
    return Overview(totals, tuple(summaries), as_of, tuple(reasons))
