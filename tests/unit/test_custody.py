"""The custody decision, rule by rule: one genuine recovery point snapshot, then one change each.

Every case starts from a snapshot exactly as the runner takes it (derived id, derived name,
our tags, incremental, sourced from the instance's disk) and changes one thing; the table says
which rule must catch it. The first failed rule is the finding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup.domain.arm import SnapshotInfo
from backup.domain.custody import (
    CLOCK_SKEW,
    LOOKALIKE_FINDINGS,
    DeletionTerms,
    Finding,
    adoptable_point,
    judge,
)
from backup.domain.instance import BackupInstance, VaultRef, instance_key
from backup.domain.models import ProtectionState, RecoveryPoint, RetentionTag
from backup.domain.snapshots import SnapshotTags, SourceDisk, recovery_point_id, snapshot_name

SUB = "11111111-0000-4000-8000-000000000001"
VAULT = VaultRef(SUB, "rg-backup", "vault")
OTHER_VAULT = VaultRef(SUB, "rg-backup", "other-vault")
DISK = f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/disk-a"
OTHER_DISK = f"/subscriptions/{SUB}/resourceGroups/rg-src/providers/Microsoft.Compute/disks/disk-b"
SNAP_RG = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
SLOT = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
UNIQUE = "0b1f9a4e-0000-4000-8000-00000000000a"

INSTANCE = BackupInstance(
    vault=VAULT,
    name="disk-a-instance",
    disk_id=DISK,
    disk_location="eastus",
    policy_name="policy",
    policy_document={},
    snapshot_resource_group_id=SNAP_RG,
    protection_state=ProtectionState.PROTECTION_CONFIGURED,
)
POINT_ID = recovery_point_id(instance_key(VAULT.id, INSTANCE.name), SLOT)


def tags(**changes: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "vault_id": VAULT.id,
        "instance": INSTANCE.name,
        "policy": "policy",
        "recovery_point_id": POINT_ID,
        "slot": SLOT,
        "retention_tag": "Default",
        "earned_tags": ("Default",),
        "expires_at": SLOT + timedelta(days=7),
        "source": SourceDisk(id=DISK, location="eastus", sku="StandardSSD_LRS", size_gb=32),
    }
    values.update(changes)
    return SnapshotTags(**values).to_tags()


def snapshot(point_id: str = POINT_ID, **changes: Any) -> SnapshotInfo:
    name = snapshot_name(INSTANCE.name, point_id)
    genuine = SnapshotInfo(
        id=f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/{name}",
        name=name,
        location="eastus",
        tags=tags(recovery_point_id=point_id),
        incremental=True,
        provisioning_state="Succeeded",
        time_created=SLOT + timedelta(seconds=20),
        completion_percent=None,
        source_resource_id=DISK,
        source_unique_id=UNIQUE,
    )
    return replace(genuine, **changes)


GENUINE = snapshot()
RECORDED = RecoveryPoint(
    id=POINT_ID,
    instance=INSTANCE.name,
    slot=SLOT,
    created_at=SLOT + timedelta(seconds=20),
    retention_tag=RetentionTag.DEFAULT,
    earned_tags=frozenset({RetentionTag.DEFAULT}),
    expires_at=SLOT + timedelta(days=7),
    snapshot_id=GENUINE.id,
)
FORGED_ID = "0" * 12 + "f" * 20
ON_DEMAND_AT = SLOT + timedelta(minutes=7)
ON_DEMAND_ID = recovery_point_id(instance_key(VAULT.id, INSTANCE.name), ON_DEMAND_AT, "job-1")
LOOKALIKE_NAME = "nightly-by-hand"

ADOPTION_CASES: list[tuple[str, SnapshotInfo, BackupInstance | None, str | None, Finding]] = [
    ("genuine", GENUINE, INSTANCE, None, Finding.VERIFIED),
    ("genuine, same disk generation", GENUINE, INSTANCE, UNIQUE.upper(), Finding.VERIFIED),
    (
        "source id differs only in case",
        replace(GENUINE, source_resource_id=DISK.upper()),
        INSTANCE,
        None,
        Finding.VERIFIED,
    ),
    (
        "unique id unknown on the snapshot",
        replace(GENUINE, source_unique_id=None),
        INSTANCE,
        UNIQUE,
        Finding.VERIFIED,
    ),
    (
        "taken a little before the slot on ARM's clock",
        replace(GENUINE, time_created=SLOT - CLOCK_SKEW + timedelta(seconds=1)),
        INSTANCE,
        None,
        Finding.VERIFIED,
    ),
    (
        "on-demand",
        snapshot(
            ON_DEMAND_ID,
            tags=tags(recovery_point_id=ON_DEMAND_ID, slot=None),
            time_created=ON_DEMAND_AT + timedelta(seconds=5),
        ),
        INSTANCE,
        None,
        Finding.VERIFIED,
    ),
    ("someone else's", replace(GENUINE, tags={"owner": "dba"}), INSTANCE, None, Finding.NOT_OURS),
    ("no tags at all", replace(GENUINE, tags={}), INSTANCE, None, Finding.NOT_OURS),
    (
        "only the managed-by tag",
        replace(GENUINE, tags={"adb-managed-by": "azure-disk-backup"}),
        INSTANCE,
        None,
        Finding.MALFORMED_TAGS,
    ),
    ("names no instance", GENUINE, None, None, Finding.UNKNOWN_INSTANCE),
    (
        "another vault's",
        replace(GENUINE, tags=tags(vault_id=OTHER_VAULT.id)),
        INSTANCE,
        None,
        Finding.OTHER_VAULT,
    ),
    (
        "another instance's",
        replace(GENUINE, tags=tags(instance="disk-b-instance")),
        INSTANCE,
        None,
        Finding.OTHER_INSTANCE,
    ),
    ("a full snapshot", replace(GENUINE, incremental=False), INSTANCE, None, Finding.NOT_INCREMENTAL),
    (
        "right tags, wrong source disk",
        replace(GENUINE, source_resource_id=OTHER_DISK),
        INSTANCE,
        None,
        Finding.WRONG_SOURCE_DISK,
    ),
    (
        "a copy of a snapshot",
        replace(GENUINE, source_resource_id=GENUINE.id),
        INSTANCE,
        None,
        Finding.WRONG_SOURCE_DISK,
    ),
    (
        "no source at all",
        replace(GENUINE, source_resource_id=None),
        INSTANCE,
        None,
        Finding.WRONG_SOURCE_DISK,
    ),
    (
        "the disk was recreated under the same id",
        GENUINE,
        INSTANCE,
        "another-unique-id",
        Finding.OTHER_DISK_GENERATION,
    ),
    ("forged point id", snapshot(FORGED_ID), INSTANCE, None, Finding.FORGED_POINT_ID),
    ("point id not hex", snapshot("not-a-point-id"), INSTANCE, None, Finding.FORGED_POINT_ID),
    (
        "another slot's id",
        replace(GENUINE, tags=tags(slot=SLOT + timedelta(hours=4))),
        INSTANCE,
        None,
        Finding.FORGED_POINT_ID,
    ),
    (
        "taken before its slot",
        replace(GENUINE, time_created=SLOT - timedelta(hours=1)),
        INSTANCE,
        None,
        Finding.FORGED_POINT_ID,
    ),
    (
        "expires before its slot",
        replace(GENUINE, tags=tags(expires_at=SLOT - timedelta(days=1))),
        INSTANCE,
        None,
        Finding.FORGED_POINT_ID,
    ),
    (
        "on-demand id from the future",
        snapshot(ON_DEMAND_ID, tags=tags(recovery_point_id=ON_DEMAND_ID, slot=None), time_created=SLOT),
        INSTANCE,
        None,
        Finding.FORGED_POINT_ID,
    ),
    (
        "copied tags of a real point, another name",
        replace(GENUINE, name=LOOKALIKE_NAME, id=f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/x"),
        INSTANCE,
        None,
        Finding.UNEXPECTED_NAME,
    ),
]


@pytest.mark.parametrize(
    ("snap", "instance", "unique_id", "finding"),
    [case[1:] for case in ADOPTION_CASES],
    ids=[case[0] for case in ADOPTION_CASES],
)
def test_adoption(
    snap: SnapshotInfo, instance: BackupInstance | None, unique_id: str | None, finding: Finding
) -> None:
    verdict = judge(snap, instance, disk_unique_id=unique_id)
    assert verdict.finding is finding, verdict.detail
    assert verdict.may_use is (finding is Finding.VERIFIED)
    assert verdict.may_delete is (finding is Finding.VERIFIED)
    assert verdict.lookalike is (finding in LOOKALIKE_FINDINGS)
    assert verdict.detail


RECORDED_CASES: list[tuple[str, SnapshotInfo, Finding]] = [
    ("the recorded snapshot", GENUINE, Finding.VERIFIED),
    ("the recorded snapshot, id in another case", replace(GENUINE, id=GENUINE.id.upper()), Finding.VERIFIED),
    (
        "its tags now name another point",
        replace(GENUINE, tags=tags(recovery_point_id=ON_DEMAND_ID)),
        Finding.OTHER_POINT,
    ),
    (
        "another snapshot wearing its tags",
        replace(GENUINE, id=f"{SNAP_RG}/providers/Microsoft.Compute/snapshots/x"),
        Finding.OTHER_SNAPSHOT,
    ),
    (
        "replaced by a snapshot of another disk",
        replace(GENUINE, source_resource_id=OTHER_DISK),
        Finding.WRONG_SOURCE_DISK,
    ),
    ("its tags removed", replace(GENUINE, tags={}), Finding.NOT_OURS),
]


@pytest.mark.parametrize(
    ("snap", "finding"), [case[1:] for case in RECORDED_CASES], ids=[case[0] for case in RECORDED_CASES]
)
def test_against_the_recorded_point(snap: SnapshotInfo, finding: Finding) -> None:
    """Restore, retention and purge judge the snapshot behind the store's point."""
    verdict = judge(snap, INSTANCE, recorded=RECORDED)
    assert verdict.finding is finding, verdict.detail
    assert verdict.may_delete is (finding is Finding.VERIFIED)


