from __future__ import annotations

import pytest

from backup.domain.arm import Permissions

DISK_BACKUP_READER = (
    (
        "Microsoft.Authorization/*/read",
        "Microsoft.Compute/disks/read",
        "Microsoft.Compute/disks/beginGetAccess/action",
    ),
    (),
)
CONTRIBUTOR = (("*",), ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"))


@pytest.mark.parametrize(
    ("entries", "action", "allowed"),
    [
        ((DISK_BACKUP_READER,), "Microsoft.Compute/disks/read", True),
        ((DISK_BACKUP_READER,), "microsoft.compute/DISKS/beginGetAccess/action", True),
        ((DISK_BACKUP_READER,), "Microsoft.Authorization/permissions/read", True),
        ((DISK_BACKUP_READER,), "Microsoft.Compute/disks/write", False),
        ((CONTRIBUTOR,), "Microsoft.Compute/snapshots/write", True),
        ((CONTRIBUTOR,), "Microsoft.Authorization/roleAssignments/write", False),
        ((), "Microsoft.Compute/disks/read", False),
        ((DISK_BACKUP_READER, CONTRIBUTOR), "Microsoft.Compute/snapshots/delete", True),
    ],
)
def test_actions_match_wildcards_case_insensitively(
    entries: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...], action: str, allowed: bool
) -> None:
    assert Permissions(entries).allows(action) is allowed


def test_missing_lists_only_what_is_not_granted() -> None:
    permissions = Permissions((DISK_BACKUP_READER,))
    wanted = ("Microsoft.Compute/disks/read", "Microsoft.Compute/snapshots/write")
    assert permissions.missing(wanted) == ["Microsoft.Compute/snapshots/write"]
