"""``recoveryPoints`` of a backup instance: list (newest first, ``$filter``, paging) and get.

Shape: AzureBackupRecoveryPointResource with ``properties.objectType``
``AzureBackupDiscreteRecoveryPoint``. The snapshot behind a point is
``properties.recoveryPointDataStoresDetails[0].metaData``: the ARM id of the
``Microsoft.Compute/snapshots`` resource (Azure leaves metaData null for disks; nothing
else in the model can carry it). ``friendlyName`` is the 32-hex id written as a GUID.

``$filter``, as ``az dataprotection recovery-point list --start-time --end-time`` sends it:
``startDate eq '<ISO>' and endDate eq '<ISO>'`` (either alone), meaning
``startDate <= recoveryPointTime <= endDate``; ``ge``/``le`` are accepted as synonyms and
``gt``/``lt`` as strict bounds.

Paging is keyset, as for jobs: a page holds ``ApiContext.page_size`` points and ``nextLink``
carries the filter and a ``$skipToken`` naming the last point served; the next page is one
range query that starts strictly after it and stops once the page is full, so page k costs
what page 1 costs and a point added or deleted during a walk never makes another one appear
twice or go missing. The filter's times narrow that range too (ids start with their inverted
time), so a filtered page reads the points in the window, not the instance's whole list. Azure's
API has no ``$top`` here, so neither has this one. A ``$skipToken`` this API did not issue is a
400 ``InvalidQueryParameterValue``.

``policyName`` is the policy the instance was under when the point was recorded (stored with
the point), so a page is its one range query and the vault's registry row; the instance is read
only for an empty page or a point stored before points kept their policy (then the instance's
policy stands in, as it did for every point before).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.odata import decode_skip_token, encode_skip_token, parse_filter, parse_time
from backup.api.render import rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import RecoveryPoint, RecoveryPointState
from backup.domain.policy import policy_version
from backup.errors import NotFoundError, ValidationError

routes = RouteTable()

FILTER_FIELDS = {"startDate": ("eq", "ge", "gt"), "endDate": ("eq", "le", "lt")}
_STATE = {
    RecoveryPointState.COMMITTED: "COMMITTED",
    RecoveryPointState.CREATING: "CREATING",
    RecoveryPointState.DELETING: "DELETING",
}
_TICKS_AT_EPOCH = 621_355_968_000_000_000
_TICK = timedelta(microseconds=1)
_POINT_ID = re.compile(r"[0-9a-f]{32}")


def recovery_point_resource(
    vault: VaultRef, point: RecoveryPoint, instance: BackupInstance | None
) -> dict[str, Any]:
    """The point as Azure shows it; ``instance`` gives the policy of a point stored before points
    recorded theirs (the instance as it is now, read only then)."""
    if point.policy_name is not None or instance is None:
        policy = (point.policy_name, point.policy_version)
    else:
        policy = (instance.policy_name, policy_version(instance.policy_document))
    friendly = str(uuid.UUID(hex=point.id))
    return {
        "id": f"{vault.id}/backupInstances/{point.instance}/recoveryPoints/{point.id}",
        "name": point.id,
        "type": paths.RECOVERY_POINT_TYPE,
        "properties": {
            "objectType": "AzureBackupDiscreteRecoveryPoint",
            "recoveryPointId": point.id,
            "friendlyName": friendly,
            "recoveryPointTime": rfc3339(point.created_at),
            "recoveryPointType": "Incremental",
            "policyName": policy[0],
            "policyVersion": policy[1],
            "retentionTagName": point.retention_tag.value,
            "retentionTagVersion": str(_ticks(point.created_at)),
            "expiryTime": rfc3339(point.expires_at),
            "recoveryPointState": "Completed" if point.state is RecoveryPointState.COMMITTED else "Partial",
            "recoveryPointDataStoresDetails": [
                {
                    "id": friendly,
                    "type": "OperationalStore",
                    "creationTime": rfc3339(point.created_at),
                    "expiryTime": rfc3339(point.expires_at),
                    "metaData": point.snapshot_id,
                    "state": _STATE[point.state],
                    "visible": True,
                    # Snapshots are never archived, so never rehydrated: null, as Azure's are.
                    "rehydrationExpiryTime": None,
                    "rehydrationStatus": None,
                }
            ],
        },
    }


def _ticks(moment: datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01), the form Azure's retentionTagVersion takes."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return _TICKS_AT_EPOCH + (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


async def _instance(ctx: RequestContext) -> tuple[VaultRef, BackupInstance]:
    vault, _ = await load_vault(ctx)
    name = ctx.params["backupInstanceName"]
    instance = await ctx.api.store.get_instance(vault, name)
    if instance is None:
        raise _instance_not_found(vault, name)
    return vault, instance.value


def _instance_not_found(vault: VaultRef, name: str) -> NotFoundError:
    return NotFoundError(
        f"The backup instance '{name}' was not found in vault '{vault.name}'.",
        code="ResourceNotFound",
        target="backupInstanceName",
    )


@routes.get(paths.RECOVERY_POINT)
async def get_recovery_point(ctx: RequestContext) -> ApiResponse:
    vault, instance = await _instance(ctx)
    found = await ctx.api.store.get_recovery_point(vault, instance.name, ctx.params["recoveryPointId"])
    point = found.value if found else None
    if point is None or point.state is RecoveryPointState.DELETING:
        raise NotFoundError(
            f"The recovery point '{ctx.params['recoveryPointId']}' was not found.",
            code="ResourceNotFound",
            target="recoveryPointId",
        )
    return json_response(200, recovery_point_resource(vault, point, instance))


@routes.get(paths.RECOVERY_POINTS)
async def list_recovery_points(ctx: RequestContext) -> ApiResponse:
    filter_text = ctx.query("$filter")
    created_from = created_to = None
    for clause in parse_filter(filter_text, FILTER_FIELDS):
        moment = parse_time(clause.value)
        # Stored times are whole microseconds, so a strict bound is the inclusive one a tick in.
        if clause.field == "startDate":
            created_from = moment + _TICK if clause.op == "gt" else moment
        else:
            created_to = moment - _TICK if clause.op == "lt" else moment
    after = _after(ctx.query("$skipToken"))
    name = ctx.params["backupInstanceName"]
    store = ctx.api.store
    # The vault and the page need nothing from one another (keys are the names in the path): one
    # round trip's wait per page. A page of points names its instance and policy itself, so the
    # instance is read only when the page has none (to tell an empty list from a missing
    # instance) or holds a point stored before points recorded their policy.
    found_vault, found_page = await asyncio.gather(
        load_vault(ctx),
        store.recovery_points_page(
            ctx.vault,
            name,
            limit=ctx.api.page_size,
            after_id=after,
            created_from=created_from,
            created_to=created_to,
        ),
        return_exceptions=True,
    )
    if isinstance(found_vault, BaseException):
        raise found_vault
    if isinstance(found_page, BaseException):
        raise found_page
    vault, (points, more) = found_vault[0], found_page
    instance: BackupInstance | None = None
    if not points or any(point.policy_name is None for point in points):
        found_instance = await store.get_instance(ctx.vault, name)
        if found_instance is None:
            raise _instance_not_found(vault, name)
        instance = found_instance.value
    body: dict[str, Any] = {"value": [recovery_point_resource(vault, point, instance) for point in points]}
    if more:
        query = {"$skipToken": encode_skip_token(points[-1].id)}
        if filter_text:
            query["$filter"] = filter_text
        body["nextLink"] = ctx.url(paths.RECOVERY_POINTS.format(**ctx.params), query)
    return json_response(200, body)


def _after(token: str | None) -> str | None:
    """The last recovery point id a previous page served, from its ``$skipToken``."""
    after = decode_skip_token(token)
    if after is not None and not _POINT_ID.fullmatch(after):
        raise ValidationError(
            "The $skipToken is not one this API issued.",
            code="InvalidQueryParameterValue",
            target="$skipToken",
        )
    return after
