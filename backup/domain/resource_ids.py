"""Strict parsing of the ARM resource ids the product accepts.

Every id that comes from a user (a disk to protect, a snapshot resource group, a restore
target) is parsed here before it reaches a key, a filter or an ARM call. Anything that is
not exactly one of the expected shapes is refused, naming what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backup.errors import ValidationError

GUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
"""A GUID in its 8-4-4-4-12 form, either case; the one spelling every check builds on."""
GUID_PATTERN = f"^{GUID_TEXT}$"
GUID = re.compile(GUID_PATTERN)
# Resource group names: 1-90 of letters, digits, - _ . ( ), not ending in a period.
RESOURCE_GROUP_NAME_PATTERN = r"^[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]$"
# Microsoft.DataProtection vault, policy and instance names.
DATAPROTECTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,149}$"
_RESOURCE_GROUP = re.compile(RESOURCE_GROUP_NAME_PATTERN)
# Disk and snapshot names (Microsoft.Compute): 1-80, start with a letter or digit,
# end with a letter, digit or underscore.
COMPUTE_NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"
_COMPUTE_NAME = re.compile(COMPUTE_NAME_PATTERN)
_DATAPROTECTION_NAME = re.compile(DATAPROTECTION_NAME_PATTERN)


def _fail(value: object, expected: str, target: str) -> ValidationError:
    return ValidationError(
        f"'{value}' is not a valid resource id: expected {expected}.", code="InvalidResourceId", target=target
    )


def check_subscription(value: str, target: str = "subscriptionId") -> str:
    if not GUID.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a subscription id (a GUID).", code="InvalidSubscriptionId", target=target
        )
    return value


def check_resource_group_name(value: str, target: str = "resourceGroupName") -> str:
    if not _RESOURCE_GROUP.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a valid resource group name: 1-90 letters, digits, '-', '_', '.', '(' or ')', "
            "not ending in '.'.",
            code="InvalidResourceGroupName",
            target=target,
        )
    return value


def check_compute_name(value: str, what: str, target: str) -> str:
    if not _COMPUTE_NAME.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a valid {what} name: 1-80 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit and ending with a letter, digit or '_'.",
            code="InvalidResourceName",
            target=target,
        )
    return value


def check_dataprotection_name(value: str, what: str, target: str) -> str:
    if not _DATAPROTECTION_NAME.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a valid {what} name: 1-150 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit.",
            code="InvalidResourceName",
            target=target,
        )
    return value


def _segments(value: object, expected: str, target: str) -> list[str]:
    if not isinstance(value, str) or not value.startswith("/") or value.endswith("/") or "//" in value:
        raise _fail(value, expected, target)
    if any(ch in value for ch in "?#\\ \t\r\n"):
        raise _fail(value, expected, target)
    return value[1:].split("/")


@dataclass(frozen=True)
class ResourceGroupId:
    subscription_id: str
    resource_group: str

    @classmethod
    def parse(cls, value: object, target: str = "resourceGroupId") -> ResourceGroupId:
        expected = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
        parts = _segments(value, expected, target)
        if len(parts) != 4 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
            raise _fail(value, expected, target)
        return cls(check_subscription(parts[1], target), check_resource_group_name(parts[3], target))

    def __str__(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    def same_as(self, other: ResourceGroupId) -> bool:
        return str(self).lower() == str(other).lower()


@dataclass(frozen=True)
class ComputeResourceId:
    """A ``Microsoft.Compute/disks`` or ``Microsoft.Compute/snapshots`` resource."""

    subscription_id: str
    resource_group: str
    resource_type: str  # "disks" or "snapshots", canonical case
    name: str

    @classmethod
    def parse(cls, value: object, resource_type: str, target: str) -> ComputeResourceId:
        expected = (
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/"
            f"{resource_type}/{{name}}"
        )
        parts = _segments(value, expected, target)
        if (
            len(parts) != 8
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or parts[5].lower() != "microsoft.compute"
            or parts[6].lower() != resource_type.lower()
        ):
            raise _fail(value, expected, target)
        noun = {"disks": "disk", "snapshots": "snapshot"}.get(resource_type, "disk encryption set")
        return cls(
            check_subscription(parts[1], target),
            check_resource_group_name(parts[3], target),
            resource_type,
            check_compute_name(parts[7], noun, target),
        )

    @classmethod
    def disk(cls, value: object, target: str = "dataSourceInfo.resourceID") -> ComputeResourceId:
        return cls.parse(value, "disks", target)

    @classmethod
    def snapshot(cls, value: object, target: str = "snapshotId") -> ComputeResourceId:
        return cls.parse(value, "snapshots", target)

    @classmethod
    def disk_encryption_set(cls, value: object, target: str = "diskEncryptionSetId") -> ComputeResourceId:
        return cls.parse(value, "diskEncryptionSets", target)

    @property
    def resource_group_id(self) -> ResourceGroupId:
        return ResourceGroupId(self.subscription_id, self.resource_group)

    def __str__(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/{self.resource_type}/{self.name}"
        )

    def same_as(self, other: ComputeResourceId) -> bool:
        return str(self).lower() == str(other).lower()
