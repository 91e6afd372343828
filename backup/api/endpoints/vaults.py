"""``backupVaults``: create or update (PUT, PATCH), get, delete, list by resource group or subscription.

A vault is a registry row whose ``DocumentJson`` is the resource exactly as the API returns it
(``id``, ``name``, ``type``, ``location``, ``tags``, ``identity``, ``properties``). Creating or
updating is synchronous: the answer is 201 (created) or 200 (updated) with
``provisioningState: Succeeded``, which ``begin_create_or_update``'s poller takes as final
(body polling; no ``Azure-AsyncOperation`` header is needed).

``storageSettings`` are validated and echoed (disk backups live in the OperationalStore, as
snapshots in the disk's subscription, whatever the vault's redundancy). ``securitySettings``,
``monitoringSettings`` and ``featureSettings`` are validated and echoed too; they do not
change what happens to disk backups (Azure's soft delete and immutability do not cover
operational-tier backups either). Vaults have no identity of their own: a SystemAssigned
identity is shown with the app's deterministic principal id (see
:attr:`ApiContext.identity_principal_id <backup.api.dependencies.ApiContext.identity_principal_id>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import (
    invalid,
    json_type,
    optional_object,
    pick_enum,
    required_string,
    stored_vault_ref,
    vault_not_found,
)
from backup.api.http import ApiResponse, json_response
from backup.api.odata import decode_skip_token, page_after
from backup.api.render import normalize_location
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import VaultRef
from backup.domain.resource_ids import GUID_TEXT
from backup.errors import ConflictError, ValidationError

routes = RouteTable()

IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned", "None")
DATASTORE_TYPES = ("OperationalStore", "VaultStore", "ArchiveStore")
REDUNDANCY_TYPES = ("LocallyRedundant", "GeoRedundant", "ZoneRedundant")
ALERT_STATES = ("Enabled", "Disabled")
SOFT_DELETE_STATES = ("Off", "On", "AlwaysOn")
IMMUTABILITY_STATES = ("Disabled", "Unlocked", "Locked")
MAX_TAGS = 50

_LOCATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,63}$")
_USER_IDENTITY = re.compile(
    r"^/subscriptions/"
    + GUID_TEXT
    + r"/resourceGroups/[A-Za-z0-9_().-]{1,90}/providers/Microsoft\.ManagedIdentity"
    r"/userAssignedIdentities/[A-Za-z0-9][A-Za-z0-9_-]{2,127}$",
    re.IGNORECASE,
)
_TAG_KEY_FORBIDDEN = set("<>%&\\?/")


@routes.put(paths.VAULT)
async def put_vault(ctx: RequestContext) -> ApiResponse:
    requested = ctx.vault
    body = ctx.json_object()
    current = await ctx.api.store.get_vault(requested)
    vault = stored_vault_ref(current.value, requested) if current else requested
    document = _vault_document(ctx, vault, body, current.value if current else None)
    if current is None:
        await ctx.api.store.register_vault(requested, document)
        return json_response(201, document)
    if document != current.value:
        await ctx.api.store.register_vault(requested, document, current.etag)
    return json_response(200, document)


@routes.patch(paths.VAULT)
async def patch_vault(ctx: RequestContext) -> ApiResponse:
    """PatchResourceRequestInput: ``tags``, ``identity`` and some ``properties`` settings, merged."""
    requested = ctx.vault
    body = ctx.json_object()
    current = await ctx.api.store.get_vault(requested)
    if current is None:
        raise vault_not_found(requested)
    merged: dict[str, Any] = {
        "location": current.value["location"],
        "tags": current.value.get("tags") or {},
        "properties": dict(current.value.get("properties") or {}),
    }
    if "identity" in current.value:
        merged["identity"] = current.value["identity"]
    if "tags" in body:
        merged["tags"] = body["tags"]
    if "identity" in body:
        merged["identity"] = body["identity"]
    patch_properties = optional_object(body, "properties", "")
    for key in ("monitoringSettings", "securitySettings", "featureSettings"):
        if patch_properties and key in patch_properties:
            merged["properties"][key] = patch_properties[key]
    vault = stored_vault_ref(current.value, requested)
    document = _vault_document(ctx, vault, merged, current.value)
    if document != current.value:
        await ctx.api.store.register_vault(requested, document, current.etag)
    return json_response(200, document)


@routes.get(paths.VAULT)
async def get_vault(ctx: RequestContext) -> ApiResponse:
    stored = await ctx.api.store.get_vault(ctx.vault)
    if stored is None:
        raise vault_not_found(ctx.vault)
    return json_response(200, dict(stored.value))


@routes.delete(paths.VAULT)
async def delete_vault(ctx: RequestContext) -> ApiResponse:
    stored = await ctx.api.store.get_vault(ctx.vault)
    if stored is None:
        return ApiResponse(204)
    instances = await ctx.api.store.instance_names(ctx.vault)
    if instances:
        shown = ", ".join(sorted(instances)[:5]) + (", ..." if len(instances) > 5 else "")
        raise ConflictError(
            f"The backup vault '{ctx.vault.name}' still has {len(instances)} backup instance(s) ({shown}). "
            "Delete them (stop protection and delete data) before deleting the vault.",
            code="UserErrorVaultHasBackupInstances",
            target="vaultName",
        )
    await ctx.api.store.delete_vault(ctx.vault, stored.etag)
    return ApiResponse(200)


@routes.get(paths.VAULTS)
async def list_vaults_in_resource_group(ctx: RequestContext) -> ApiResponse:
    rows = await ctx.api.store.list_vault_documents(
        ctx.params["subscriptionId"], ctx.params["resourceGroupName"]
    )
    return _page(ctx, rows, paths.VAULTS)


@routes.get(paths.VAULTS_IN_SUBSCRIPTION)
async def list_vaults_in_subscription(ctx: RequestContext) -> ApiResponse:
    rows = await ctx.api.store.list_vault_documents(ctx.params["subscriptionId"])
    return _page(ctx, rows, paths.VAULTS_IN_SUBSCRIPTION)


def _page(ctx: RequestContext, rows: list[Any], template: str) -> ApiResponse:
    after = decode_skip_token(ctx.query("$skipToken"))
    page, token = page_after(
        [row[1].value for row in rows], [row[0] for row in rows], after, ctx.api.page_size
    )
    body: dict[str, Any] = {"value": [dict(document) for document in page]}
    if token is not None:
        body["nextLink"] = ctx.url(template.format(**ctx.params), {"$skipToken": token})
    return json_response(200, body)


def _vault_document(
    ctx: RequestContext, vault: VaultRef, body: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    location = required_string(body, "location", "")
    if not _LOCATION.fullmatch(location):
        raise invalid(
            "location", f"'{location[:80]}' is not an Azure location.", code="InvalidResourceLocation"
        )
    if existing is not None and normalize_location(existing["location"]) != normalize_location(location):
        raise ValidationError(
            f"The resource '{vault.name}' already exists in location '{existing['location']}' in resource "
            f"group '{vault.resource_group}'. A resource with the same name cannot be created in location "
            f"'{location}'.",
            code="InvalidResourceLocation",
            target="location",
        )
    properties = optional_object(body, "properties", "")
    if properties is None:
        raise invalid("properties", "'properties' is required.", code="MissingProperty")
    resource_properties: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "resourceMoveState": "Unknown",
        "storageSettings": _storage_settings(properties.get("storageSettings")),
        "monitoringSettings": _monitoring(properties),
        "securitySettings": _security(properties),
        "isVaultProtectedByResourceGuard": False,
    }
    features = optional_object(properties, "featureSettings", "properties.")
    if features is not None:
        resource_properties["featureSettings"] = features
    document: dict[str, Any] = {
        "id": vault.id,
        "name": vault.name,
        "type": paths.VAULT_TYPE,
        "location": existing["location"] if existing is not None else location,
        "tags": _tags(body.get("tags")),
    }
    identity = _identity(ctx, body.get("identity"))
    if identity is not None:
        document["identity"] = identity
    document["properties"] = resource_properties
    return document


def _storage_settings(value: object) -> list[dict[str, str]]:
    target = "properties.storageSettings"
    if value is None:
        raise invalid(
            target, f'\'{target}\' is required: [{{"datastoreType": ..., "type": ...}}].', "MissingProperty"
        )
    if not isinstance(value, list) or not value:
        raise invalid(target, f"'{target}' must be a non-empty array, not {json_type(value)}.")
    settings = []
    for index, item in enumerate(value):
        path = f"{target}[{index}]"
        if not isinstance(item, dict):
            raise invalid(path, f"'{path}' must be a JSON object, not {json_type(item)}.")
        settings.append(
            {
                "datastoreType": pick_enum(
                    item.get("datastoreType"), DATASTORE_TYPES, f"{path}.datastoreType"
                ),
                "type": pick_enum(item.get("type"), REDUNDANCY_TYPES, f"{path}.type"),
            }
        )
    return settings


def _monitoring(properties: Mapping[str, Any]) -> dict[str, Any]:
    monitoring = optional_object(properties, "monitoringSettings", "properties.") or {}
    alerts = optional_object(monitoring, "azureMonitorAlertSettings", "properties.monitoringSettings.") or {}
    state = alerts.get("alertsForAllJobFailures", "Enabled")
    target = "properties.monitoringSettings.azureMonitorAlertSettings.alertsForAllJobFailures"
    return {"azureMonitorAlertSettings": {"alertsForAllJobFailures": pick_enum(state, ALERT_STATES, target)}}


def _security(properties: Mapping[str, Any]) -> dict[str, Any]:
    base = "properties.securitySettings."
    security = optional_object(properties, "securitySettings", "properties.") or {}
    soft = optional_object(security, "softDeleteSettings", base) or {}
    state = pick_enum(soft.get("state", "Off"), SOFT_DELETE_STATES, base + "softDeleteSettings.state")
    days = soft.get("retentionDurationInDays", 0 if state == "Off" else 14)
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days <= 180:
        raise invalid(
            base + "softDeleteSettings.retentionDurationInDays",
            "'retentionDurationInDays' must be a number from 0 to 180.",
            code="InvalidPropertyValue",
        )
    result: dict[str, Any] = {"softDeleteSettings": {"state": state, "retentionDurationInDays": days}}
    immutability = optional_object(security, "immutabilitySettings", base)
    if immutability is not None:
        result["immutabilitySettings"] = {
            "state": pick_enum(
                immutability.get("state"), IMMUTABILITY_STATES, base + "immutabilitySettings.state"
            )
        }
    return result


def _tags(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("tags", f"'tags' must be a JSON object of strings, not {json_type(value)}.")
    if len(value) > MAX_TAGS:
        raise invalid("tags", f"A resource can have at most {MAX_TAGS} tags; got {len(value)}.", "InvalidTag")
    for key, tag in value.items():
        if not key or len(key) > 512 or set(key) & _TAG_KEY_FORBIDDEN:
            raise invalid(
                "tags",
                f"The tag name '{key[:80]}' is invalid (1-512 characters, none of <>%&\\?/).",
                "InvalidTagName",
            )
        if not isinstance(tag, str) or len(tag) > 256:
            raise invalid(
                f"tags.{key}",
                f"The value of tag '{key}' must be a string of at most 256 characters.",
                "InvalidTag",
            )
    return dict(value)


def _identity(ctx: RequestContext, value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("identity", f"'identity' must be a JSON object, not {json_type(value)}.")
    raw_type = value.get("type", "None")
    kind = pick_enum(
        raw_type.replace(" ", "") if isinstance(raw_type, str) else raw_type, IDENTITY_TYPES, "identity.type"
    )
    identity: dict[str, Any] = {"type": kind}
    if kind.startswith("SystemAssigned"):
        identity["principalId"] = ctx.api.identity_principal_id
        identity["tenantId"] = ctx.api.tenant_id
    user = value.get("userAssignedIdentities")
    if "UserAssigned" in kind:
        if not isinstance(user, dict) or not user:
            raise invalid(
                "identity.userAssignedIdentities",
                "'identity.userAssignedIdentities' must name at least one identity when type is "
                "UserAssigned.",
                "MissingProperty",
            )
        for identity_id in user:
            if not _USER_IDENTITY.fullmatch(identity_id):
                raise invalid(
                    "identity.userAssignedIdentities",
                    f"'{identity_id[:200]}' is not a user-assigned identity id "
                    "(/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/"
                    "userAssignedIdentities/{name}).",
                    "InvalidResourceId",
                )
        identity["userAssignedIdentities"] = {identity_id: {} for identity_id in user}
    elif user:
        raise invalid(
            "identity.userAssignedIdentities",
            "'identity.userAssignedIdentities' is only allowed when type includes UserAssigned "
            f"(type is {kind}).",
            "InvalidPropertyValue",
        )
    return identity
