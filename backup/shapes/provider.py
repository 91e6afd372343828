"""The provider-level calls' bodies, as Azure's JSON spells them: ``checkNameAvailability`` for
backup vaults, ``checkFeatureSupport`` and the provider's ``operations`` list."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backup.shapes.arm import one_of
from backup.shapes.common import INVALID_REQUEST_CONTENT, CaseInsensitive, decode, fail

VAULT_RESOURCE_TYPE = "Microsoft.DataProtection/BackupVaults"
FEATURE_REQUEST_TYPE = "FeatureValidationRequest"
DATASOURCE_FEATURE = "DataSourceType"
INVALID_FEATURE = "Invalid"

_VAULT_TYPE = CaseInsensitive((VAULT_RESOURCE_TYPE,), description="The resource type whose name is checked.")
_FEATURE_REQUEST_TYPE = CaseInsensitive((FEATURE_REQUEST_TYPE,))
_FEATURE_TYPE = CaseInsensitive((DATASOURCE_FEATURE, INVALID_FEATURE))


class CheckNameAvailabilityRequest(msgspec.Struct, rename="camel"):
    """The body of ``checkNameAvailability`` (BackupVaults_CheckNameAvailability)."""

    name: Annotated[str, msgspec.Meta(description="The backup vault name to check.")] | None = None
    type: Annotated[str, _VAULT_TYPE.meta] | None = None


class CheckNameAvailabilityResult(msgspec.Struct, rename="camel", omit_defaults=True):
    name_available: bool
    reason: Annotated[str, one_of("AlreadyExists", "Invalid")] | None = None
    message: str | None = None


def parse_check_name_availability(body: object) -> str:
    """The vault name to check (400 naming the field for a missing name or a foreign type)."""
    shape = decode(body, CheckNameAvailabilityRequest, value_code=INVALID_REQUEST_CONTENT)
    if shape.name is None:
        fail("MissingProperty", "name", "'name' is required: the backup vault name to check.")
    if shape.type is not None and _VAULT_TYPE.canonical(shape.type) is None:
        fail(
            INVALID_REQUEST_CONTENT,
            "type",
            f"'type' must be '{VAULT_RESOURCE_TYPE}' (the only resource type whose name is checked here), "
            f"not '{shape.type[:100]}'.",
        )
    return shape.name


class FeatureValidationRequest(msgspec.Struct, rename="camel"):
    """The body of ``checkFeatureSupport`` (DataProtection_CheckFeatureSupport)."""

    object_type: Annotated[str, _FEATURE_REQUEST_TYPE.meta]
    feature_type: Annotated[str, _FEATURE_TYPE.meta] | None = None
    feature_name: (
        Annotated[str, msgspec.Meta(description="A datasource type, e.g. Microsoft.Compute/disks.")] | None
    ) = None


class SupportedFeature(msgspec.Struct, rename="camel"):
    feature_name: str
    support_status: Annotated[
        str,
        one_of(
            "Invalid", "NotSupported", "AlphaPreview", "PrivatePreview", "PublicPreview", "GenerallyAvailable"
        ),
    ]
    exposure_controlled_features: list[str]


class FeatureValidationResponse(msgspec.Struct, rename="camel"):
    object_type: Annotated[str, one_of("FeatureValidationResponse")]
    feature_type: Annotated[str, one_of(DATASOURCE_FEATURE, INVALID_FEATURE)]
    features: list[SupportedFeature]


def parse_feature_validation(body: object) -> tuple[str, str | None]:
    """The feature type (canonical spelling) and feature name a ``checkFeatureSupport`` asks about."""
    shape = decode(body, FeatureValidationRequest, value_code=INVALID_REQUEST_CONTENT)
    if _FEATURE_REQUEST_TYPE.canonical(shape.object_type) is None:
        fail(
            "UnsupportedObjectType",
            "objectType",
            f"'objectType' must be '{FEATURE_REQUEST_TYPE}', not '{shape.object_type[:100]}'.",
        )
    feature_type = DATASOURCE_FEATURE
    if shape.feature_type is not None:
        canonical = _FEATURE_TYPE.canonical(shape.feature_type)
        if canonical is None:
            fail(
                "InvalidPropertyValue",
                "featureType",
                f"'featureType' must be {DATASOURCE_FEATURE} or {INVALID_FEATURE}, "
                f"not '{shape.feature_type[:100]}'.",
            )
        feature_type = canonical
    name = shape.feature_name.strip() if shape.feature_name is not None else None
    return feature_type, name or None


class ClientDiscoveryDisplay(msgspec.Struct):
    provider: str
    resource: str
    operation: str
    description: str


class ClientDiscoveryValueForSingleApi(msgspec.Struct, rename="camel"):
    """One operation of the provider, named as Azure RBAC names it (``.../read``, ``.../action``)."""

    name: str
    display: ClientDiscoveryDisplay
    origin: Annotated[str, one_of("user")]
    is_data_action: bool


class ClientDiscoveryResponse(msgspec.Struct, rename="camel", omit_defaults=True):
    value: list[ClientDiscoveryValueForSingleApi]
    next_link: str | None = None
