"""``backupVaults``: create or update (PUT, PATCH), get, delete, list by resource group or subscription.

A vault is a registry row whose ``DocumentJson`` is the resource exactly as the API returns it
(``id``, ``name``, ``type``, ``location``, ``tags``, ``identity``, ``properties``). Creating or
updating is synchronous: the answer is 201 (created) or 200 (updated) with
``provisioningState: Succeeded``, which ``begin_create_or_update``'s poller takes as final
(body polling; no ``Azure-AsyncOperation`` header is needed).

The body's shape, its checks and the answer's shape are declared once in
:mod:`backup.shapes.vault`. ``storageSettings`` are validated and echoed (disk backups live in
the OperationalStore, as snapshots in the disk's subscription, whatever the vault's
redundancy). ``monitoringSettings`` and ``featureSettings`` are validated and echoed.
``securitySettings`` are enforced (:mod:`backup.domain.vault_security`): the soft-delete period
of deleted instances is the vault's, an immutable vault keeps every point until its expiry, and
a change that Azure forbids (Locked immutability undone, AlwaysOn soft delete turned back, soft
delete turned off or shortened while immutable) is refused with 409 and changes nothing. Under
multi-user authorization, turning soft delete off or immutability off needs an approval
(:mod:`backup.services.critical_operations`). Azure does not apply immutability to
operational-tier disk snapshots; this app does (README, "Immutable vaults, soft delete and
multi-user authorization"). Vaults have no identity of their own: the identity shows the
principals the vault's ARM calls are made as (the app's for SystemAssigned, each attached
identity's for UserAssigned), filled in on every answer and never stored (see
:mod:`backup.services.vault_identity`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from backup.api import paths
from backup.api.endpoints._common import stored_vault_ref, vault_not_found, visible_vault_documents
from backup.api.http import ApiResponse, json_response
from backup.api.linked_checks import GROUP_READ, require_caller_may
from backup.api.odata import decode_skip_token, page_after
from backup.api.router import RequestContext, RouteTable
from backup.domain.access import Role, Scope
from backup.domain.arm import normalize_location
from backup.domain.instance import VaultRef, vault_of_document
from backup.domain.resource_ids import ResourceGroupId
from backup.domain.vault_security import (
    VaultSecurity,
    bcdr_security_level,
    refused_change,
    secure_score,
    weakening_operations,
)
from backup.errors import ConflictError, ValidationError
from backup.services.critical_operations import CriticalOperationGate
from backup.shapes.vault import PATCHABLE_PROPERTIES, check_vault_patch, parse_vault

routes = RouteTable()


@routes.put(paths.VAULT)
async def put_vault(ctx: RequestContext) -> ApiResponse:
    requested = ctx.vault
    body = ctx.json_object()
    current = await ctx.api.store.get_vault(requested)
    if current is None:
        ctx.require(Role.OWNER, Scope.of_vault(requested), "create the backup vault (an owner's act)")
        # The vault's resource group must exist and be the caller's to read (a linked check).
        await require_caller_may(
            ctx,
            ResourceGroupId(requested.subscription_id, requested.resource_group),
            (GROUP_READ,),
            why="a vault is created in it",
            target="resourceGroupName",
        )
    vault = stored_vault_ref(current.value, requested) if current else requested
    document = _vault_document(vault, body, current.value if current else None)
    _check_identities_bound(ctx, vault, document)
    if current is not None:
        await _check_security_change(ctx, vault, current.value, document)
    if current is None:
        await ctx.api.store.register_vault(requested, document)
        return json_response(201, await _shown(ctx, document))
    if document != current.value:
        await ctx.api.store.register_vault(requested, document, current.etag)
    return json_response(200, await _shown(ctx, document))


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
    patch = check_vault_patch(body)
    if "tags" in body:
        merged["tags"] = body["tags"]
    if "identity" in body:
        merged["identity"] = body["identity"]
    if patch.properties is not None:
        for key in PATCHABLE_PROPERTIES:
            if key in body["properties"]:
                merged["properties"][key] = body["properties"][key]
    vault = stored_vault_ref(current.value, requested)
    document = _vault_document(vault, merged, current.value)
    _check_identities_bound(ctx, vault, document)
    await _check_security_change(ctx, vault, current.value, document)
    if document != current.value:
        await ctx.api.store.register_vault(requested, document, current.etag)
    return json_response(200, await _shown(ctx, document))


@routes.get(paths.VAULT)
async def get_vault(ctx: RequestContext) -> ApiResponse:
    stored = await ctx.api.store.get_vault(ctx.vault)
    if stored is None:
        raise vault_not_found(ctx.vault)
    return json_response(200, await _shown(ctx, stored.value))


@routes.delete(paths.VAULT, role=Role.OWNER)
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
    # Grants at the vault's scope go with it: a vault created later under the same name starts
    # with none (Azure leaves them orphaned; here they would silently apply to the newcomer).
    assignments = ctx.api.role_assignments
    for assignment in await assignments.role_assignments_at([Scope.of_vault(ctx.vault)]):
        await assignments.delete_role_assignment(assignment)
    return ApiResponse(200)


@routes.get(paths.VAULTS)
async def list_vaults_in_resource_group(ctx: RequestContext) -> ApiResponse:
    rows = await visible_vault_documents(ctx, ctx.params["subscriptionId"], ctx.params["resourceGroupName"])
    return await _page(ctx, rows, paths.VAULTS)


@routes.get(paths.VAULTS_IN_SUBSCRIPTION)
async def list_vaults_in_subscription(ctx: RequestContext) -> ApiResponse:
    rows = await visible_vault_documents(ctx, ctx.params["subscriptionId"])
    return await _page(ctx, rows, paths.VAULTS_IN_SUBSCRIPTION)


async def _check_security_change(
    ctx: RequestContext, vault: VaultRef, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """Refuse what Azure forbids outright (409), then ask the vault's guard about what weakens it."""
    old, new = VaultSecurity.from_document(before), VaultSecurity.from_document(after)
    refused = refused_change(old, new)
    if refused is not None:
        raise ConflictError(refused, code=SECURITY_CHANGE_REFUSED, target="properties.securitySettings")
    gate = CriticalOperationGate(ctx.api.store, ctx.api.clock)
    for operation in weakening_operations(old, new):
        await gate.require(vault, operation, ctx.caller.principal_name)


