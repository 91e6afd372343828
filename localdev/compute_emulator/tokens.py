"""The emulator's principals and the access tokens it issues them, shaped like Entra ID's.

Each principal has an object id (``oid``, what role assignments name), a tenant (``tid``) and an
application (client) id (``appid``). Its access token is a JWT as Entra issues for ARM: a header,
a payload carrying ``aud``, ``iss``, ``iat``/``nbf``/``exp``, ``oid``, ``sub``, ``tid``, ``appid``,
``appidacr``, ``idtyp`` and ``ver``, and a signature. Nothing here signs anything: the header says
``"alg": "none"`` and the signature part is a fixed marker. A client that reads the claims (as the
product does to learn who it calls ARM as) reads them exactly as it would from Entra's token.

Tokens are a pure function of the principal, so a seed, a settings file or a test can hold one
without asking a running emulator (:func:`access_token`). Their times are fixed (issued
2026-01-01, expiring 2100-01-01): the emulator's clock is moved by tests, and an expiry on it
would make tokens lapse mid-run. The emulator accepts a JWT only if it issued it to a principal
it knows (the same tenant and application id too), as it accepts an opaque token only if a
principal was given it.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

EMULATOR_TENANT_ID = "4f1e8a2c-7b3d-4e59-a1c6-0d9b8e7f6a52"
"""The tenant of principals that do not name one."""
ARM_AUDIENCE = "https://management.azure.com/"
UNSIGNED = "emulator-unsigned"
"""The signature part of every issued token: a marker, not a signature."""
_ISSUED_AT = 1767225600  # 2026-01-01T00:00:00Z
_EXPIRES_AT = 4102444800  # 2100-01-01T00:00:00Z
_APP_ID_NAMESPACE = uuid.UUID("0c5b3f9e-2d71-4a8e-b6f4-93e1d7a2c850")


def default_app_id(object_id: str) -> str:
    """A principal's application (client) id when the seed gives none: stable, and not its
    object id (in Entra the two differ, and the product must not confuse them)."""
    return str(uuid.uuid5(_APP_ID_NAMESPACE, object_id.lower()))


@dataclass(frozen=True)
class Principal:
    """A service principal (an app registration's or a managed identity's) in the emulated tenant."""

    id: str
    """The object id (``oid``)."""
    tenant_id: str = EMULATOR_TENANT_ID
    app_id: str = ""
    """The application (client) id (``appid``); :func:`default_app_id` when empty."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.id.lower())
        object.__setattr__(self, "tenant_id", self.tenant_id.lower())
        object.__setattr__(self, "app_id", (self.app_id or default_app_id(self.id)).lower())

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Principal:
        """From a seed's or the admin API's ``{"id", "tenantId"?, "appId"?}``."""
        return cls(
            str(doc["id"]), str(doc.get("tenantId") or EMULATOR_TENANT_ID), str(doc.get("appId") or "")
        )

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "tenantId": self.tenant_id, "appId": self.app_id}


def claims(principal: Principal) -> dict[str, Any]:
    """The payload of the principal's ARM access token, as Entra's v1 tokens for an app carry it."""
    return {
        "aud": ARM_AUDIENCE,
        "iss": f"https://sts.windows.net/{principal.tenant_id}/",
        "iat": _ISSUED_AT,
        "nbf": _ISSUED_AT,
        "exp": _EXPIRES_AT,
        "aio": "emulator",
        "appid": principal.app_id,
        "appidacr": "2",
        "idp": f"https://sts.windows.net/{principal.tenant_id}/",
        "idtyp": "app",
        "oid": principal.id,
        "rh": "emulator",
        "sub": principal.id,
        "tid": principal.tenant_id,
        "uti": "emulator",
        "ver": "1.0",
    }


def _part(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def access_token(principal: Principal) -> str:
    """The principal's ARM access token: ``header.payload.signature``, base64url without padding."""
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims(principal))}.{UNSIGNED}"


def read_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, or None when it is not one (tests read tokens with it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
