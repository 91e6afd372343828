"""``Microsoft.Authorization/roleAssignments`` at a vault, a resource group or a subscription.

Azure's shape (api-version 2022-04-01 is one this API accepts): ``PUT/GET/DELETE
{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}`` and the list
``GET {scope}/providers/Microsoft.Authorization/roleAssignments``. The roles are this app's own
(:data:`backup.domain.access.ROLE_DEFINITION_IDS`), the grant is stored by the app
(:class:`backup.ports.RoleAssignmentStore`) and checked by the app; Azure RBAC is not involved.

Granting or revoking needs ``BackupOwner`` at the assignment's scope or above; reading needs any
role there. The list shows the assignments that apply at the scope: those made at it and at
every scope above it (``$filter=atScope()`` is accepted and means the same; ``principalId eq
'{id}'`` narrows it to one principal). An assignment cannot be changed, as in Azure: PUT again
with the same principal and role answers the stored one, anything else is 409.
"""

from __future__ import annotations

from typing import Any

from backup.api import paths
from backup.api.http import ApiResponse, json_response
from backup.api.odata import parse_filter
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.access import Role, RoleAssignment, Scope, role_definition_id
from backup.errors import ConflictError, NotFoundError
from backup.shapes.role_assignment import parse_role_assignment_request

routes = RouteTable()

_AUTHORIZATION = "/providers/Microsoft.Authorization/roleAssignments"
SCOPES = (paths.VAULT, paths.RESOURCE_GROUP, paths.SUBSCRIPTION)
"""The scopes assignments are served at, narrowest first (``/`` is held only through app roles)."""
LISTS = tuple(scope + _AUTHORIZATION for scope in SCOPES)
ITEMS = tuple(scope + _AUTHORIZATION + "/{roleAssignmentName}" for scope in SCOPES)
TYPE = "Microsoft.Authorization/roleAssignments"
FILTER_FIELDS = {"principalId": ("eq",)}


def assignment_resource(assignment: RoleAssignment) -> dict[str, Any]:
    """Azure's RoleAssignment."""
    return {
        "id": assignment.id,
        "name": assignment.name,
        "type": TYPE,
        "properties": {
            "roleDefinitionId": role_definition_id(assignment.role, assignment.scope),
            "roleDefinitionName": assignment.role.value,
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope.id,
            "createdOn": assignment.created_on,
            "updatedOn": assignment.created_on,
            "createdBy": assignment.created_by,
            "updatedBy": assignment.created_by,
        },
    }


def _scope(ctx: RequestContext) -> Scope:
    """The assignment's scope, which the caller must hold the route's role at exactly (or above):
    the router's wider check lets a vault's reader ask a subscription's list, not read it."""
    scope = Scope(
        ctx.params["subscriptionId"], ctx.params.get("resourceGroupName"), ctx.params.get("vaultName")
    )
    ctx.require(ctx.route.role, scope, f"{ctx.route.method} on role assignments at '{scope.id}'")
    return scope


def _name(ctx: RequestContext) -> str:
    return ctx.params["roleAssignmentName"].lower()


def _requested(ctx: RequestContext, scope: Scope) -> RoleAssignment:
    grant = parse_role_assignment_request(ctx.json_object())
    return RoleAssignment(
        name=_name(ctx),
        scope=scope,
        role=grant.role,
        principal_id=grant.principal_id,
        principal_type=grant.principal_type,
        created_on=rfc3339(ctx.now) or "",
        created_by=ctx.caller.principal_name,
    )


def _route_item(template: str) -> None:
    @routes.put(template, role=Role.OWNER)
    async def create(ctx: RequestContext) -> ApiResponse:
        scope = _scope(ctx)
        requested = _requested(ctx, scope)
        store = ctx.api.role_assignments
        current = await store.get_role_assignment(scope, requested.name)
        if current is not None:
            if (current.principal_id, current.role) == (requested.principal_id, requested.role):
                return json_response(200, assignment_resource(current))
            raise ConflictError(
                f"The role assignment '{requested.name}' exists with another principal or role; "
                "role assignments cannot be updated: delete it and create a new one.",
                code="RoleAssignmentUpdateNotPermitted",
                target="roleAssignmentName",
            )
        await store.create_role_assignment(requested)
        return json_response(201, assignment_resource(requested))

    @routes.get(template)
    async def get(ctx: RequestContext) -> ApiResponse:
        scope = _scope(ctx)
        found = await ctx.api.role_assignments.get_role_assignment(scope, _name(ctx))
        if found is None:
            raise _not_found(scope, _name(ctx))
        return json_response(200, assignment_resource(found))

    @routes.delete(template, role=Role.OWNER)
    async def delete(ctx: RequestContext) -> ApiResponse:
        store = ctx.api.role_assignments
        found = await store.get_role_assignment(_scope(ctx), _name(ctx))
        if found is None:
            return ApiResponse(204)
        await store.delete_role_assignment(found)
        return json_response(200, assignment_resource(found))


def _route_list(template: str) -> None:
    @routes.get(template)
    async def list_assignments(ctx: RequestContext) -> ApiResponse:
        text = (ctx.query("$filter") or "").strip()
        principal: str | None = None
        if text and text.replace(" ", "").lower() != "atscope()":
            clauses = parse_filter(text, FILTER_FIELDS)
            principal = clauses[0].value.lower() if clauses else None
        scope = _scope(ctx)
        found = await ctx.api.role_assignments.role_assignments_at(scope.ancestry())
        value = [
            assignment_resource(assignment)
            for assignment in found
            if principal is None or assignment.principal_id == principal
        ]
        return json_response(200, {"value": value})


def _not_found(scope: Scope, name: str) -> NotFoundError:
    return NotFoundError(
        f"The role assignment '{name}' is not found at '{scope.id}'.",
        code="RoleAssignmentNotFound",
        target="roleAssignmentName",
    )


for _item in ITEMS:
    _route_item(_item)
for _list in LISTS:
    _route_list(_list)
