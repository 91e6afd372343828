"""What a vault's ``identity`` shows: the principals its ARM calls are really made as.

Vaults have no identity of their own. A ``SystemAssigned`` vault's ARM calls are made as the app's
own identity, a ``UserAssigned`` identity's as that identity (attached to the app), so those are
the principals a vault shows: the object id ARM's role assignments name (``principalId``), its
tenant, and for user-assigned identities the client id. Granting the disk roles to the
``principalId`` a vault shows (as the portal's "add missing roles", ``az dataprotection
backup-instance update-msi-permissions`` and the Bicep quickstarts do) therefore grants them to
the caller ARM will judge.

Who an identity is comes from its own ARM access token
(:meth:`~backup.ports.ArmGateway.calling_principal`), learned once per identity. When the token
does not say (an opaque local token, a token without ``oid``/``tid``) or none could be had, the
vault shows no ``principalId`` rather than a made-up one: a grant to a wrong id would silently
land on nobody, while a missing one is visible (the gateway logs why).

The stored vault document keeps only what the caller chose (the type and the user-assigned
identity ids); the principals are filled in on every answer, so they follow the app's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from backup.domain.arm import ArmPrincipal
from backup.errors import AuthorizationError
from backup.ports import ArmGateway

_log = logging.getLogger(__name__)

SHOWN_FIELDS = ("principalId", "tenantId")
"""The read-only identity fields a vault's answer fills in (a stored document from before kept
a made-up ``principalId``; it is never shown)."""


def _user_identity(principal: ArmPrincipal) -> dict[str, str]:
    shown = {"principalId": principal.object_id}
    if principal.client_id:
        shown["clientId"] = principal.client_id
    return shown


class VaultIdentities:
    def __init__(self, arm: ArmGateway) -> None:
        self._arm = arm

    async def principal(self, identity: str | None) -> ArmPrincipal | None:
        """Who ARM calls made as ``identity`` (a user-assigned identity's id; ``None``: the app's)
        come from, or ``None`` when that is not known."""
        try:
            gateway = self._arm.for_identity(identity)
        except AuthorizationError as refused:
            _log.warning("the identity '%s' shows no principalId: %s", identity, refused)
            return None
        return await gateway.calling_principal()

    async def shown(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The vault resource as answered: ``document`` with its identity's principals filled in."""
        answer = dict(document)
        identity = document.get("identity")
        if not isinstance(identity, Mapping):
            return answer
        kind = str(identity.get("type") or "None")
        shown = {key: value for key, value in identity.items() if key not in SHOWN_FIELDS}
        if "SystemAssigned" in kind:
            app = await self.principal(None)
            if app is not None:
                shown["principalId"] = app.object_id
                shown["tenantId"] = app.tenant_id
        if "UserAssigned" in kind:
            users: dict[str, dict[str, str]] = {}
            for identity_id in identity.get("userAssignedIdentities") or {}:
                own = await self.principal(identity_id)
                users[identity_id] = {} if own is None else _user_identity(own)
            shown["userAssignedIdentities"] = users
        answer["identity"] = shown
        return answer
