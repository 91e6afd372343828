"""Multi-user authorization: ``resourceGuards``, a vault's ``backupResourceGuardProxies`` (its link to
a guard) with ``unlockDelete``, and the product's approvals on a guard (under ``/api/x/``).

A guard is stored with the principal that created it, who holds the standing role on it (Azure's
security administrator): only that principal may change or delete it, or approve requests on it.
An approval (``POST /api/x/.../resourceGuards/{name}/approvals``) is a time-bound role on the guard
for another principal (Azure grants it through PIM); :mod:`backup.services.critical_operations`
checks it before every critical operation of a linked vault. Unlinking a vault is itself a
critical operation. Deleting a guard, by its holder, unprotects the vaults linked to it, as in
Azure. With a function key and no sign-in every caller is the same principal, so no request can
ever be approved by someone else: multi-user authorization needs Entra sign-in (README).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.odata import decode_skip_token, page_after
from backup.api.router import RequestContext, RouteTable
from backup.domain.guards import GUARD_TYPE, PROXY_TYPE, GuardApproval, GuardRef, holds_role
from backup.domain.instance import VaultRef
from backup.domain.vault_security import ALWAYS_GUARDED, CRITICAL_OPERATION_REQUESTS, CriticalOperation
from backup.errors import AuthorizationError, ConflictError, NotFoundError, ValidationError
from backup.services.critical_operations import (
    LINKED_AUTHORIZATION_FAILED,
    CriticalOperationGate,
    guard_holders,
    guard_of_proxy,
    guard_resource,
)
from backup.shapes.resource_guard import (
    GuardApprovalResource,
    ResourceGuard,
    ResourceGuardOperation,
    ResourceGuardOperationDetail,
    ResourceGuardProxyBase,
    ResourceGuardProxyBaseResource,
    UnlockDeleteResponse,
    as_json,
    parse_approval,
    parse_guard_patch,
    parse_guard_proxy,
    parse_resource_guard,
    parse_unlock_delete,
)

routes = RouteTable()

RESOURCE_GUARDS_IN_SUBSCRIPTION = paths.SUBSCRIPTION + paths.PROVIDER + "/resourceGuards"
RESOURCE_GUARDS = paths.RESOURCE_GROUP + paths.PROVIDER + "/resourceGuards"
RESOURCE_GUARD = RESOURCE_GUARDS + "/{resourceGuardsName}"
GUARD_APPROVALS = RESOURCE_GUARD + "/approvals"
GUARD_PROXIES = paths.VAULT + "/backupResourceGuardProxies"
GUARD_PROXY = GUARD_PROXIES + "/{resourceGuardProxyName}"
UNLOCK_DELETE = GUARD_PROXY + "/unlockDelete"

GUARD_DESCRIPTION = "Please take JIT access before performing any of the critical operation"
"""Azure's own text, as its examples show it."""


def _guard(ctx: RequestContext) -> GuardRef:
    return GuardRef(
        ctx.params["subscriptionId"], ctx.params["resourceGroupName"], ctx.params["resourceGuardsName"]
    )


def _guard_not_found(guard: GuardRef) -> NotFoundError:
    return NotFoundError(
        f"The Resource 'Microsoft.DataProtection/resourceGuards/{guard.name}' under resource group "
        f"'{guard.resource_group}' was not found.",
        code="ResourceNotFound",
        target="resourceGuardsName",
    )


def _operations() -> list[ResourceGuardOperation]:
    return [
        ResourceGuardOperation(
            vault_critical_operation=operation.value,
            request_resource_type=f"{GUARD_TYPE}/{CRITICAL_OPERATION_REQUESTS[operation]}",
        )
        for operation in CriticalOperation
    ]


def _require_holder(ctx: RequestContext, guard: GuardRef, record: Mapping[str, Any], action: str) -> None:
    if not holds_role(guard_holders(record), ctx.caller.principal_name):
        raise AuthorizationError(
            f"The client '{ctx.caller.principal_name}' holds no role on the resource guard '{guard.name}' "
            f"and cannot {action} it.",
            code=LINKED_AUTHORIZATION_FAILED,
            target="resourceGuardsName",
        )


