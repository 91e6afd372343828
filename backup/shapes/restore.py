"""Restore requests for a disk, as Azure's JSON spells them, and their conversion to a
:class:`RestoreSpec`.

``AzureBackupRecoveryPointBasedRestoreRequest`` (``POST .../restore``) and
``ValidateRestoreRequestObject`` (``POST .../validateRestore``). The overrides of the new disk's
settings ride in ``datasourceInfo.resourceProperties`` (``DefaultResourceProperties``, the
request model's one open object; see :mod:`backup.services.restore`); unknown keys there are
refused, so a typo cannot silently restore with the wrong settings.

ARM compares the ``objectType``s and enum values case-insensitively, so the structs take strings
(published as case-insensitive patterns, see :class:`~backup.shapes.common.CaseInsensitive`) and
:func:`parse_restore_request` compares them, with the codes Azure answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from backup.domain.arm import DISK_SKUS, normalize_location
from backup.domain.limits import MAX_DISK_TAGS
from backup.domain.policy import DISK_DATASOURCE_TYPE, OPERATIONAL_STORE
from backup.domain.resource_ids import GUID, ComputeResourceId
from backup.shapes.common import (
    INVALID_PROPERTY_VALUE,
    INVALID_REQUEST_CONTENT,
    ArmId,
    CaseInsensitive,
    decode,
    fail,
)

RESTORE_REQUEST_TYPE = "AzureBackupRecoveryPointBasedRestoreRequest"
VALIDATE_REQUEST_TYPE = "ValidateRestoreRequestObject"
TARGET_INFO_TYPE = "RestoreTargetInfo"
FAIL_IF_EXISTS = "FailIfExists"
OVERRIDES_TYPE = "DefaultResourceProperties"
LOCATION_MISMATCH = "UserErrorRestoreLocationMismatch"
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_TEXT = msgspec.Meta(pattern=r"\S")
_TYPE_CODES = {"resourceID": "InvalidResourceId"}
_UNSET: Any = object()
# Case-insensitive without (?i), which ECMA regexes (OpenAPI's) lack.
_ARM_ID_START = r"^\s*/[sS][uU][bB][sS][cC][rR][iI][pP][tT][iI][oO][nN][sS]/"

Text = Annotated[str, _TEXT]
_OVERRIDES_TYPE = CaseInsensitive((OVERRIDES_TYPE,))
_SKU = CaseInsensitive(DISK_SKUS)
_DISK = CaseInsensitive((DISK_DATASOURCE_TYPE,))
_TARGET_INFO_TYPE = CaseInsensitive((TARGET_INFO_TYPE,))
_FAIL_IF_EXISTS = CaseInsensitive((FAIL_IF_EXISTS,))
_RESTORE_REQUEST_TYPE = CaseInsensitive((RESTORE_REQUEST_TYPE,))
_SOURCE_STORE = CaseInsensitive((OPERATIONAL_STORE,))
_VALIDATE_REQUEST_TYPE = CaseInsensitive((VALIDATE_REQUEST_TYPE,))


class DefaultResourceProperties(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Settings of the new disk that replace the source disk's."""

    object_type: Annotated[Text, _OVERRIDES_TYPE.meta] | None = None
    sku_name: Annotated[Text, _SKU.meta] | None = None
    zone: (
        Annotated[str, msgspec.Meta(pattern=r"^\s*[123]\s*$", description="null: no zone")]
        | msgspec.UnsetType
        | None
    ) = msgspec.UNSET
    tier: Text | None = None
    disk_encryption_set_id: Annotated[str, msgspec.Meta(pattern=_ARM_ID_START)] | None = None
    tags: (
        Annotated[
            dict[
                Annotated[str, msgspec.Meta(min_length=1, max_length=512)],
                Annotated[str, msgspec.Meta(max_length=256)],
            ],
            msgspec.Meta(max_length=MAX_DISK_TAGS - 2),
        ]
        | None
    ) = None


class RestoreDatasource(msgspec.Struct, rename="camel"):
    resource_id: ArmId = msgspec.field(name="resourceID")
    object_type: str | None = None
    datasource_type: Annotated[Text, _DISK.meta] | None = None
    resource_type: Annotated[Text, _DISK.meta] | None = None
    resource_name: Text | None = None
    resource_location: Text | None = None
    resource_uri: str | None = None
    resource_properties: DefaultResourceProperties | None = None


