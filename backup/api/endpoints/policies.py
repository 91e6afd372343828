"""``backupPolicies``: create (PUT), get, list, delete.

The body's ``properties`` is validated by :func:`backup.shapes.policy.parse_backup_policy`
(only ``Microsoft.Compute/disks`` policies are accepted) and stored verbatim; responses
return it as sent, with each tag's read-only ``tagInfo.id`` filled in as Azure does. As in
Azure, a policy cannot be edited in place once a backup instance uses it: PUT of a different
policy under an in-use name is refused with 409 ``UserErrorPolicyInUse``; re-sending the same
policy is an idempotent 200. Delete is refused with 409 while any instance uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.odata import decode_skip_token, page_after
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import VaultRef
from backup.errors import ConflictError, NotFoundError
from backup.shapes.common import member_object
from backup.shapes.policy import parse_backup_policy

routes = RouteTable()


def policy_resource(vault: VaultRef, name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{vault.id}/backupPolicies/{name}",
        "name": name,
        "type": paths.POLICY_TYPE,
        "properties": as_azure_shows(properties),
    }


def as_azure_shows(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as sent, with what Azure's answers always carry: every tag's read-only
    ``tagInfo.id``, ``{tagName}_`` (``Default_``, ``Weekly_``), and each retention lifecycle's
    ``targetDataStoreCopySettings``, ``[]`` when the request left them out (a non-empty copy
    setting is refused when parsed, as no off-site copy exists here)."""
    shown = copy.deepcopy(dict(properties))
    for rule in shown.get("policyRules") or []:
        if not isinstance(rule, dict):
            continue
        trigger = rule.get("trigger")
        for criterion in trigger.get("taggingCriteria", []) if isinstance(trigger, dict) else []:
            tag = criterion.get("tagInfo") if isinstance(criterion, dict) else None
            if isinstance(tag, dict) and "id" not in tag and isinstance(tag.get("tagName"), str):
                tag["id"] = f"{tag['tagName']}_"
        if rule.get("objectType") != "AzureRetentionRule":
            continue
        for lifecycle in rule.get("lifecycles") or []:
            if lifecycle.get("targetDataStoreCopySettings") is None:
                lifecycle["targetDataStoreCopySettings"] = []
    return shown


def _in_use(vault: VaultRef, name: str, instances: list[str], doing: str) -> ConflictError:
    shown = ", ".join(sorted(instances)[:5]) + (", ..." if len(instances) > 5 else "")
    return ConflictError(
        f"The backup policy '{name}' is used by {len(instances)} backup instance(s) ({shown}) and cannot be "
        f"{doing}. Create a new policy and move the instances to it; a policy in use cannot be changed.",
        code="UserErrorPolicyInUse",
        target="backupPolicyName",
    )


@routes.put(paths.POLICY)
async def put_policy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    body = ctx.json_object()
    document = parse_backup_policy(member_object(body, "properties")).to_json()
    name = ctx.params["backupPolicyName"]
    store = ctx.api.store
    current = await store.get_policy(vault, name)
    if current is None:
        await store.put_policy(vault, name, document)
        return json_response(200, policy_resource(vault, name, document))
    stored_name, stored = current
    if stored.value == document:
        return json_response(200, policy_resource(vault, stored_name, document))
    users = await store.instance_names(vault, policy=stored_name)
    if users:
        raise _in_use(vault, stored_name, users, "modified")
    await store.put_policy(vault, stored_name, document, stored.etag)
    return json_response(200, policy_resource(vault, stored_name, document))


@routes.get(paths.POLICY)
async def get_policy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    name = ctx.params["backupPolicyName"]
    current = await ctx.api.store.get_policy(vault, name)
    if current is None:
        raise NotFoundError(
            f"The backup policy '{name}' was not found in vault '{vault.name}'.",
            code="ResourceNotFound",
            target="backupPolicyName",
        )
    stored_name, stored = current
    return json_response(200, policy_resource(vault, stored_name, stored.value))


@routes.delete(paths.POLICY)
async def delete_policy(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    name = ctx.params["backupPolicyName"]
    current = await ctx.api.store.get_policy(vault, name)
    if current is None:
        return ApiResponse(204)
    stored_name, stored = current
    users = await ctx.api.store.instance_names(vault, policy=stored_name)
    if users:
        raise _in_use(vault, stored_name, users, "deleted")
    await ctx.api.store.delete_policy(vault, stored_name, stored.etag)
    return ApiResponse(200)


@routes.get(paths.POLICIES)
async def list_policies(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    rows = await ctx.api.store.list_policies(vault)
    after = decode_skip_token(ctx.query("$skipToken"))
    page, token = page_after(rows, [row[0] for row in rows], after, ctx.api.page_size)
    body: dict[str, Any] = {"value": [policy_resource(vault, name, stored.value) for _, name, stored in page]}
    if token is not None:
        body["nextLink"] = ctx.url(paths.POLICIES.format(**ctx.params), {"$skipToken": token})
    return json_response(200, body)
