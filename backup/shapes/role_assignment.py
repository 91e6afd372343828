"""Azure's ``RoleAssignment`` and ``RoleAssignmentCreateParameters`` (Microsoft.Authorization
2022-04-01), as far as this app's role assignments use them (:mod:`backup.api.endpoints.role_assignments`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from backup.domain.access import PRINCIPAL_TYPES, Role, role_of_definition
from backup.domain.resource_ids import GUID
from backup.errors import ValidationError


class RoleAssignmentProperties(msgspec.Struct, rename="camel", kw_only=True):
    role_definition_id: Annotated[
        str,
        msgspec.Meta(
            description="/providers/Microsoft.Authorization/roleDefinitions/{id} (optionally under "
            "/subscriptions/{s}), one of this app's roles: "
            "BackupReader 79455755-f0d1-5d10-a05e-5d2d91c63c9b, "
            "BackupOperator 37b09aef-9445-5726-a29a-30f6dabff511, RestoreOperator "
            "5c21e869-dde0-5190-a7c4-5a92e47345d7, BackupOwner 5681151f-e41d-523f-b554-bfee23487eff."
        ),
    ]
    principal_id: Annotated[
        str, msgspec.Meta(description="The Entra object id of a user, group or service principal.")
    ]
    principal_type: Annotated[str, msgspec.Meta(description=" / ".join(PRINCIPAL_TYPES))] = "User"
    role_definition_name: Annotated[
        str | None, msgspec.Meta(description="The app role's name (read-only; not in Azure's shape).")
    ] = None
    scope: str | None = None
    created_on: str | None = None
    updated_on: str | None = None
    created_by: str | None = None
    updated_by: str | None = None


class RoleAssignmentCreateParameters(msgspec.Struct, kw_only=True):
    properties: RoleAssignmentProperties


class RoleAssignment(msgspec.Struct, kw_only=True):
    id: str
    name: str
    type: str
    properties: RoleAssignmentProperties


class RoleAssignmentListResult(msgspec.Struct, kw_only=True, rename={"next_link": "nextLink"}):
    value: list[RoleAssignment]
    next_link: str | None = None


@dataclass(frozen=True)
class RequestedGrant:
    role: Role
    principal_id: str
    """Lower case."""
    principal_type: str


def parse_role_assignment_request(body: Any) -> RequestedGrant:
    """A ``RoleAssignmentCreateParameters`` body, or a 400 naming the field that is wrong."""
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        raise ValidationError(
            "The request body needs 'properties' with 'roleDefinitionId' and 'principalId'.",
            code="InvalidRequestContent",
            target="properties",
        )
    role = role_of_definition(properties.get("roleDefinitionId"))
    principal = properties.get("principalId")
    if not isinstance(principal, str) or not GUID.fullmatch(principal):
        raise ValidationError(
            f"'{str(principal)[:80]}' is not a principal id: give the Entra object id (a GUID) of a "
            "user, group or service principal.",
            code="InvalidPrincipalId",
            target="properties.principalId",
        )
    principal_type = properties.get("principalType", "User")
    if principal_type not in PRINCIPAL_TYPES:
        raise ValidationError(
            f"'{str(principal_type)[:40]}' is not a principal type; use one of {', '.join(PRINCIPAL_TYPES)}.",
            code="InvalidPrincipalType",
            target="properties.principalType",
        )
    for unsupported in ("condition", "delegatedManagedIdentityResourceId"):
        if properties.get(unsupported) not in (None, ""):
            raise ValidationError(
                f"'properties.{unsupported}' is not supported by this app's role assignments.",
                code="UnsupportedRoleAssignmentProperty",
                target=f"properties.{unsupported}",
            )
    return RequestedGrant(role, principal.lower(), principal_type)