# --- resourceGuards ---------------------------------------------------------------------------------


@routes.put(RESOURCE_GUARD)
async def put_resource_guard(ctx: RequestContext) -> ApiResponse:
    guard = _guard(ctx)
    requested = parse_resource_guard(ctx.json_object())
    current = await ctx.api.store.get_resource_guard(guard)
    if current is not None:
        _require_holder(ctx, guard, current.value, "change")
        guard = GuardRef.parse(str(guard_resource(current.value).get("id", ""))) or guard
        if str(guard_resource(current.value).get("location", "")).lower() != requested.location.lower():
            raise ValidationError(
                f"The resource guard '{guard.name}' already exists in location "
                f"'{guard_resource(current.value).get('location')}'.",
                code="InvalidResourceLocation",
                target="location",
            )
    excluded = (
        requested.properties.vault_critical_operation_exclusion_list if requested.properties else None
    ) or []
    known = {operation.value.casefold(): operation.value for operation in CriticalOperation}
    never = {operation.value.casefold() for operation in ALWAYS_GUARDED}
    for index, name in enumerate(excluded):
        if name.casefold() in never:
            raise ValidationError(
                f"'{name}' disarms the guard itself and can never be excluded.",
                code="BMSUserErrorInvalidCriticalOperationExclusionList",
                target=f"properties.vaultCriticalOperationExclusionList[{index}]",
            )
        if name.casefold() not in known:
            raise ValidationError(
                f"'{name[:200]}' is not a critical operation of this resource guard; one of "
                f"{', '.join(known.values())}.",
                code="InvalidPropertyValue",
                target=f"properties.vaultCriticalOperationExclusionList[{index}]",
            )
    resource = {
        "id": guard.id,
        "name": guard.name,
        "type": GUARD_TYPE,
        "location": requested.location,
        "tags": requested.tags or {},
        "properties": as_json(
            ResourceGuard(
                provisioning_state="Succeeded",
                allow_auto_approvals=False,
                resource_guard_operations=_operations(),
                vault_critical_operation_exclusion_list=[known[name.casefold()] for name in excluded],
                description=GUARD_DESCRIPTION,
            )
        ),
    }
    holders = guard_holders(current.value) if current is not None else [ctx.caller.principal_name]
    record = {"resource": resource, "holders": holders}
    if current is None:
        await ctx.api.store.put_resource_guard(guard, record)
        return json_response(201, resource)
    await ctx.api.store.put_resource_guard(guard, record, current.etag)
    return json_response(200, resource)


@routes.patch(RESOURCE_GUARD)
async def patch_resource_guard(ctx: RequestContext) -> ApiResponse:
    """PatchResourceGuardInput: the guard's tags, replaced (by its holder)."""
    guard = _guard(ctx)
    patch = parse_guard_patch(ctx.json_object())
    current = await ctx.api.store.get_resource_guard(guard)
    if current is None:
        raise _guard_not_found(guard)
    _require_holder(ctx, guard, current.value, "change")
    resource = dict(guard_resource(current.value))
    if patch.tags is not None:
        resource["tags"] = patch.tags
        await ctx.api.store.put_resource_guard(guard, {**current.value, "resource": resource}, current.etag)
    return json_response(200, resource)


@routes.get(RESOURCE_GUARD)
async def get_resource_guard(ctx: RequestContext) -> ApiResponse:
    guard = _guard(ctx)
    current = await ctx.api.store.get_resource_guard(guard)
    if current is None:
        raise _guard_not_found(guard)
    return json_response(200, dict(guard_resource(current.value)))


@routes.delete(RESOURCE_GUARD)
async def delete_resource_guard(ctx: RequestContext) -> ApiResponse:
    guard = _guard(ctx)
    current = await ctx.api.store.get_resource_guard(guard)
    if current is None:
        return ApiResponse(204)
    _require_holder(ctx, guard, current.value, "delete")
    await ctx.api.store.delete_resource_guard(guard, current.etag)
    return ApiResponse(200)


