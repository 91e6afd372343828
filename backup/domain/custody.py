"""Custody: may this snapshot be used as a recovery point of this instance, may it be deleted?

Tags alone prove nothing: anyone with tag write access (Tag Contributor) on a snapshot in a
snapshot resource group can make any snapshot carry our tags, copied from a real recovery
point or made up. So before a snapshot is adopted as a recovery point (reconciliation, the
runner settling a create whose poll failed), restored from, or deleted (retention, the purge of
soft-deleted instances, reconciliation discarding a failed create), every path asks
:func:`judge` the same question and gets one :class:`CustodyVerdict`.

A snapshot passes when, in this order:

1. it claims to be ours (:func:`~backup.domain.snapshots.is_ours`) and its tags are readable;
2. the instance its tags name exists, in the vault its tags name;
3. it is an incremental snapshot (ours always are);
4. its real source, ``creationData.sourceResourceId`` as ARM reports it (not a tag), is the
   instance's disk, compared case-insensitively; and the disk's unique id matches the
   snapshot's ``sourceUniqueId`` when both are known (a disk deleted and recreated under the
   same id is another disk);
5. it is the recovery point it claims: the store's point (same point id, same snapshot id) when
   there is one; otherwise, to be adopted, its point id must be one the product could have
   derived (:func:`~backup.domain.snapshots.recovery_point_id`: the scheduled id of its slot,
   or a well-formed on-demand id not later than the snapshot itself), its name the name the
   product gives that point, and its expiry after its time.

Anything that claims to be ours yet fails is a look-alike (:attr:`CustodyVerdict.lookalike`):
counted and reported by the caller, never adopted, restored or deleted.

Extending the decision (the security and off-site-copy issues): a new rule is one more
function in :data:`_PROVENANCE_RULES` (what makes a snapshot this instance's, e.g. a copy whose
source is one of the instance's verified snapshots) or in :data:`_DELETION_HOLDS` (what keeps a
verified snapshot from being deleted, e.g. immutability until a date); each returns ``None``
when it has nothing to say. Pure: no I/O; time comes from the snapshot, and for deletion from
the :class:`DeletionTerms` the caller passes.

Immutability (:mod:`backup.domain.vault_security`) is one deletion hold: while the vault is
immutable, a point is not deleted before its expiry (the store's expiry when the caller has the
point, else its tags'), whichever path asks (retention, the purge after soft delete, a delete
refused up front by the API). :func:`immutability_hold` is that rule on its own, for the API to
refuse an operation before anything is soft-deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from backup.domain.arm import SnapshotInfo, recovery_point_from_snapshot
from backup.domain.instance import BackupInstance, instance_key
from backup.domain.models import RecoveryPoint
from backup.domain.snapshots import (
    SnapshotTags,
    is_ours,
    recovery_point_id,
    recovery_point_time,
    snapshot_name,
)

CLOCK_SKEW = timedelta(minutes=5)
"""How far ARM's ``timeCreated`` may run behind the app's clock that named the point."""
_POINT_ID = re.compile(r"[0-9a-f]{32}")


class Finding(StrEnum):
    """Why a snapshot passed or failed; the first failed rule wins."""

    VERIFIED = "Verified"
    NOT_OURS = "NotOurs"
    """No ``adb-managed-by`` tag: someone else's snapshot, none of our business."""
    MALFORMED_TAGS = "MalformedTags"
    UNKNOWN_INSTANCE = "UnknownInstance"
    OTHER_VAULT = "OtherVault"
    OTHER_INSTANCE = "OtherInstance"
    NOT_INCREMENTAL = "NotIncremental"
    WRONG_SOURCE_DISK = "WrongSourceDisk"
    """``creationData.sourceResourceId`` is not the instance's disk."""
    OTHER_DISK_GENERATION = "OtherDiskGeneration"
    """Same disk id, another disk: its ``sourceUniqueId`` is not the disk's unique id."""
    OTHER_POINT = "OtherRecoveryPoint"
    """Its tags name another recovery point than the one the store has for this snapshot."""
    OTHER_SNAPSHOT = "OtherSnapshot"
    """It wears the tags of a recorded point whose snapshot is another one (copied tags)."""
    FORGED_POINT_ID = "ForgedRecoveryPointId"
    """The point id in its tags is not one the product derives for its slot or time."""
    UNEXPECTED_NAME = "UnexpectedName"
    """Its name is not the name the product gives the point its tags claim."""


