"""``resourceGuards``, ``backupResourceGuardProxies`` and ``unlockDelete``, as Azure's JSON spells them,
and the product's approval on a guard (``/api/x/``: Azure grants it through PIM, outside the API).

One declaration serves validation (the PUT bodies decode into these classes; read-only fields
sent are ignored, as ARM ignores them) and the OpenAPI schemas.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from backup.domain.guards import MAX_APPROVAL, GuardRef
from backup.domain.resource_ids import (
    check_dataprotection_name,
    check_resource_group_name,
    check_subscription,
)
from backup.errors import ValidationError
from backup.shapes.common import INVALID_PROPERTY_VALUE, decode, fail
from backup.shapes.vault import LOCATION_PATTERN, Tags

_READ_ONLY = msgspec.Meta(extra_json_schema={"readOnly": True})
MAX_APPROVAL_MINUTES = int(MAX_APPROVAL.total_seconds() // 60)


class _Shape(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """Absent (None) fields are left out of answers, as ARM leaves them out."""


class ResourceGuardOperation(_Shape, kw_only=True):
    vault_critical_operation: str | None = None
    request_resource_type: str | None = None


class ResourceGuard(_Shape, kw_only=True):
    provisioning_state: Annotated[str, _READ_ONLY] | None = None
    allow_auto_approvals: Annotated[bool, _READ_ONLY] | None = None
    resource_guard_operations: Annotated[list[ResourceGuardOperation], _READ_ONLY] | None = None
    vault_critical_operation_exclusion_list: (
        Annotated[
            list[Annotated[str, msgspec.Meta(max_length=300)]],
            msgspec.Meta(max_length=20, description="Critical operations this guard does not protect."),
        ]
        | None
    ) = None
    description: Annotated[str, _READ_ONLY] | None = None


class ResourceGuardResource(_Shape, kw_only=True):
    """A resourceGuards resource: the PUT body and the answer."""

    id: Annotated[str, _READ_ONLY] | None = None
    name: Annotated[str, _READ_ONLY] | None = None
    type: Annotated[str, _READ_ONLY] | None = None
    location: Annotated[str, msgspec.Meta(pattern=LOCATION_PATTERN)]
    tags: Tags | None = None
    e_tag: str | None = None
    properties: ResourceGuard | None = None


class PatchResourceGuardInput(_Shape, kw_only=True):
    """A resource guard PATCH body: its tags, replaced."""

    tags: Tags | None = None


class ResourceGuardOperationDetail(_Shape, kw_only=True):
    vault_critical_operation: str | None = None
    default_resource_request: str | None = None


class ResourceGuardProxyBase(_Shape, kw_only=True):
    resource_guard_resource_id: Annotated[
        str, msgspec.Meta(max_length=600, description="The resource guard's full resource id.")
    ]
    resource_guard_operation_details: Annotated[list[ResourceGuardOperationDetail], _READ_ONLY] | None = None
    last_updated_time: Annotated[str, _READ_ONLY] | None = None
    description: Annotated[str, _READ_ONLY] | None = None


class ResourceGuardProxyBaseResource(_Shape, kw_only=True):
    """A backupResourceGuardProxies resource (a vault's link to a guard): the PUT body and the answer."""

    id: Annotated[str, _READ_ONLY] | None = None
    name: Annotated[str, _READ_ONLY] | None = None
    type: Annotated[str, _READ_ONLY] | None = None
    properties: ResourceGuardProxyBase


class UnlockDeleteRequest(_Shape, kw_only=True):
    resource_guard_operation_requests: list[Annotated[str, msgspec.Meta(max_length=600)]] | None = None
    resource_to_be_deleted: Annotated[str, msgspec.Meta(max_length=600)] | None = None


class UnlockDeleteResponse(_Shape, kw_only=True):
    unlock_delete_expiry_time: str | None = None


class GuardApprovalRequest(_Shape, kw_only=True):
    """A product extension: a holder of the guard approves another principal's critical operations."""

    principal_name: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=256, description="The principal approved (not the caller)."),
    ]
    duration_in_minutes: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=MAX_APPROVAL_MINUTES,
            description="How long the approval lasts (a PIM activation's length).",
        ),
    ]


class GuardApprovalResource(_Shape, kw_only=True):
    principal_name: str
    granted_by: str
    granted_at: str
    expires_at: str


class GuardApprovalList(_Shape, kw_only=True):
    value: list[GuardApprovalResource]


def parse_resource_guard(body: object) -> ResourceGuardResource:
    return decode(body, ResourceGuardResource)


def parse_guard_patch(body: object) -> PatchResourceGuardInput:
    return decode(body, PatchResourceGuardInput)


def parse_guard_proxy(body: object) -> tuple[ResourceGuardProxyBaseResource, GuardRef]:
    shape = decode(body, ResourceGuardProxyBaseResource)
    target = "properties.resourceGuardResourceId"
    guard = GuardRef.parse(shape.properties.resource_guard_resource_id)
    try:
        if guard is not None:
            check_subscription(guard.subscription_id, target)
            check_resource_group_name(guard.resource_group, target)
            check_dataprotection_name(guard.name, "resource guard", target)
    except ValidationError:
        guard = None
    if guard is None:
        fail(
            "InvalidResourceId",
            target,
            f"'{shape.properties.resource_guard_resource_id[:200]}' is not a resource guard id "
            "(/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.DataProtection/resourceGuards/{name}).",
        )
    return shape, guard


def parse_unlock_delete(body: object) -> UnlockDeleteRequest:
    return decode(body if body is not None else {}, UnlockDeleteRequest)


def parse_approval(body: object) -> GuardApprovalRequest:
    shape = decode(body, GuardApprovalRequest, value_code=INVALID_PROPERTY_VALUE)
    if not shape.principal_name.strip():
        fail(INVALID_PROPERTY_VALUE, "principalName", "'principalName' must name a principal.")
    return shape


def as_json(shape: msgspec.Struct) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(shape)
    return document