@routes.get(RESOURCE_GUARDS)
async def list_resource_guards(ctx: RequestContext) -> ApiResponse:
    return await _guard_page(ctx, ctx.params["resourceGroupName"], RESOURCE_GUARDS)


@routes.get(RESOURCE_GUARDS_IN_SUBSCRIPTION)
async def list_resource_guards_in_subscription(ctx: RequestContext) -> ApiResponse:
    return await _guard_page(ctx, None, RESOURCE_GUARDS_IN_SUBSCRIPTION)


async def _guard_page(ctx: RequestContext, resource_group: str | None, template: str) -> ApiResponse:
    rows = await ctx.api.store.list_resource_guards(ctx.params["subscriptionId"], resource_group)
    after = decode_skip_token(ctx.query("$skipToken"))
    page, token = page_after(
        [dict(guard_resource(row[1].value)) for row in rows],
        [row[0] for row in rows],
        after,
        ctx.api.page_size,
    )
    body: dict[str, Any] = {"value": page}
    if token is not None:
        body["nextLink"] = ctx.url(template.format(**ctx.params), {"$skipToken": token})
    return json_response(200, body)


# --- approvals (product extension) ------------------------------------------------------------------


def _approval_json(approval: GuardApproval) -> dict[str, Any]:
    return as_json(
        GuardApprovalResource(
            principal_name=approval.principal,
            granted_by=approval.granted_by,
            granted_at=approval.granted_at.isoformat(),
            expires_at=approval.expires_at.isoformat(),
        )
    )


@routes.route("POST", GUARD_APPROVALS, extension=True)
async def approve(ctx: RequestContext) -> ApiResponse:
    request = parse_approval(ctx.json_object())
    gate = CriticalOperationGate(ctx.api.store, ctx.api.clock)
    approval = await gate.grant(
        _guard(ctx),
        ctx.caller.principal_name,
        request.principal_name,
        timedelta(minutes=request.duration_in_minutes),
    )
    return json_response(200, _approval_json(approval))


@routes.get(GUARD_APPROVALS, extension=True)
async def list_approvals(ctx: RequestContext) -> ApiResponse:
    guard = _guard(ctx)
    if await ctx.api.store.get_resource_guard(guard) is None:
        raise _guard_not_found(guard)
    now = ctx.api.clock.now()
    approvals = [
        approval for approval in await ctx.api.store.list_guard_approvals(guard) if approval.expires_at > now
    ]
    return json_response(200, {"value": [_approval_json(approval) for approval in approvals]})


# --- backupResourceGuardProxies -------------------------------------------------------------------


def _proxy_resource(vault: VaultRef, name: str, guard: GuardRef, updated: str) -> dict[str, Any]:
    return as_json(
        ResourceGuardProxyBaseResource(
            id=f"{vault.id}/backupResourceGuardProxies/{name}",
            name=name,
            type=PROXY_TYPE,
            properties=ResourceGuardProxyBase(
                resource_guard_resource_id=guard.id,
                resource_guard_operation_details=[
                    ResourceGuardOperationDetail(
                        vault_critical_operation=operation.value,
                        default_resource_request=f"{guard.id}/{CRITICAL_OPERATION_REQUESTS[operation]}/default",
                    )
                    for operation in CriticalOperation
                ],
                last_updated_time=updated,
                description=GUARD_DESCRIPTION,
            ),
        )
    )


def _proxy_not_found(vault: VaultRef, name: str) -> NotFoundError:
    return NotFoundError(
        f"The resource guard proxy '{name}' of vault '{vault.name}' was not found.",
        code="ResourceNotFound",
        target="resourceGuardProxyName",
    )