def test_a_recorded_point_need_not_have_a_derivable_name() -> None:
    """The store's point vouches for the id: only adoption insists on the derived name."""
    renamed = replace(GENUINE, name=LOOKALIKE_NAME)
    assert judge(renamed, INSTANCE, recorded=RECORDED).verified
    assert judge(renamed, INSTANCE).finding is Finding.UNEXPECTED_NAME


def test_an_adoptable_point_is_the_tags_point_owned_by_the_instance() -> None:
    verdict, point = adoptable_point(replace(GENUINE, tags=tags(instance="DISK-A-INSTANCE")), INSTANCE)
    assert verdict.verified
    assert point is not None
    assert (point.id, point.instance, point.slot, point.snapshot_id) == (
        POINT_ID,
        INSTANCE.name,
        SLOT,
        GENUINE.id,
    )
    assert point.expires_at == SLOT + timedelta(days=7)


def test_a_lookalike_gives_no_point() -> None:
    verdict, point = adoptable_point(replace(GENUINE, source_resource_id=OTHER_DISK), INSTANCE)
    assert (verdict.finding, point) == (Finding.WRONG_SOURCE_DISK, None)
    assert OTHER_DISK in verdict.detail
    assert adoptable_point(GENUINE, None)[1] is None


def test_a_deletion_hold_keeps_a_verified_snapshot_usable_but_undeletable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hook the immutability work extends: a hold withholds deletion, never use."""
    from backup.domain import custody

    monkeypatch.setattr(custody, "_DELETION_HOLDS", (lambda evidence: "immutable until 2027-01-01",))
    verdict = judge(GENUINE, INSTANCE, recorded=RECORDED)
    assert (verdict.verified, verdict.may_use, verdict.may_delete) == (True, True, False)
    assert verdict.holds == ("immutable until 2027-01-01",)


@pytest.mark.parametrize(
    ("immutable", "now", "deletable"),
    [
        (True, SLOT + timedelta(days=7) - timedelta(seconds=1), False),
        (True, SLOT + timedelta(days=7), True),
        (False, SLOT, True),
    ],
)
def test_an_immutable_vault_holds_a_point_until_its_recorded_expiry(
    immutable: bool, now: datetime, deletable: bool
) -> None:
    terms = DeletionTerms(now=now, immutable=immutable)
    verdict = judge(GENUINE, INSTANCE, recorded=RECORDED, terms=terms)
    assert (verdict.may_use, verdict.may_delete) == (True, deletable)
    assert bool(verdict.holds) is not deletable


def test_the_stores_expiry_decides_not_the_tags() -> None:
    """A tag writer cannot shorten a hold: the recorded point's expiry is the one that counts."""
    early = replace(GENUINE, tags=tags(expires_at=SLOT + timedelta(hours=1)))
    terms = DeletionTerms(now=SLOT + timedelta(days=1), immutable=True)
    verdict = judge(early, INSTANCE, recorded=RECORDED, terms=terms)
    assert verdict.verified
    assert not verdict.may_delete


def test_without_a_record_the_tags_expiry_holds_an_unrecorded_snapshot() -> None:
    terms = DeletionTerms(now=SLOT + timedelta(days=1), immutable=True)
    assert not judge(GENUINE, INSTANCE, terms=terms).may_delete
    assert judge(GENUINE, INSTANCE, terms=replace(terms, now=SLOT + timedelta(days=8))).may_delete
