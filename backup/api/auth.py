"""Who is calling, and what they may do.

The Functions key (auth level FUNCTION) lets a request in, always: with or without sign-in.
When App Service Authentication ("Easy Auth") is on, which the platform signals with
``WEBSITE_AUTH_ENABLED=true``, the front end validates the caller's token and passes the
principal in ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON: ``{"auth_typ", "name_typ", "role_typ",
"claims": [{"typ", "val"}]}``); it strips any such header a client sent. Without Easy Auth
nothing strips it, so the header is ignored and every key holder may do everything.

Fail closed: ``WEBSITE_AUTH_ENABLED`` is an app setting a person can also set by hand, and
nothing the code can see proves that Easy Auth really sits in front (every header it sends
can be forged when it does not). So the setting never lowers the Functions host's guard: the
key stays required with sign-in, and a forged principal gives a key holder, who may already do
everything, nothing more.

App roles (declared on the app registration, assigned to users, groups or service principals)
hold at a scope (:mod:`backup.domain.access`). A role in the token's ``roles`` claim holds at
``/``, everywhere: that keeps deployments that assign app roles working unchanged, and is how the
first owner exists before any role assignment does (assign ``BackupOwner`` in Entra to the
deployer). Narrower grants are role assignments stored by the app, made by an owner through
``.../providers/Microsoft.Authorization/roleAssignments/{id}`` at a vault, resource group or
subscription; they name the principal by its Entra object id (the token's ``oid`` claim) or a
group it belongs to (the ``groups`` claim).

========================  ==================================================================
``BackupReader``          GET anything, and the POSTs that only read: checkNameAvailability,
                          checkFeatureSupport, findRestorableTimeRanges, exportBackupJobs
``BackupOperator``        GET, update vaults, create/update/delete policies, configure
                          protection (and validateForBackup / validateForModifyBackup),
                          sync, on-demand backups, stop/suspend/resume; resource guards,
                          vault links to them, approvals on a guard (the guard's holder only)
``RestoreOperator``       GET and restore
``BackupOwner``           all of the above, and the owner's acts: create and delete vaults,
                          grant and revoke roles
========================  ==================================================================

Every role can read; only the owner implies the others. A key holder without Easy Auth is an
administrator: it holds ``BackupOwner`` everywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from backup.api.errors import AuthenticationError
from backup.config import WEBSITE_AUTH_ENABLED
from backup.domain.access import ALL_ROLES, Access, Role, implies
from backup.domain.resource_ids import GUID
from backup.errors import AuthorizationError

__all__ = [
    "ALL_ROLES",
    "API_AUTH_LEVEL",
    "KEY_HOLDER",
    "PRINCIPAL_HEADER",
    "Caller",
    "Role",
    "auth_enabled_from_env",
    "caller_from_headers",
]

AUTH_ENABLED_SETTING = WEBSITE_AUTH_ENABLED
PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
PRINCIPAL_NAME_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
_ROLE_CLAIM_TYPES = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
_OBJECT_ID_CLAIM_TYPES = ("oid", "http://schemas.microsoft.com/identity/claims/objectidentifier")
_GROUP_CLAIM_TYPES = ("groups",)
_NAME_CLAIM_TYPES = (
    "name",
    "preferred_username",
    "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "appid",
    "azp",
    "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "oid",
)


API_AUTH_LEVEL = func.AuthLevel.FUNCTION
"""How the Functions host guards every API route: a function key, whatever the sign-in setting
(see the module's "fail closed")."""


@dataclass(frozen=True)
class Caller:
    principal_name: str
    """Who started an operation, as jobs record it (``initiated_by``)."""
    roles: frozenset[Role]
    authenticated: bool = False
    """True when Easy Auth vouched for the principal; False for a key holder without Easy Auth."""
    principal_ids: frozenset[str] = frozenset()
    """The object ids role assignments may name: the principal's own and its groups', lower case."""

    def allows(self, role: Role) -> bool:
        """Whether an app role from the token grants ``role`` (everywhere)."""
        return any(implies(held, role) for held in self.roles)

    @property
    def app_wide_access(self) -> Access:
        """The token's app roles, each held at ``/``."""
        return Access.everywhere(self.roles)

    def require(self, role: Role, action: str = "this operation") -> None:
        if self.allows(role):
            return
        required = "any of the app roles BackupReader, BackupOperator, RestoreOperator or BackupOwner"
        if role is not Role.READER:
            required = f"the app role '{role.value}'"
        raise AuthorizationError(
            f"The client '{self.principal_name}' does not have authorization to perform {action}; "
            f"it needs {required}.",
            target=role.value,
            recommended_action=f"Ask an owner of the app's Entra application to assign {required} to "
            f"'{self.principal_name}' (Enterprise applications > the app > Users and groups), then sign in "
            "again so that the new role is in your token.",
        )


KEY_HOLDER = Caller("function-key", ALL_ROLES, authenticated=False)


def auth_enabled_from_env(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(AUTH_ENABLED_SETTING, "").strip().lower() == "true"


def caller_from_headers(headers: Mapping[str, str], *, auth_enabled: bool) -> Caller:
    """The caller, trusting the principal header only when Easy Auth is on (it then strips forgeries)."""
    if not auth_enabled:
        return KEY_HOLDER
    encoded = _header(headers, PRINCIPAL_HEADER)
    if not encoded:
        raise AuthenticationError(
            "App Service Authentication is enabled but the request carries no authenticated principal; "
            "send a bearer token for the app."
        )
    principal = _decode_principal(encoded)
    claims = [claim for claim in principal.get("claims") or [] if isinstance(claim, dict)]
    role_types = {str(principal.get("role_typ") or "roles"), *_ROLE_CLAIM_TYPES}
    known = {role.value.lower(): role for role in Role}
    roles = frozenset(
        known[str(claim.get("val", "")).lower()]
        for claim in claims
        if claim.get("typ") in role_types and str(claim.get("val", "")).lower() in known
    )
    principal_ids = frozenset(
        str(claim.get("val", "")).lower()
        for claim in claims
        if claim.get("typ") in (*_OBJECT_ID_CLAIM_TYPES, *_GROUP_CLAIM_TYPES)
        and GUID.fullmatch(str(claim.get("val", "")))
    )
    return Caller(
        _principal_name(principal, claims, headers), roles, authenticated=True, principal_ids=principal_ids
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _decode_principal(encoded: str) -> dict[str, Any]:
    try:
        padded = encoded.strip() + "=" * (-len(encoded.strip()) % 4)
        principal = json.loads(base64.b64decode(padded, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise AuthenticationError(f"The {PRINCIPAL_HEADER} header is not base64-encoded JSON.") from error
    if not isinstance(principal, dict):
        raise AuthenticationError(f"The {PRINCIPAL_HEADER} header is not a JSON object.")
    return principal


def _principal_name(
    principal: Mapping[str, Any], claims: list[dict[str, Any]], headers: Mapping[str, str]
) -> str:
    name_types = (str(principal.get("name_typ") or "name"), *_NAME_CLAIM_TYPES)
    for claim_type in name_types:
        for claim in claims:
            if claim.get("typ") == claim_type and str(claim.get("val", "")).strip():
                return str(claim["val"]).strip()[:256]
    return (_header(headers, PRINCIPAL_NAME_HEADER) or "unknown-principal").strip()[:256]