async def _mark_vault(ctx: RequestContext, vault: VaultRef, protected: bool) -> None:
    """Keep the vault's read-only ``isVaultProtectedByResourceGuard`` true while it is linked."""
    stored = await ctx.api.store.get_vault(vault)
    if stored is None:
        return
    document = dict(stored.value)
    properties = dict(document.get("properties") or {})
    if properties.get("isVaultProtectedByResourceGuard") is protected:
        return
    properties["isVaultProtectedByResourceGuard"] = protected
    document["properties"] = properties
    await ctx.api.store.register_vault(vault, document, stored.etag)


@routes.put(GUARD_PROXY)
async def put_guard_proxy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    name = ctx.params["resourceGuardProxyName"]
    _, guard = parse_guard_proxy(ctx.json_object())
    record = await ctx.api.store.get_resource_guard(guard)
    if record is None:
        raise ValidationError(
            f"The resource guard '{guard.id}' does not exist.",
            code="UserErrorResourceGuardNotFound",
            target="properties.resourceGuardResourceId",
        )
    guard = GuardRef.parse(str(guard_resource(record.value).get("id", ""))) or guard
    current = await ctx.api.store.get_guard_proxy(vault)
    if current is not None:
        linked = guard_of_proxy(current.value)
        if (
            str(current.value.get("name", "")).lower() != name.lower()
            or linked is None
            or not linked.same(guard)
        ):
            raise ConflictError(
                f"The backup vault '{vault.name}' is already linked to a resource guard by the proxy "
                f"'{current.value.get('name')}'. Remove that link first (a critical operation).",
                code="UserErrorResourceGuardProxyAlreadyExists",
                target="resourceGuardProxyName",
            )
        return json_response(200, dict(current.value))
    document = _proxy_resource(vault, name, guard, ctx.api.clock.now().isoformat())
    await ctx.api.store.put_guard_proxy(vault, document)
    await _mark_vault(ctx, vault, True)
    return json_response(200, document)


@routes.get(GUARD_PROXY)
async def get_guard_proxy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    name = ctx.params["resourceGuardProxyName"]
    current = await ctx.api.store.get_guard_proxy(vault)
    if current is None or str(current.value.get("name", "")).lower() != name.lower():
        raise _proxy_not_found(vault, name)
    return json_response(200, dict(current.value))


@routes.get(GUARD_PROXIES)
async def list_guard_proxies(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    current = await ctx.api.store.get_guard_proxy(vault)
    return json_response(200, {"value": [] if current is None else [dict(current.value)]})


@routes.delete(GUARD_PROXY)
async def delete_guard_proxy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    name = ctx.params["resourceGuardProxyName"]
    current = await ctx.api.store.get_guard_proxy(vault)
    if current is None or str(current.value.get("name", "")).lower() != name.lower():
        return ApiResponse(204)
    gate = CriticalOperationGate(ctx.api.store, ctx.api.clock)
    await gate.require(vault, CriticalOperation.DELETE_GUARD_PROXY, ctx.caller.principal_name)
    await ctx.api.store.delete_guard_proxy(vault, current.etag)
    await _mark_vault(ctx, vault, False)
    return ApiResponse(200)


@routes.post(UNLOCK_DELETE)
async def unlock_delete(ctx: RequestContext) -> ApiResponse:
    """Azure's step before a guarded delete: answers until when the caller's approval lets it delete.

    Here the approval itself is what the delete checks; this call checks it too (403 without one),
    so a script that unlocks first, as Azure's documentation says to, learns early."""
    vault, _ = await load_vault(ctx)
    name = ctx.params["resourceGuardProxyName"]
    parse_unlock_delete(ctx.json_object())
    current = await ctx.api.store.get_guard_proxy(vault)
    if current is None or str(current.value.get("name", "")).lower() != name.lower():
        raise _proxy_not_found(vault, name)
    gate = CriticalOperationGate(ctx.api.store, ctx.api.clock)
    await gate.require(vault, CriticalOperation.DELETE_BACKUP_INSTANCE, ctx.caller.principal_name)
    approval = await gate.approval_of(vault, ctx.caller.principal_name)
    expiry = approval.expires_at.isoformat() if approval is not None else None
    return json_response(200, as_json(UnlockDeleteResponse(unlock_delete_expiry_time=expiry)))