class RestoreTargetInfo(msgspec.Struct, rename="camel"):
    object_type: Annotated[Text, _TARGET_INFO_TYPE.meta]
    recovery_option: Annotated[Text, _FAIL_IF_EXISTS.meta]
    restore_location: Annotated[Text, msgspec.Meta(description="The recovery point's region.")]
    datasource_info: RestoreDatasource
    datasource_set_info: Annotated[Any, msgspec.Meta(description="Must be null for disks.")] = None


class AzureBackupRecoveryPointBasedRestoreRequest(msgspec.Struct, rename="camel"):
    """The body of ``restore`` (and ``validateRestore``'s ``restoreRequestObject``)."""

    object_type: Annotated[Text, _RESTORE_REQUEST_TYPE.meta]
    source_data_store_type: Annotated[Text, _SOURCE_STORE.meta]
    recovery_point_id: Annotated[Text, msgspec.Meta(description="32 hex digits, or the GUID form.")]
    restore_target_info: RestoreTargetInfo


_RESTORE_REQUEST_SCHEMA = AzureBackupRecoveryPointBasedRestoreRequest.__name__


class ValidateRestoreRequestObject(msgspec.Struct, rename="camel"):
    """The body of ``validateRestore``."""

    # Decoded on its own by parse_restore_request, so its refusals keep a restore request's codes.
    restore_request_object: Annotated[
        Any, msgspec.Meta(extra_json_schema={"$ref": "#/components/schemas/" + _RESTORE_REQUEST_SCHEMA})
    ]
    object_type: Annotated[Text, _VALIDATE_REQUEST_TYPE.meta] | None = None


@dataclass(frozen=True)
class DiskOverrides:
    """Disk settings the request sets instead of the source disk's (see the module docstring)."""

    sku: str | None = None
    zone: str | None = _UNSET
    """``_UNSET`` keeps the source disk's zone; ``None`` restores without a zone."""
    tier: str | None = None
    disk_encryption_set_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def sets_zone(self) -> bool:
        return self.zone is not _UNSET


@dataclass(frozen=True)
class RestoreSpec:
    """A parsed, well-formed restore request (nothing checked against Azure yet)."""

    recovery_point_id: str
    target: ComputeResourceId
    restore_location: str
    overrides: DiskOverrides = field(default_factory=DiskOverrides)


def parse_validate_restore_request(body: object) -> RestoreSpec:
    """``ValidateRestoreRequestObject``: ``{"restoreRequestObject": {...}}``."""
    shape = decode(body, ValidateRestoreRequestObject, value_code=INVALID_REQUEST_CONTENT)
    _expect(
        shape.object_type,
        _VALIDATE_REQUEST_TYPE,
        "objectType",
        INVALID_REQUEST_CONTENT,
        "the body of validateRestore is a ValidateRestoreRequestObject.",
    )
    return parse_restore_request(shape.restore_request_object, "restoreRequestObject.")


