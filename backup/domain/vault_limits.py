"""A vault's scope limits: where its instances' disks and its restores' targets may be.

An owner bounds what any caller may name through a vault, key holders included: the resource
groups or subscriptions its protected disks may come from (``datasourceScopes``) and the ones its
restores may create disks in (``restoreTargetScopes``). A list not set leaves that side
unbounded (as before the limits existed); an empty list allows nothing. With Entra sign-in the
linked checks (:mod:`backup.api.linked_checks`) bound each caller by its own Azure rights too; a
function key has no Azure rights to check, so for key holders these limits are the bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backup.domain.access import Scope
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError, ValidationError

OUTSIDE_LIMITS = "UserErrorOutsideVaultScopeLimits"
FIELDS = ("datasourceScopes", "restoreTargetScopes")


@dataclass(frozen=True)
class VaultLimits:
    datasource_scopes: tuple[Scope, ...] | None = None
    restore_target_scopes: tuple[Scope, ...] | None = None

    @staticmethod
    def parse(body: object) -> VaultLimits:
        """``{"datasourceScopes": [...], "restoreTargetScopes": [...]}`` (each optional), or a 400."""
        if not isinstance(body, Mapping):
            raise ValidationError("The request content must be a JSON object.", code="InvalidRequestContent")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise ValidationError(
                f"'{unknown[0]}' is not a scope limit; use {' and '.join(FIELDS)}.",
                code="InvalidRequestContent",
                target=unknown[0],
            )
        return VaultLimits(_scopes(body, FIELDS[0]), _scopes(body, FIELDS[1]))

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name, scopes in zip(FIELDS, (self.datasource_scopes, self.restore_target_scopes), strict=True):
            if scopes is not None:
                shown[name] = [scope.id for scope in scopes]
        return shown

    def check_datasource(self, disk: ComputeResourceId, *, target: str) -> None:
        _check(
            self.datasource_scopes, disk.subscription_id, disk.resource_group, str(disk), FIELDS[0], target
        )

    def check_restore_target(self, group: ResourceGroupId, *, target: str) -> None:
        _check(
            self.restore_target_scopes,
            group.subscription_id,
            group.resource_group,
            str(group),
            FIELDS[1],
            target,
        )


def _scopes(body: Mapping[str, Any], name: str) -> tuple[Scope, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(
            f"'{name}' must be a list of strings.", code="InvalidRequestContent", target=name
        )
    scopes = []
    for item in value:
        scope = Scope.parse(item)
        if scope.vault is not None:
            raise ValidationError(
                f"'{item}' is a vault; {name} are resource group or subscription ids (or '/').",
                code="InvalidRoleAssignmentScope",
                target=name,
            )
        scopes.append(scope)
    return tuple(scopes)


def _check(
    scopes: tuple[Scope, ...] | None, subscription: str, group: str, named: str, field: str, target: str
) -> None:
    if scopes is None or any(scope.covers(Scope(subscription, group)) for scope in scopes):
        return
    allowed = ", ".join(scope.id for scope in scopes) or "nothing"
    raise AuthorizationError(
        f"'{named}' is outside this vault's {field} ({allowed}); an owner of the vault sets them "
        "with PUT .../backupVaults/{vault}/scopeLimits under /x/.",
        code=OUTSIDE_LIMITS,
        target=target,
    )
