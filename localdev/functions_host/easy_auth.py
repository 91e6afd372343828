"""A stand-in for App Service Authentication ("Easy Auth") in front of the local host.

What the platform does, as far as the app can tell: it removes any ``X-MS-CLIENT-PRINCIPAL*`` and
``X-MS-TOKEN-*`` header a client sent (forgeries), validates the bearer token, and for a valid one
passes the principal in ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON with the token's claims and the app
roles assigned to the principal) and the token store's ARM token in
``X-MS-TOKEN-AAD-ACCESS-TOKEN``; a request without a valid token gets 401 (except anonymous
routes, which pass without a principal). The tokens it accepts are the Compute emulator's
(:mod:`localdev.compute_emulator.tokens`), so the forwarded ARM token is one the emulator honours,
and the app's linked checks ask the emulator as the caller.

What it does not do (untested against Entra): verify signatures (the emulator's tokens are
unsigned by design), refresh tokens, exchange the API token for an ARM token (here one token
serves both), or read app roles from the token itself (they are given per principal, as
Enterprise applications' role assignments are).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from localdev.compute_emulator.tokens import UNSIGNED

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
ARM_TOKEN_HEADER = "X-MS-TOKEN-AAD-ACCESS-TOKEN"
_STRIPPED_PREFIXES = ("x-ms-client-principal", "x-ms-token-")


@dataclass(frozen=True)
class EasyAuthStandIn:
    app_roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Object id (lower case) -> the app roles assigned to it in Enterprise applications."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Object id -> a display name for ``name`` (the object id when not given)."""

    @staticmethod
    def stripped(headers: Mapping[str, str]) -> dict[str, str]:
        """The headers without any principal or token a client sent (only the platform sets them)."""
        return {k: v for k, v in headers.items() if not k.lower().startswith(_STRIPPED_PREFIXES)}

    def principal_headers(self, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The request's headers as the app would get them, or ``None``: no valid bearer token."""
        kept = self.stripped(headers)
        token = _bearer(headers)
        claims = _claims(token) if token else None
        if token is None or claims is None:
            return None
        object_id = str(claims["oid"]).lower()
        principal_claims = [
            {"typ": "name", "val": self.names.get(object_id, object_id)},
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": object_id},
            {"typ": "http://schemas.microsoft.com/identity/claims/tenantid", "val": str(claims["tid"])},
            *({"typ": "roles", "val": role} for role in self.app_roles.get(object_id, ())),
        ]
        principal = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": principal_claims}
        kept[PRINCIPAL_HEADER] = base64.b64encode(json.dumps(principal).encode()).decode()
        kept[ARM_TOKEN_HEADER] = token
        return kept


def _bearer(headers: Mapping[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "authorization" and value[:7].lower() == "bearer ":
            return value[7:].strip() or None
    return None


def _claims(token: str) -> dict[str, object] | None:
    """The claims of an emulator-issued token that has not expired, else ``None``."""
    parts = token.split(".")
    if len(parts) != 3 or parts[2] != UNSIGNED:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict) or not claims.get("oid") or not claims.get("tid"):
        return None
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires <= time.time():
        return None
    return claims
