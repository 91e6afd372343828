"""``BackupInstance`` for a disk, as Azure's JSON spells it, and its conversion to a
:class:`ProtectionRequest`.

The structs validate the ``properties`` of a backupInstances PUT and of ``validateForBackup``'s
``backupInstance``, and are the OpenAPI schema. What a type cannot say is checked by
:func:`parse_backup_instance`: ARM's case-insensitive resource types, that the disk and the
snapshot resource group are well-formed ARM ids, that the policy belongs to this vault, and that
exactly one operational-store entry names the snapshot resource group.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec

from backup.domain.instance import VaultRef
from backup.domain.instance_status import STATUS_VALUES
from backup.domain.models import ProtectionState
from backup.domain.policy import DISK_DATASOURCE_TYPE, OPERATIONAL_STORE
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import ValidationError
from backup.shapes.arm import READ_ONLY, ResourceId, ResourceName, ResourceType, Time, one_of
from backup.shapes.common import (
    INVALID_PROPERTY_VALUE,
    INVALID_REQUEST_CONTENT,
    ArmId,
    CaseInsensitive,
    decode,
    fail,
)

OPERATIONAL_STORE_PARAMETERS = "AzureOperationalStoreParameters"
VALIDATION_TYPES = ("ShallowValidation", "DeepValidation")
HEALTH_VALUES: Final = ("Healthy", "Unhealthy", "Inactive")
"""backupSummary.health (backup.telemetry computes it; a test keeps the two lists equal)."""
READ_ONLY_PROPERTIES = (
    "protectionStatus",
    "currentProtectionState",
    "protectionErrorDetails",
    "provisioningState",
)
# The codes these fields answered before they had shapes, whatever is wrong with the value.
_FIELD_CODES = {
    "policyId": "UserErrorPolicyNotInVault",
    "resourceGroupId": "UserErrorInvalidOperationalStoreResourceGroup",
    "datasourceType": "UnsupportedDatasourceType",
    "resourceName": INVALID_PROPERTY_VALUE,
}
_TYPE_CODES = {
    **_FIELD_CODES,
    "resourceID": "InvalidResourceId",
    "userAssignedIdentityArmUrl": "InvalidResourceId",
    "validationType": INVALID_PROPERTY_VALUE,
}
_VALUE_CODES = {**_FIELD_CODES, "friendlyName": INVALID_REQUEST_CONTENT}
# Compared without stripping white space, so published without it.
_DISK = CaseInsensitive((DISK_DATASOURCE_TYPE,), padded=False)
_STORE_PARAMETERS_TYPE = CaseInsensitive((OPERATIONAL_STORE_PARAMETERS,), padded=False)
_OPERATIONAL_STORE = CaseInsensitive((OPERATIONAL_STORE,), padded=False)
_INSTANCE_TYPE = CaseInsensitive(("BackupInstance",), padded=False)
_DISK_TYPE = Annotated[str, _DISK.meta]


class Datasource(msgspec.Struct, rename="camel"):
    datasource_type: _DISK_TYPE
    resource_id: ArmId = msgspec.field(name="resourceID")
    object_type: str | None = None
    resource_location: str | None = None
    resource_name: str | None = None
    resource_type: _DISK_TYPE | None = None
    resource_uri: str | None = None


class OperationalStoreParameters(msgspec.Struct, rename="camel"):
    object_type: Annotated[str, _STORE_PARAMETERS_TYPE.meta] | None = None
    data_store_type: Annotated[str, _OPERATIONAL_STORE.meta] | None = None
    resource_group_id: Annotated[ArmId, msgspec.Meta(description="The snapshot resource group.")] | None = (
        None
    )


class PolicyParameters(msgspec.Struct, rename="camel"):
    data_store_parameters_list: list[OperationalStoreParameters] | None = None
    backup_datasource_parameters_list: list[Any] | None = None


class PolicyInfo(msgspec.Struct, rename="camel"):
    policy_id: Annotated[ArmId, msgspec.Meta(description="A backup policy of this vault.")]
    policy_parameters: PolicyParameters | None = None
    policy_version: (
        Annotated[
            str,
            READ_ONLY,
            msgspec.Meta(description="Names the policy's content: it changes when the policy's rules do."),
        ]
        | None
    ) = None


class IdentityDetails(msgspec.Struct, rename="camel"):
    use_system_assigned_identity: bool | None = None
    user_assigned_identity_arm_url: ArmId | None = None


class BackupInstance(msgspec.Struct, rename="camel"):
    """The ``properties`` of a backupInstances resource, as a request sends them."""

    data_source_info: Datasource
    policy_info: PolicyInfo
    object_type: Annotated[str, _INSTANCE_TYPE.meta] | None = None
    friendly_name: Annotated[str, msgspec.Meta(max_length=250)] | None = None
    data_source_set_info: Annotated[
        Any, msgspec.Meta(description="Null, or the disk itself (as Azure shows a disk's set).")
    ] = None
    identity_details: IdentityDetails | None = None
    # Compared case-sensitively (see parse_backup_instance), so a plain enum.
    validation_type: (
        Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(VALIDATION_TYPES)})] | None
    ) = None


class UserFacingError(msgspec.Struct, rename="camel", omit_defaults=True):
    """The last failed backup's error, while backups keep failing."""

    code: str | None = None
    message: str | None = None
    target: str | None = None
    is_retryable: bool | None = None
    is_user_error: bool | None = None
    properties: dict[str, str] | None = None


