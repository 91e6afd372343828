"""Bodies of the backup instance calls beside its lifecycle: ``sync``, ``validateForModifyBackup``
and ``findRestorableTimeRanges``, as Azure's JSON spells them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from backup.domain.durations import utc_moment
from backup.domain.policy import OPERATIONAL_STORE
from backup.shapes.arm import Time, one_of
from backup.shapes.backup_instance import BackupInstance
from backup.shapes.common import INVALID_REQUEST_CONTENT, CaseInsensitive, decode, fail

SYNC_DEFAULT = "Default"
SYNC_FORCE = "ForceResync"
_SYNC_TYPE = CaseInsensitive(
    (SYNC_DEFAULT, SYNC_FORCE),
    description="Default syncs an instance in error only; ForceResync syncs it whatever its state.",
)
_STORE_TYPES = CaseInsensitive(
    (OPERATIONAL_STORE, "VaultStore", "ArchiveStore"), description="Disks have the OperationalStore only."
)
_TIME_TEXT = "ISO 8601 with an offset, for example 2026-11-26T00:00:00Z."


class SyncBackupInstanceRequest(msgspec.Struct, rename="camel"):
    """The body of ``sync`` (BackupInstances_SyncBackupInstance)."""

    sync_type: Annotated[str, _SYNC_TYPE.meta] | None = None


def parse_sync_request(body: object) -> str:
    """The sync type asked for, canonically spelled (``Default`` when absent)."""
    shape = decode(body, SyncBackupInstanceRequest, value_code=INVALID_REQUEST_CONTENT)
    if shape.sync_type is None:
        return SYNC_DEFAULT
    canonical = _SYNC_TYPE.canonical(shape.sync_type)
    if canonical is None:
        fail(
            "InvalidPropertyValue",
            "syncType",
            f"'syncType' must be {SYNC_DEFAULT} or {SYNC_FORCE}, not '{shape.sync_type[:100]}'.",
        )
    return canonical


class ValidateForModifyBackupRequest(msgspec.Struct, rename="camel"):
    """The body of ``validateForModifyBackup``: the instance's ``properties`` as a PUT would send them."""

    backup_instance: BackupInstance


class AzureBackupFindRestorableTimeRangesRequest(msgspec.Struct, rename="camel"):
    """The body of ``findRestorableTimeRanges`` (RestorableTimeRanges_Find)."""

    source_data_store_type: Annotated[str, _STORE_TYPES.meta]
    start_time: Annotated[str, msgspec.Meta(description=_TIME_TEXT)] | None = None
    end_time: Annotated[str, msgspec.Meta(description=_TIME_TEXT)] | None = None


class RestorableTimeRange(msgspec.Struct, rename="camel"):
    start_time: Time
    end_time: Time
    object_type: Annotated[str, one_of("RestorableTimeRange")]


class AzureBackupFindRestorableTimeRangesResponse(msgspec.Struct, rename="camel"):
    restorable_time_ranges: list[RestorableTimeRange]
    object_type: Annotated[str, one_of("AzureBackupFindRestorableTimeRangesResponse")]


class AzureBackupFindRestorableTimeRangesResponseResource(msgspec.Struct, rename="camel"):
    id: Annotated[str, msgspec.Meta(description="The backup instance's name, as Azure answers it.")]
    type: Annotated[
        str, one_of("Microsoft.DataProtection/backupVaults/backupInstances/findRestorableTimeRanges")
    ]
    properties: AzureBackupFindRestorableTimeRangesResponse


@dataclass(frozen=True)
class TimeWindow:
    start: datetime | None
    end: datetime | None


def parse_find_restorable_time_ranges(body: object) -> TimeWindow:
    """The window asked about; 400 for a datastore disks do not have or a time that is not ISO 8601."""
    shape = decode(body, AzureBackupFindRestorableTimeRangesRequest, value_code=INVALID_REQUEST_CONTENT)
    store = _STORE_TYPES.canonical(shape.source_data_store_type)
    if store is None:
        fail(
            "InvalidPropertyValue",
            "sourceDataStoreType",
            "'sourceDataStoreType' must be OperationalStore, VaultStore or ArchiveStore.",
        )
    if store != OPERATIONAL_STORE:
        fail(
            "UserErrorInvalidSourceDataStore",
            "sourceDataStoreType",
            f"Disk backups have no {store}: their recovery points are snapshots in the OperationalStore.",
        )
    window = TimeWindow(_time(shape.start_time, "startTime"), _time(shape.end_time, "endTime"))
    if window.start is not None and window.end is not None and window.end < window.start:
        fail("InvalidPropertyValue", "endTime", "'endTime' is before 'startTime'.")
    return window


def _time(text: str | None, field: str) -> datetime | None:
    if text is None or not text.strip():
        return None
    value = text.strip()
    # .NET writes seven fractional digits (2021-02-24T00:35:17.6829685Z); Python reads six.
    if "." in value:
        head, _, tail = value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = head + "." + tail[: min(digits, 6)] + tail[digits:]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        fail("InvalidPropertyValue", field, f"'{field}' is not an ISO 8601 time: '{text[:60]}'. {_TIME_TEXT}")
    if moment.tzinfo is None:
        fail("InvalidPropertyValue", field, f"'{field}' needs an offset (Z or +hh:mm). {_TIME_TEXT}")
    try:
        utc_moment(moment)
    except ValueError:
        fail("InvalidPropertyValue", field, f"'{field}' is outside the years 1-9999 in UTC: '{text[:60]}'.")
    return moment
