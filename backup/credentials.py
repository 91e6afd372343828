"""Credentials for ARM calls, and who an access token says its holder is.

In Azure the app uses managed identity through ``DefaultAzureCredential``. Offline, the
Compute emulator identifies callers by a static bearer token that names a principal it
knows, so local runs and tests use :class:`StaticTokenCredential` instead (the emulator's
tokens are JWT-shaped like Entra's, or opaque strings).

:func:`token_principal` reads the ``oid``/``tid``/``appid`` claims of an access token without
verifying its signature: the token comes from our own credential, over its own TLS, and is
read only to learn who we are, never to trust a caller.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

from backup.domain.arm import ArmPrincipal

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Long enough that azure-core never asks to refresh it during a run.
_STATIC_TOKEN_LIFETIME_SECONDS = 24 * 3600


class StaticTokenCredential:
    """A fixed bearer token, usable by both sync and aio SDK clients.

    azure-core awaits ``get_token`` only on async clients, so one class can serve both by
    offering the sync methods and the async ones under the names each side looks up.
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("StaticTokenCredential needs a non-empty token")
        self._token = token

    def _expires_on(self) -> int:
        return int(time.time()) + _STATIC_TOKEN_LIFETIME_SECONDS

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, self._expires_on())

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, self._expires_on())

    def close(self) -> None:
        return None


class AsyncStaticTokenCredential:
    """The aio twin of :class:`StaticTokenCredential`."""

    def __init__(self, token: str) -> None:
        self._sync = StaticTokenCredential(token)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._sync.get_token(*scopes, **kwargs)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return self._sync.get_token_info(*scopes, options=options)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def token_principal(token: str) -> ArmPrincipal:
    """The principal an Entra access token (a JWT) was issued to: its ``oid``, ``tid`` and
    ``appid`` (``azp`` in v2 tokens) claims.

    Raises ``ValueError`` saying why when the token is not a JWT or lacks a GUID ``oid`` or
    ``tid``; the message never contains the token.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"the access token is not a JWT ({len(parts)} dot-separated parts, a JWT has 3)")
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        raise ValueError("the access token's payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the access token's payload is not a JSON object")
    found = {name: claims.get(name) for name in ("oid", "tid")}
    missing = [
        name for name, value in found.items() if not (isinstance(value, str) and _GUID.fullmatch(value))
    ]
    if missing:
        raise ValueError(f"the access token has no GUID {' or '.join(missing)} claim")
    client = claims.get("appid") or claims.get("azp")
    return ArmPrincipal(
        object_id=str(found["oid"]).lower(),
        tenant_id=str(found["tid"]).lower(),
        client_id=str(client).lower() if isinstance(client, str) and client else None,
    )