class ProtectionStatusDetails(msgspec.Struct, rename="camel", omit_defaults=True):
    status: (
        Annotated[
            str,
            one_of(
                *STATUS_VALUES,
                description="Azure's six values only: a failing instance stays ProtectionConfigured "
                "(currentProtectionState ProtectionError) and errorDetails says why.",
            ),
        ]
        | None
    ) = None
    error_details: UserFacingError | None = None


class BackupInstanceProperties(BackupInstance, kw_only=True):
    """A protected managed disk: the properties as sent, and what the service adds."""

    protection_status: Annotated[ProtectionStatusDetails, READ_ONLY] | None = None
    current_protection_state: Annotated[ProtectionState, READ_ONLY] | None = None
    protection_error_details: Annotated[UserFacingError, READ_ONLY] | None = None
    provisioning_state: Annotated[str, READ_ONLY] | None = None


class BackupInstanceResource(msgspec.Struct, rename="camel"):
    """A backupInstances resource: the PUT body (read-only fields are ignored) and the answer."""

    properties: BackupInstanceProperties
    id: ResourceId | None = None
    name: ResourceName | None = None
    type: ResourceType | None = None


class DeletionInfo(msgspec.Struct, rename="camel", omit_defaults=True):
    deletion_time: Time | None = None
    billing_end_date: Time | None = None
    scheduled_purge_time: (
        Annotated[Time, msgspec.Meta(description="When the instance and its recovery points are purged.")]
        | None
    ) = None
    delete_activity_id: uuid.UUID | None = msgspec.field(default=None, name="deleteActivityID")


class DeletedBackupInstance(BackupInstanceProperties, kw_only=True):
    deletion_info: DeletionInfo | None = None


class DeletedBackupInstanceResource(msgspec.Struct):
    """A soft-deleted backup instance."""

    properties: DeletedBackupInstance
    id: ResourceId | None = None
    name: ResourceName | None = None
    type: ResourceType | None = None


class BackupSummary(msgspec.Struct, rename="camel", kw_only=True):
    """This service's addition to the cross-vault view (Backup Center's columns)."""

    vault_id: str
    vault_name: str
    health: Annotated[str, one_of(*HEALTH_VALUES)]
    consecutive_failures: Annotated[int, msgspec.Meta(ge=0)]
    last_error_code: str | None
    last_backup_time: Time | None
    next_scheduled_backup_time: Time | None
    recovery_point_count: Annotated[int, msgspec.Meta(ge=0)]
    oldest_recovery_point_time: (
        Annotated[
            Time,
            msgspec.Meta(
                description="When the oldest live recovery point was taken: how far back the disk "
                "can be restored."
            ),
        ]
        | None
    ) = None
    newest_recovery_point_time: (
        Annotated[
            Time,
            msgspec.Meta(
                description="When the newest recovery point was taken (the last successful backup)."
            ),
        ]
        | None
    ) = None
    policy_description: (
        Annotated[str, msgspec.Meta(description="The policy's schedule and retention, in words.")] | None
    ) = None