LOOKALIKE_FINDINGS = frozenset(
    {
        Finding.OTHER_INSTANCE,
        Finding.NOT_INCREMENTAL,
        Finding.WRONG_SOURCE_DISK,
        Finding.OTHER_DISK_GENERATION,
        Finding.OTHER_POINT,
        Finding.OTHER_SNAPSHOT,
        Finding.FORGED_POINT_ID,
        Finding.UNEXPECTED_NAME,
    }
)
"""Findings of a snapshot that names one of our instances but is not what it claims."""


@dataclass(frozen=True)
class CustodyVerdict:
    finding: Finding
    detail: str
    """One sentence an operator can act on: what was expected and what the snapshot has."""
    tags: SnapshotTags | None = None
    holds: tuple[str, ...] = ()
    """Why a verified snapshot must not be deleted yet (immutability until its expiry)."""

    @property
    def verified(self) -> bool:
        return self.finding is Finding.VERIFIED

    @property
    def may_use(self) -> bool:
        """May it be adopted as, or restored as, the instance's recovery point."""
        return self.verified

    @property
    def may_delete(self) -> bool:
        return self.verified and not self.holds

    @property
    def lookalike(self) -> bool:
        """It names one of our instances (or stands behind a recorded point) and is not what it claims."""
        return self.finding in LOOKALIKE_FINDINGS


@dataclass(frozen=True)
class DeletionTerms:
    """What the instance's vault says about deleting now: whether it is immutable, and when now is."""

    now: datetime
    immutable: bool


def immutability_hold(expires_at: datetime, terms: DeletionTerms) -> str | None:
    """Why a point expiring at ``expires_at`` may not be deleted under ``terms``, or ``None``."""
    if terms.immutable and expires_at > terms.now:
        return f"the vault is immutable and the recovery point expires only at {expires_at.isoformat()}"
    return None


@dataclass(frozen=True)
class _Evidence:
    snapshot: SnapshotInfo
    tags: SnapshotTags
    instance: BackupInstance
    recorded: RecoveryPoint | None
    disk_unique_id: str | None
    terms: DeletionTerms | None


_Rule = Callable[[_Evidence], tuple[Finding, str] | None]


def _incremental(evidence: _Evidence) -> tuple[Finding, str] | None:
    if evidence.snapshot.incremental:
        return None
    return Finding.NOT_INCREMENTAL, "it is a full snapshot; the product takes only incremental ones"


def _source_is_the_disk(evidence: _Evidence) -> tuple[Finding, str] | None:
    source = evidence.snapshot.source_resource_id
    disk = evidence.instance.disk_id
    if source is not None and source.casefold() == disk.casefold():
        return None
    return Finding.WRONG_SOURCE_DISK, f"it was taken from '{source}', not from the instance's disk '{disk}'"


def _same_disk_generation(evidence: _Evidence) -> tuple[Finding, str] | None:
    ours, theirs = evidence.disk_unique_id, evidence.snapshot.source_unique_id
    if ours is None or theirs is None or ours.casefold() == theirs.casefold():
        return None
    return (
        Finding.OTHER_DISK_GENERATION,
        f"it was taken from a disk with unique id '{theirs}', not the instance's disk '{ours}'",
    )


_PROVENANCE_RULES: tuple[_Rule, ...] = (_incremental, _source_is_the_disk, _same_disk_generation)
"""What makes a snapshot a capture of this instance's disk."""


def _is_the_recorded_point(evidence: _Evidence) -> tuple[Finding, str] | None:
    recorded, tags, snapshot = evidence.recorded, evidence.tags, evidence.snapshot
    assert recorded is not None
    if tags.recovery_point_id != recorded.id:
        return (
            Finding.OTHER_POINT,
            f"its tags name recovery point '{tags.recovery_point_id}', not '{recorded.id}'",
        )
    if snapshot.id.casefold() != recorded.snapshot_id.casefold():
        return (
            Finding.OTHER_SNAPSHOT,
            f"it carries the tags of recovery point '{recorded.id}', "
            f"whose snapshot is '{recorded.snapshot_id}'",
        )
    return None


