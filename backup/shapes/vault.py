"""``BackupVaultResource`` and ``PatchResourceRequestInput``, as Azure's JSON spells them.

One declaration serves both directions: a PUT body decodes into :class:`BackupVaultResource`
(read-only fields sent are ignored, as ARM ignores them), :func:`parse_vault` turns it into the
canonical resource (enum values in their canonical spelling, defaults filled in), and the
endpoint completes that same struct (id, name, provisioning state, identity principal) and
encodes it as the answer. The OpenAPI schema is generated from these classes.

What a type cannot say is checked here: ARM's case-insensitive enums (see
:class:`~backup.shapes.common.CaseInsensitive`), that a location is a region name, the tag rules
(ARM answers ``InvalidTag`` / ``InvalidTagName`` naming the tag), and that user-assigned
identities are given exactly when the identity type includes ``UserAssigned``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

import msgspec

from backup.domain.limits import (
    DEFAULT_SOFT_DELETE_DAYS,
    MAX_RESOURCE_TAGS,
    MAX_SOFT_DELETE_DAYS,
    MAX_TAG_NAME,
    MAX_TAG_VALUE,
)
from backup.domain.resource_ids import GUID_TEXT
from backup.domain.vault_security import BCDR_SECURITY_LEVELS, SECURE_SCORES
from backup.shapes.arm import one_of
from backup.shapes.casing import canonicalize
from backup.shapes.common import (
    INVALID_PROPERTY_VALUE,
    MISSING_PROPERTY,
    CaseInsensitive,
    decode,
    fail,
)

IDENTITY_TYPES: Final = ("SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned", "None")
DATASTORE_TYPES: Final = ("OperationalStore", "VaultStore", "ArchiveStore")
REDUNDANCY_TYPES: Final = ("LocallyRedundant", "GeoRedundant", "ZoneRedundant")
ALERT_STATES: Final = ("Enabled", "Disabled")
SOFT_DELETE_STATES: Final = ("Off", "On", "AlwaysOn")
SOFT_DELETE_SYNONYMS: Final = {"Enabled": "On", "Disabled": "Off"}
"""Spellings Azure's service takes besides its enum: its own PutBackupVault example sends
``"state": "Enabled"``. They are stored and shown as the enum value they stand for."""
DEFAULT_SOFT_DELETE_STATE: Final = "On"
"""Azure: "Soft delete is enabled by default on newly created vaults", for 14 days."""
IMMUTABILITY_STATES: Final = ("Disabled", "Unlocked", "Locked")

LOCATION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$"
_LOCATION = re.compile(LOCATION_PATTERN)
_USER_IDENTITY = re.compile(
    r"^/subscriptions/"
    + GUID_TEXT
    + r"/resourceGroups/[A-Za-z0-9_().-]{1,90}/providers/Microsoft\.ManagedIdentity"
    r"/userAssignedIdentities/[A-Za-z0-9][A-Za-z0-9_-]{2,127}$",
    re.IGNORECASE,
)
_TAG_NAME_FORBIDDEN = frozenset("<>%&\\?/")

_IDENTITY_TYPE = CaseInsensitive(IDENTITY_TYPES, comma_spaced=True, description="Default None.")
_DATASTORE_TYPE = CaseInsensitive(DATASTORE_TYPES)
_REDUNDANCY = CaseInsensitive(REDUNDANCY_TYPES)
_ALERT_STATE = CaseInsensitive(ALERT_STATES)
_SOFT_DELETE_STATE = CaseInsensitive(
    (*SOFT_DELETE_STATES, *SOFT_DELETE_SYNONYMS),
    description="Default On. Enabled means On and Disabled means Off (shown as On and Off).",
)
_IMMUTABILITY_STATE = CaseInsensitive(IMMUTABILITY_STATES)

# Enum fields of the wrong JSON type answer InvalidPropertyValue, as a wrong value does.
_TYPE_CODES = {
    name: INVALID_PROPERTY_VALUE
    for name in ("type", "datastoreType", "alertsForAllJobFailures", "state", "retentionDurationInDays")
}
_VALUE_CODES = {"location": "InvalidResourceLocation"}

_READ_ONLY = msgspec.Meta(extra_json_schema={"readOnly": True})
_Days = (
    Annotated[int, msgspec.Meta(ge=0, le=MAX_SOFT_DELETE_DAYS)]
    | Annotated[float, msgspec.Meta(ge=0, le=MAX_SOFT_DELETE_DAYS)]
)
Tags = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TAG_NAME)],
        Annotated[str, msgspec.Meta(max_length=MAX_TAG_VALUE)],
    ],
    msgspec.Meta(
        max_length=MAX_RESOURCE_TAGS,
        description="Tag name to value. Names are 1-512 characters, none of <>%&\\?/.",
    ),
]


class _Shape(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """Absent (None) fields are left out of answers, as ARM leaves them out."""


class StorageSetting(_Shape, kw_only=True):
    datastore_type: Annotated[str, _DATASTORE_TYPE.meta]
    type: Annotated[str, _REDUNDANCY.meta]


class AzureMonitorAlertSettings(_Shape, kw_only=True):
    alerts_for_all_job_failures: Annotated[str, _ALERT_STATE.meta] | None = None


class MonitoringSettings(_Shape, kw_only=True):
    azure_monitor_alert_settings: AzureMonitorAlertSettings | None = None


class SoftDeleteSettings(_Shape, kw_only=True):
    state: Annotated[str, _SOFT_DELETE_STATE.meta] | None = None
    retention_duration_in_days: (
        Annotated[_Days, msgspec.Meta(description="Default 14 when soft delete is on (the default), else 0.")]
        | None
    ) = None


class ImmutabilitySettings(_Shape, kw_only=True):
    state: Annotated[str, _IMMUTABILITY_STATE.meta]


class SecuritySettings(_Shape, kw_only=True):
    soft_delete_settings: SoftDeleteSettings | None = None
    immutability_settings: ImmutabilitySettings | None = None


FeatureSettings = Annotated[dict[str, Any], msgspec.Meta(description="Echoed; no effect on disk backups.")]


class BackupVault(_Shape, kw_only=True):
    """A vault's ``properties``. Storage settings are validated and echoed: disk backups are
    snapshots in the operational store whatever the vault's redundancy. Security settings are
    enforced (soft delete of deleted instances, immutability of recovery points; see the README),
    beyond Azure, whose soft delete and immutability do not cover operational-tier backups."""

    provisioning_state: Annotated[str, _READ_ONLY] | None = None
    resource_move_state: Annotated[str, _READ_ONLY] | None = None
    storage_settings: Annotated[list[StorageSetting], msgspec.Meta(extra_json_schema={"minItems": 1})]
    monitoring_settings: MonitoringSettings | None = None
    security_settings: SecuritySettings | None = None
    is_vault_protected_by_resource_guard: Annotated[bool, _READ_ONLY] | None = None
    feature_settings: FeatureSettings | None = None
    secure_score: (
        Annotated[
            str,
            one_of(*SECURE_SCORES, description="From soft delete, immutability and Resource Guard."),
            _READ_ONLY,
        ]
        | None
    ) = None
    bcdr_security_level: (
        Annotated[str, one_of(*BCDR_SECURITY_LEVELS, description="Follows secureScore."), _READ_ONLY] | None
    ) = None


class DppIdentityDetails(_Shape, kw_only=True):
    """Vaults have no identity of their own: the answer shows the principals their ARM calls are
    made as (the app's for SystemAssigned; each attached identity's for UserAssigned), from those
    identities' access tokens; none when a token does not say."""

    type: Annotated[str, _IDENTITY_TYPE.meta] | None = None
    principal_id: Annotated[str, _READ_ONLY] | None = None
    tenant_id: Annotated[str, _READ_ONLY] | None = None
    user_assigned_identities: (
        Annotated[
            dict[str, dict[str, Any]],
            msgspec.Meta(
                description="User-assigned identity ids (as keys), when type includes UserAssigned; "
                "answers give each one's principalId and clientId."
            ),
        ]
        | None
    ) = None