class BackupInstanceWithSummary(BackupInstanceProperties, kw_only=True):
    backup_summary: BackupSummary


class BackupInstanceSummaryResource(msgspec.Struct):
    """A backup instance as the cross-vault view shows it."""

    properties: BackupInstanceWithSummary
    id: ResourceId | None = None
    name: ResourceName | None = None
    type: ResourceType | None = None


class ValidateForBackupRequest(msgspec.Struct, rename="camel"):
    """The body of ``validateForBackup``."""

    backup_instance: BackupInstance


@dataclass(frozen=True)
class ProtectionRequest:
    """A BackupInstance's ``properties``, checked for shape."""

    disk: ComputeResourceId
    policy_name: str
    snapshot_resource_group: ResourceGroupId
    document: Mapping[str, Any]
    """The properties to store and show: as sent, without read-only fields."""
    identity: str | None = None
    """The vault identity ARM calls are made as (see ``services.protection.with_vault_identity``)."""


def parse_backup_instance(properties: object, vault: VaultRef, path: str = "properties") -> ProtectionRequest:
    """Check a BackupInstance ``properties`` object for a disk; ValidationError naming the field."""
    shape = decode(properties, BackupInstance, at=path, type_codes=_TYPE_CODES, value_codes=_VALUE_CODES)
    assert isinstance(properties, dict)  # decode refuses anything else
    if shape.object_type is not None and _INSTANCE_TYPE.canonical(shape.object_type) is None:
        fail(INVALID_REQUEST_CONTENT, f"{path}.objectType", f"'{path}.objectType' must be 'BackupInstance'.")
    source = shape.data_source_info
    source_path = f"{path}.dataSourceInfo"
    for key, value in (("datasourceType", source.datasource_type), ("resourceType", source.resource_type)):
        if value is not None and _DISK.canonical(value) is None:
            fail(
                "UnsupportedDatasourceType",
                f"{source_path}.{key}",
                f"Datasource type '{value[:100]}' is not supported: this service backs up managed disks "
                f"only ('{DISK_DATASOURCE_TYPE}').",
            )
    disk = ComputeResourceId.disk(source.resource_id, f"{source_path}.resourceID")
    if source.resource_name is not None and source.resource_name.casefold() != disk.name.casefold():
        fail(
            INVALID_PROPERTY_VALUE,
            f"{source_path}.resourceName",
            f"'{source_path}.resourceName' ('{source.resource_name[:100]}') does not name the disk in "
            f"resourceID ('{disk.name}').",
        )
    if shape.data_source_set_info is not None:
        _check_set_is_the_disk(shape.data_source_set_info, disk, f"{path}.dataSourceSetInfo")
    policy_name = _policy_name(shape.policy_info.policy_id, vault, f"{path}.policyInfo.policyId")
    snapshot_group = _snapshot_resource_group(shape.policy_info.policy_parameters, f"{path}.policyInfo")
    if shape.identity_details is not None:
        _check_identity_details(shape.identity_details, f"{path}.identityDetails")
    if shape.validation_type is not None and shape.validation_type not in VALIDATION_TYPES:
        fail(
            INVALID_PROPERTY_VALUE,
            f"{path}.validationType",
            f"'{path}.validationType' must be ShallowValidation or DeepValidation (both run every check).",
        )
    document = {
        key: copy.deepcopy(value) for key, value in properties.items() if key not in READ_ONLY_PROPERTIES
    }
    document["objectType"] = "BackupInstance"
    return ProtectionRequest(disk, policy_name, snapshot_group, document)