def parse_restore_request(body: object, path: str = "") -> RestoreSpec:
    """``AzureBackupRecoveryPointBasedRestoreRequest`` for a disk (raises ValidationError, 400)."""
    shape = decode(
        body,
        AzureBackupRecoveryPointBasedRestoreRequest,
        at=path,
        type_codes=_TYPE_CODES,
        value_code=INVALID_REQUEST_CONTENT,
    )
    _expect(
        shape.object_type,
        _RESTORE_REQUEST_TYPE,
        f"{path}objectType",
        "UserErrorRestoreRequestNotSupported",
        "disks restore from a recovery point only.",
    )
    _expect(
        shape.source_data_store_type,
        _SOURCE_STORE,
        f"{path}sourceDataStoreType",
        "UserErrorInvalidSourceDataStore",
        "disk recovery points are snapshots in the operational store.",
    )
    point_id = shape.recovery_point_id.strip()
    compact = point_id.replace("-", "") if GUID.fullmatch(point_id) else point_id
    if not _HEX32.fullmatch(compact):
        fail(
            "InvalidRecoveryPointId",
            f"{path}recoveryPointId",
            f"'{point_id[:100]}' is not a recovery point id (32 hex digits, or its GUID form).",
        )
    target_path = f"{path}restoreTargetInfo."
    target_info = shape.restore_target_info
    _expect(
        target_info.object_type,
        _TARGET_INFO_TYPE,
        f"{target_path}objectType",
        "UserErrorRestoreRequestNotSupported",
        "a disk restores as a new disk (item-level and file restores do not apply to disks).",
    )
    _expect(
        target_info.recovery_option,
        _FAIL_IF_EXISTS,
        f"{target_path}recoveryOption",
        INVALID_PROPERTY_VALUE,
        "a restore always creates a new disk and fails if one of that name exists.",
    )
    location = target_info.restore_location.strip()
    if target_info.datasource_set_info is not None:
        fail(
            INVALID_REQUEST_CONTENT,
            f"{target_path}datasourceSetInfo",
            "Disks have no datasource set; omit it.",
        )
    source_path = f"{target_path}datasourceInfo."
    datasource = target_info.datasource_info
    target = ComputeResourceId.disk(datasource.resource_id.strip(), target=f"{source_path}resourceID")
    why = "the restore creates a managed disk."
    for key, value in (
        ("datasourceType", datasource.datasource_type),
        ("resourceType", datasource.resource_type),
    ):
        _expect(value, _DISK, source_path + key, INVALID_PROPERTY_VALUE, why)
    name = datasource.resource_name
    if name is not None and name.strip().casefold() != target.name.casefold():
        fail(
            INVALID_REQUEST_CONTENT,
            f"{source_path}resourceName",
            f"'{source_path}resourceName' ('{name[:100]}') must be the name in resourceID ('{target.name}').",
        )
    resource_location = datasource.resource_location
    if resource_location is not None and normalize_location(resource_location) != normalize_location(
        location
    ):
        fail(
            LOCATION_MISMATCH,
            f"{source_path}resourceLocation",
            f"'{source_path}resourceLocation' ('{resource_location[:100]}') must be restoreLocation "
            f"('{location}').",
        )
    overrides = _overrides(datasource.resource_properties, f"{source_path}resourceProperties.", target)
    return RestoreSpec(compact.lower(), target, location, overrides)


def _overrides(
    value: DefaultResourceProperties | None, path: str, target: ComputeResourceId
) -> DiskOverrides:
    if value is None:
        return DiskOverrides()
    _expect(
        value.object_type,
        _OVERRIDES_TYPE,
        path + "objectType",
        INVALID_PROPERTY_VALUE,
        "it is the only resource properties type.",
    )
    sku = value.sku_name
    if sku is not None:
        canonical = _SKU.canonical(sku)
        if canonical is None:
            fail(
                INVALID_PROPERTY_VALUE,
                path + "skuName",
                f"'{sku[:100]}' is not a managed disk SKU; use one of {', '.join(DISK_SKUS)}.",
            )
        sku = canonical
    zone: str | None = _UNSET
    if not isinstance(value.zone, msgspec.UnsetType):
        zone = value.zone.strip() if value.zone is not None else None
    return DiskOverrides(
        sku=sku,
        zone=zone,
        tier=None if value.tier is None else value.tier.strip(),
        disk_encryption_set_id=_disk_encryption_set(value.disk_encryption_set_id, path, target),
        tags=dict(value.tags or {}),
    )


def _disk_encryption_set(value: str | None, path: str, target: ComputeResourceId) -> str | None:
    """The id in full and exactly (no ``..``, no other provider or type), in the restore target's
    subscription, as Azure requires of a disk's encryption set."""
    if value is None:
        return None
    where = path + "diskEncryptionSetId"
    encryption_set = ComputeResourceId.disk_encryption_set(value.strip(), where)
    if encryption_set.subscription_id.lower() != target.subscription_id.lower():
        fail(
            INVALID_PROPERTY_VALUE,
            where,
            f"The disk encryption set must be in the restore target's subscription "
            f"('{target.subscription_id}'), not '{encryption_set.subscription_id}'.",
        )
    return str(encryption_set)


def _expect(value: str | None, expected: CaseInsensitive, target: str, code: str, why: str) -> None:
    if value is not None and expected.canonical(value) is None:
        fail(code, target, f"'{target}' must be '{expected.values[0]}', not '{value[:100]}': {why}")