class BackupVaultResource(_Shape, kw_only=True):
    """A backupVaults resource: the PUT body and the answer."""

    id: Annotated[str, _READ_ONLY] | None = None
    name: Annotated[str, _READ_ONLY] | None = None
    type: Annotated[str, _READ_ONLY] | None = None
    location: Annotated[
        str,
        msgspec.Meta(pattern=LOCATION_PATTERN, description="It cannot change once the vault exists."),
    ]
    tags: Tags | None = None
    identity: DppIdentityDetails | None = None
    properties: BackupVault


class PatchBackupVaultInput(_Shape, kw_only=True):
    monitoring_settings: MonitoringSettings | None = None
    security_settings: SecuritySettings | None = None
    feature_settings: FeatureSettings | None = None


class PatchResourceRequestInput(_Shape, kw_only=True):
    """A vault PATCH body: what it names is merged into the vault."""

    tags: Tags | None = None
    identity: DppIdentityDetails | None = None
    properties: PatchBackupVaultInput | None = None


PATCHABLE_PROPERTIES: Final = ("monitoringSettings", "securitySettings", "featureSettings")


def parse_vault(body: object) -> BackupVaultResource:
    """A vault PUT body as the canonical resource (ValidationError naming the field)."""
    _check_tags(canonicalize(body, BackupVaultResource))
    shape = decode(body, BackupVaultResource, type_codes=_TYPE_CODES, value_codes=_VALUE_CODES)
    if not _LOCATION.fullmatch(shape.location):
        fail("InvalidResourceLocation", "location", f"'{shape.location[:80]}' is not an Azure location.")
    properties = shape.properties
    return msgspec.structs.replace(
        shape,
        id=None,
        name=None,
        type=None,
        tags=shape.tags or {},
        identity=None if shape.identity is None else _identity(shape.identity),
        properties=BackupVault(
            storage_settings=_storage_settings(properties.storage_settings),
            monitoring_settings=_monitoring(properties.monitoring_settings),
            security_settings=_security(properties.security_settings),
            feature_settings=properties.feature_settings,
        ),
    )