def _check_set_is_the_disk(value: object, disk: ComputeResourceId, target: str) -> None:
    """A disk is its own datasource set: Azure's GET of a disk instance shows ``dataSourceSetInfo``
    naming the disk, so a body read back from Azure and sent again carries it. Anything else (a
    set of several resources, as for PostgreSQL servers) has no meaning for a disk."""
    resource_id = value.get("resourceID") if isinstance(value, dict) else None
    if (
        not isinstance(resource_id, str)
        or resource_id.strip("/").casefold() != str(disk).strip("/").casefold()
    ):
        fail(
            INVALID_REQUEST_CONTENT,
            target,
            f"'{target}' must be null or name the disk of dataSourceInfo ('{disk}'): a disk is its own "
            "datasource set.",
        )


def _policy_name(value: str, vault: VaultRef, target: str) -> str:
    prefix = f"{vault.id}/backupPolicies/"
    if not value.casefold().startswith(prefix.casefold()):
        fail(
            "UserErrorPolicyNotInVault",
            target,
            f"'{target}' must be the id of a backup policy of this vault ('{prefix}{{policyName}}'); "
            f"got '{value[:300]}'.",
        )
    name = value[len(prefix) :]
    if not name or "/" in name:
        fail("InvalidResourceId", target, f"'{target}' does not end with a policy name: '{value[:300]}'.")
    return name


def _snapshot_resource_group(parameters: PolicyParameters | None, path: str) -> ResourceGroupId:
    target = f"{path}.policyParameters.dataStoreParametersList"
    missing = (
        "The snapshot resource group is required: give one AzureOperationalStoreParameters "
        f"(dataStoreType OperationalStore, resourceGroupId) in '{target}'."
    )
    not_provided = "UserErrorOperationalStoreParametersNotProvided"
    if parameters is None:
        fail(not_provided, target, missing)
    if parameters.backup_datasource_parameters_list:
        fail(
            INVALID_PROPERTY_VALUE,
            f"{path}.policyParameters.backupDatasourceParametersList",
            "Disks take no backupDatasourceParametersList.",
        )
    items = parameters.data_store_parameters_list
    if not items:
        fail(not_provided, target, missing)
    for index, entry in enumerate(items):
        item_path = f"{target}[{index}]"
        if entry.object_type is None or _STORE_PARAMETERS_TYPE.canonical(entry.object_type) is None:
            fail(
                INVALID_PROPERTY_VALUE,
                f"{item_path}.objectType",
                f"'{item_path}.objectType' must be '{OPERATIONAL_STORE_PARAMETERS}' (disk backups live in "
                "the operational store).",
            )
        if entry.data_store_type is None or _OPERATIONAL_STORE.canonical(entry.data_store_type) is None:
            fail(
                INVALID_PROPERTY_VALUE,
                f"{item_path}.dataStoreType",
                f"'{item_path}.dataStoreType' must be 'OperationalStore'.",
            )
    if len(items) != 1:
        fail(INVALID_PROPERTY_VALUE, target, f"'{target}' must hold exactly one OperationalStore entry.")
    item_path = f"{target}[0]"
    group = items[0].resource_group_id
    if group is None:
        fail(not_provided, f"{item_path}.resourceGroupId", missing)
    try:
        return ResourceGroupId.parse(group, f"{item_path}.resourceGroupId")
    except ValidationError as error:
        fail("UserErrorInvalidOperationalStoreResourceGroup", f"{item_path}.resourceGroupId", error.message)


def _check_identity_details(details: IdentityDetails, path: str) -> None:
    user = details.user_assigned_identity_arm_url
    if user is not None and "/userassignedidentities/" not in user.casefold():
        fail(
            "InvalidResourceId",
            f"{path}.userAssignedIdentityArmUrl",
            f"'{path}.userAssignedIdentityArmUrl' must be the id of a "
            "Microsoft.ManagedIdentity/userAssignedIdentities resource.",
        )
