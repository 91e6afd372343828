"""The provider's own calls: its ``operations`` list, ``checkNameAvailability`` for backup vaults
and ``checkFeatureSupport``.

================================================================================  ==============
``GET  /providers/Microsoft.DataProtection/operations``                           200, one page
``POST .../resourceGroups/{rg}/providers/Microsoft.DataProtection/locations/``    200
``       {location}/checkNameAvailability``
``POST /subscriptions/{s}/providers/Microsoft.DataProtection/locations/``         200
``       {location}/checkFeatureSupport``
================================================================================  ==============

The operations list is derived from the routes this build serves (Azure's own calls, not the
``/x/`` extensions), each named as Azure RBAC names the action (``backupVaults/read``,
``backupVaults/backupInstances/sync/action``) and described by its OpenAPI summary, so it cannot
name a call the API does not answer.

A vault name is available when it is a valid backup vault name and no vault of that name exists
in the resource group (names are unique per resource group and compared case-insensitively, as
ARM compares them); the answer says ``Invalid`` or ``AlreadyExists`` otherwise, as ARM's
name-availability calls do. The location is checked for form only: a vault's name does not
depend on its region.

``checkFeatureSupport`` with ``featureType: DataSourceType`` answers ``GenerallyAvailable`` for
``Microsoft.Compute/disks`` (all this service backs up) and ``NotSupported`` for any other
datasource type it is asked about; without a ``featureName`` it lists the one supported type.
"""

from __future__ import annotations

import re
from typing import Any

from backup.api import paths
from backup.api.auth import Role
from backup.api.http import ApiResponse, json_response
from backup.api.router import RequestContext, Route, RouteTable
from backup.domain.instance import VaultRef
from backup.domain.policy import DISK_DATASOURCE_TYPE
from backup.domain.resource_ids import check_dataprotection_name
from backup.errors import ValidationError
from backup.shapes.provider import (
    DATASOURCE_FEATURE,
    parse_check_name_availability,
    parse_feature_validation,
)

routes = RouteTable()

OPERATIONS_LIST = paths.PROVIDER + "/operations"
CHECK_NAME_AVAILABILITY = (
    paths.RESOURCE_GROUP + paths.PROVIDER + "/locations/{location}/checkNameAvailability"
)
CHECK_FEATURE_SUPPORT = paths.SUBSCRIPTION + paths.PROVIDER + "/locations/{location}/checkFeatureSupport"

_PROVIDER_NAME = "Microsoft.DataProtection"
_VERBS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete", "POST": "action"}
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


# --- operations --------------------------------------------------------------------------------


_PUBLISHED_NAMES = {
    ("POST", CHECK_FEATURE_SUPPORT): "Microsoft.DataProtection/subscriptions/providers/locations/"
    "checkFeatureSupport/action",
    ("GET", paths.RESOURCE_GROUP_OPERATION_STATUS): "Microsoft.DataProtection/subscriptions/resourceGroups/"
    "providers/operationStatus/read",
}
"""The two actions Azure's own list names otherwise than the rule below would."""


def action_name(route: Route) -> str:
    """The RBAC action of an Azure route: its resource types after the provider, then the verb."""
    published = _PUBLISHED_NAMES.get((route.method, route.template))
    if published is not None:
        return published
    segments = route.template.strip("/").split("/")
    last_provider = max(i for i, s in enumerate(segments) if s.casefold() == _PROVIDER_NAME.casefold())
    literals = [s for s in segments[last_provider + 1 :] if not s.startswith("{")]
    return "/".join([_PROVIDER_NAME, *literals, _VERBS[route.method]])


def of_this_provider(route: Route) -> bool:
    """Whether the route's resource is Microsoft.DataProtection's (role assignments are
    Microsoft.Authorization's: Azure lists them under that provider, not this one)."""
    providers = [s for s in route.template.split("/") if s.casefold().startswith("microsoft.")]
    return not providers or providers[-1].casefold() == _PROVIDER_NAME.casefold()


def _resource_display(name: str) -> str:
    """``Microsoft.DataProtection/backupVaults/backupInstances/sync/action`` -> ``Backup Instances``."""
    parts = name.split("/")[1:-1]
    if name.endswith("/action") and len(parts) > 1:
        parts = parts[:-1]
    words = _WORD.findall(parts[-1])
    return " ".join(word[:1].upper() + word[1:] for word in words)


def provider_operations() -> list[dict[str, Any]]:
    """One entry per Azure route this build serves, in route order."""
    # Imported here: the document imports the endpoint modules, this one included.
    from backup.api.app import build_router
    from backup.api.openapi import OPERATIONS

    entries: list[dict[str, Any]] = []
    for route in sorted(build_router().routes, key=lambda r: (r.template.lower(), r.method)):
        if route.extension or not of_this_provider(route):
            continue
        meta = OPERATIONS[(route.method, route.template)]
        name = action_name(route)
        entries.append(
            {
                "name": name,
                "display": {
                    "provider": _PROVIDER_NAME,
                    "resource": _resource_display(name),
                    "operation": meta.summary,
                    "description": meta.description or meta.summary,
                },
                "origin": "user",
                "isDataAction": False,
            }
        )
    return entries


@routes.get(OPERATIONS_LIST)
async def list_operations(ctx: RequestContext) -> ApiResponse:
    return json_response(200, {"value": provider_operations()})


# --- checkNameAvailability ---------------------------------------------------------------------


@routes.post(CHECK_NAME_AVAILABILITY, role=Role.READER)
async def check_name_availability(ctx: RequestContext) -> ApiResponse:
    name = parse_check_name_availability(ctx.json_object())
    try:
        check_dataprotection_name(name, "backup vault", "name")
    except ValidationError as invalid:
        return json_response(200, {"nameAvailable": False, "reason": "Invalid", "message": invalid.message})
    vault = VaultRef(ctx.params["subscriptionId"], ctx.params["resourceGroupName"], name)
    existing = await ctx.api.store.get_vault(vault)
    if existing is not None:
        return json_response(
            200,
            {
                "nameAvailable": False,
                "reason": "AlreadyExists",
                "message": f"A backup vault named '{existing.value.get('name', name)}' already exists in "
                f"resource group '{vault.resource_group}'.",
            },
        )
    return json_response(200, {"nameAvailable": True})


# --- checkFeatureSupport -----------------------------------------------------------------------


@routes.post(CHECK_FEATURE_SUPPORT, role=Role.READER)
async def check_feature_support(ctx: RequestContext) -> ApiResponse:
    feature_type, feature_name = parse_feature_validation(ctx.json_object())
    features: list[dict[str, Any]] = []
    if feature_type == DATASOURCE_FEATURE:
        if feature_name is None or feature_name.casefold() == DISK_DATASOURCE_TYPE.casefold():
            features.append(_feature(DISK_DATASOURCE_TYPE, "GenerallyAvailable"))
        else:
            features.append(_feature(feature_name, "NotSupported"))
    return json_response(
        200, {"objectType": "FeatureValidationResponse", "featureType": feature_type, "features": features}
    )


def _feature(name: str, status: str) -> dict[str, Any]:
    return {"featureName": name, "supportStatus": status, "exposureControlledFeatures": []}