def check_vault_patch(body: object) -> PatchResourceRequestInput:
    """A vault PATCH body, checked for shape (the merged vault is then checked as a PUT)."""
    _check_tags(canonicalize(body, PatchResourceRequestInput))
    return decode(body, PatchResourceRequestInput, type_codes=_TYPE_CODES, value_codes=_VALUE_CODES)


def _check_tags(body: object) -> None:
    """Tags before the rest, because ARM's tag codes name the tag (msgspec's paths do not)."""
    tags = body.get("tags") if isinstance(body, dict) else None
    if tags is None:
        return
    if not isinstance(tags, dict):
        decode(tags, dict[str, str], at="tags")
    if len(tags) > MAX_RESOURCE_TAGS:
        fail("InvalidTag", "tags", f"A resource can have at most {MAX_RESOURCE_TAGS} tags; got {len(tags)}.")
    for key, value in tags.items():
        if not key or len(key) > MAX_TAG_NAME or set(key) & _TAG_NAME_FORBIDDEN:
            fail(
                "InvalidTagName",
                "tags",
                f"The tag name '{key[:80]}' is invalid (1-{MAX_TAG_NAME} characters, none of <>%&\\?/).",
            )
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            fail(
                "InvalidTag",
                f"tags.{key}",
                f"The value of tag '{key}' must be a string of at most {MAX_TAG_VALUE} characters.",
            )


def _pick(value: str | None, options: CaseInsensitive, target: str) -> str:
    canonical = None if value is None else options.canonical(value)
    if canonical is None:
        fail(
            INVALID_PROPERTY_VALUE,
            target,
            f"'{target}' must be one of {', '.join(options.values)}; got {value!r}.",
        )
    return canonical