def _is_a_point_we_derive(evidence: _Evidence) -> tuple[Finding, str] | None:
    tags, snapshot, instance = evidence.tags, evidence.snapshot, evidence.instance
    claimed = tags.recovery_point_id
    forged = (Finding.FORGED_POINT_ID, f"its recovery point id '{claimed}' is not one this product gives")
    if not _POINT_ID.fullmatch(claimed):
        return forged
    if tags.slot is not None:
        if claimed != recovery_point_id(instance_key(instance.vault.id, instance.name), tags.slot):
            return forged[0], f"{forged[1]} to slot {tags.slot.isoformat()} of '{instance.name}'"
        named_at = tags.slot
    else:
        named_at = recovery_point_time(claimed)
    if snapshot.time_created is not None and snapshot.time_created + CLOCK_SKEW < named_at:
        return forged[0], f"{forged[1]}: the snapshot was created before the time the id names"
    if tags.expires_at <= named_at:
        return forged[0], f"{forged[1]}: it expires before the time the id names"
    expected = snapshot_name(instance.name, claimed)
    if snapshot.name.casefold() != expected.casefold():
        return (
            Finding.UNEXPECTED_NAME,
            f"it is named '{snapshot.name}', that recovery point's is '{expected}'",
        )
    return None


def _deletion_holds(evidence: _Evidence) -> tuple[str, ...]:
    return tuple(hold for rule in _DELETION_HOLDS if (hold := rule(evidence)) is not None)


def _immutable_until_expiry(evidence: _Evidence) -> str | None:
    if evidence.terms is None:
        return None
    expires_at = evidence.recorded.expires_at if evidence.recorded is not None else evidence.tags.expires_at
    return immutability_hold(expires_at, evidence.terms)


_DELETION_HOLDS: tuple[Callable[[_Evidence], str | None], ...] = (_immutable_until_expiry,)
"""What keeps a verified snapshot from being deleted: immutability until its expiry."""


def judge(
    snapshot: SnapshotInfo,
    instance: BackupInstance | None,
    *,
    recorded: RecoveryPoint | None = None,
    disk_unique_id: str | None = None,
    terms: DeletionTerms | None = None,
) -> CustodyVerdict:
    """Whether ``snapshot`` may be used as, and deleted as, a recovery point of ``instance``.

    ``instance`` is the instance the snapshot's tags name (``None`` when there is none);
    ``recorded`` is the store's recovery point the snapshot stands behind, when the caller has
    one (restore, retention, purge); without it the snapshot is judged for adoption.
    ``disk_unique_id`` is the unique id of the instance's disk, when known. ``terms`` are the
    vault's deletion terms: every path that deletes passes them (without them no hold is known,
    which is right only for adoption and restore).
    """
    if not is_ours(snapshot.tags):
        return CustodyVerdict(Finding.NOT_OURS, "it does not carry the product's adb-managed-by tag")
    tags = SnapshotTags.from_tags(snapshot.tags, snapshot.location)
    if tags is None:
        return CustodyVerdict(Finding.MALFORMED_TAGS, "its adb- tags are incomplete or unreadable")
    if instance is None:
        return CustodyVerdict(
            Finding.UNKNOWN_INSTANCE, f"the instance its tags name, '{tags.instance}', does not exist", tags
        )
    if tags.vault_id.casefold() != instance.vault.id.casefold():
        return CustodyVerdict(
            Finding.OTHER_VAULT, f"its tags name vault '{tags.vault_id}', not '{instance.vault.id}'", tags
        )
    if tags.instance.casefold() != instance.name.casefold():
        return CustodyVerdict(
            Finding.OTHER_INSTANCE, f"its tags name instance '{tags.instance}', not '{instance.name}'", tags
        )
    # The one place the instance's own record of its disk's unique id joins, once it keeps one.
    evidence = _Evidence(snapshot, tags, instance, recorded, disk_unique_id, terms)
    identity: _Rule = _is_the_recorded_point if recorded is not None else _is_a_point_we_derive
    for rule in (*_PROVENANCE_RULES, identity):
        failed = rule(evidence)
        if failed is not None:
            return CustodyVerdict(failed[0], failed[1], tags)
    return CustodyVerdict(Finding.VERIFIED, "verified", tags, _deletion_holds(evidence))


def adoptable_point(
    snapshot: SnapshotInfo, instance: BackupInstance | None, *, disk_unique_id: str | None = None
) -> tuple[CustodyVerdict, RecoveryPoint | None]:
    """The recovery point a snapshot may become (its tags' point, owned by ``instance``), if verified."""
    verdict = judge(snapshot, instance, disk_unique_id=disk_unique_id)
    if not verdict.may_use or instance is None:
        return verdict, None
    point = recovery_point_from_snapshot(snapshot)
    if point is None:
        return CustodyVerdict(Finding.MALFORMED_TAGS, "its retention tags are unreadable", verdict.tags), None
    return verdict, replace(point, instance=instance.name)