SECURITY_CHANGE_REFUSED = "UserErrorSecuritySettingsChangeNotAllowed"
"""Azure documents no code of its own for these refusals."""


def _check_identities_bound(ctx: RequestContext, vault: VaultRef, document: Mapping[str, Any]) -> None:
    """403 ``UserErrorIdentityNotBoundToVault`` for a user-assigned identity the deployer did not
    bind to this vault: a caller cannot borrow an identity attached to the app for another purpose."""
    identity = document.get("identity")
    named = identity.get("userAssignedIdentities") if isinstance(identity, Mapping) else None
    for identity_id in named or {}:
        ctx.api.settings.identity_bindings.require(
            identity_id, vault, target="identity.userAssignedIdentities"
        )


async def _shown(ctx: RequestContext, document: Mapping[str, Any]) -> dict[str, Any]:
    """The vault as answered: its derived security figures and its identities' principals."""
    return await ctx.api.services.vault_identities.shown(shown_vault(document))


async def _page(ctx: RequestContext, rows: list[Any], template: str) -> ApiResponse:
    rows = [row for row in rows if (vault := vault_of_document(row[1].value)) and ctx.access.sees(vault)]
    after = decode_skip_token(ctx.query("$skipToken"))
    page, token = page_after(
        [row[1].value for row in rows], [row[0] for row in rows], after, ctx.api.page_size
    )
    body: dict[str, Any] = {"value": [await _shown(ctx, document) for document in page]}
    if token is not None:
        body["nextLink"] = ctx.url(template.format(**ctx.params), {"$skipToken": token})
    return json_response(200, body)


def _vault_document(
    vault: VaultRef, body: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The vault resource ``body`` asks for, as stored (answered with its principals filled in)."""
    resource = parse_vault(body)
    location = resource.location
    if existing is not None and normalize_location(existing["location"]) != normalize_location(location):
        raise ValidationError(
            f"The resource '{vault.name}' already exists in location '{existing['location']}' in resource "
            f"group '{vault.resource_group}'. A resource with the same name cannot be created in location "
            f"'{location}'.",
            code="InvalidResourceLocation",
            target="location",
        )
    answer = msgspec.structs.replace(
        resource,
        id=vault.id,
        name=vault.name,
        type=paths.VAULT_TYPE,
        location=existing["location"] if existing is not None else location,
        properties=msgspec.structs.replace(
            resource.properties,
            provisioning_state="Succeeded",
            resource_move_state="Unknown",
            # Kept up to date by linking and unlinking a resource guard (resource_guards.py).
            is_vault_protected_by_resource_guard=bool(
                existing is not None
                and (existing.get("properties") or {}).get("isVaultProtectedByResourceGuard")
            ),
        ),
    )
    document: dict[str, Any] = msgspec.to_builtins(answer)
    return shown_vault(document)


def shown_vault(document: Mapping[str, Any]) -> dict[str, Any]:
    """The vault as answered: with ``secureScore`` and ``bcdrSecurityLevel`` derived from its
    security settings (so a vault stored before they were shown answers them too)."""
    shown = dict(document)
    properties = dict(shown.get("properties") or {})
    security = properties.get("securitySettings") or {}
    score = secure_score(
        (security.get("softDeleteSettings") or {}).get("state"),
        (security.get("immutabilitySettings") or {}).get("state"),
        resource_guard=bool(properties.get("isVaultProtectedByResourceGuard")),
    )
    properties["secureScore"] = score
    properties["bcdrSecurityLevel"] = bcdr_security_level(score)
    shown["properties"] = properties
    return shown