def _storage_settings(settings: list[StorageSetting]) -> list[StorageSetting]:
    target = "properties.storageSettings"
    if not settings:
        fail(
            "InvalidRequestContent",
            target,
            f'\'{target}\' must name at least one store: [{{"datastoreType": ..., "type": ...}}].',
        )
    checked = [
        StorageSetting(
            datastore_type=_pick(item.datastore_type, _DATASTORE_TYPE, f"{target}[{index}].datastoreType"),
            type=_pick(item.type, _REDUNDANCY, f"{target}[{index}].type"),
        )
        for index, item in enumerate(settings)
    ]
    for index, item in enumerate(checked):
        if item.type == "GeoRedundant":
            # Azure would copy the vault's data to the paired region; disk backups here are
            # snapshots in the disk's own region and nothing copies them, so accepting it would
            # promise a copy that never exists.
            fail(
                INVALID_PROPERTY_VALUE,
                f"{target}[{index}].type",
                f"'{target}[{index}].type' GeoRedundant is not supported: this app keeps no off-site "
                "copies (disk backups are snapshots in the disk's region). Use LocallyRedundant or "
                "ZoneRedundant.",
            )
    return checked


def _monitoring(settings: MonitoringSettings | None) -> MonitoringSettings:
    alerts = settings.azure_monitor_alert_settings if settings is not None else None
    state = alerts.alerts_for_all_job_failures if alerts is not None else None
    target = "properties.monitoringSettings.azureMonitorAlertSettings.alertsForAllJobFailures"
    return MonitoringSettings(
        azure_monitor_alert_settings=AzureMonitorAlertSettings(
            alerts_for_all_job_failures=ALERT_STATES[0]
            if state is None
            else _pick(state, _ALERT_STATE, target)
        )
    )


def _security(settings: SecuritySettings | None) -> SecuritySettings:
    base = "properties.securitySettings."
    soft = settings.soft_delete_settings if settings is not None else None
    state = soft.state if soft is not None else None
    if state is None:
        state = DEFAULT_SOFT_DELETE_STATE
    else:
        state = _pick(state, _SOFT_DELETE_STATE, base + "softDeleteSettings.state")
        state = SOFT_DELETE_SYNONYMS.get(state, state)
    days = soft.retention_duration_in_days if soft is not None else None
    if days is None:
        days = 0 if state == "Off" else DEFAULT_SOFT_DELETE_DAYS
    immutability = settings.immutability_settings if settings is not None else None
    return SecuritySettings(
        soft_delete_settings=SoftDeleteSettings(state=state, retention_duration_in_days=days),
        immutability_settings=None
        if immutability is None
        else ImmutabilitySettings(
            state=_pick(immutability.state, _IMMUTABILITY_STATE, base + "immutabilitySettings.state")
        ),
    )


def _identity(identity: DppIdentityDetails) -> DppIdentityDetails:
    kind = "None" if identity.type is None else _pick(identity.type, _IDENTITY_TYPE, "identity.type")
    user = identity.user_assigned_identities
    target = "identity.userAssignedIdentities"
    if "UserAssigned" not in kind:
        if user:
            fail(
                INVALID_PROPERTY_VALUE,
                target,
                f"'{target}' is only allowed when type includes UserAssigned (type is {kind}).",
            )
        return DppIdentityDetails(type=kind)
    if not user:
        fail(
            MISSING_PROPERTY, target, f"'{target}' must name at least one identity when type is UserAssigned."
        )
    for identity_id in user:
        if not _USER_IDENTITY.fullmatch(identity_id):
            fail(
                "InvalidResourceId",
                target,
                f"'{identity_id[:200]}' is not a user-assigned identity id (/subscriptions/{{id}}/"
                "resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}).",
            )
    return DppIdentityDetails(type=kind, user_assigned_identities={identity_id: {} for identity_id in user})
