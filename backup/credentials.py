"""Credentials for ARM calls.

In Azure the app uses managed identity through ``DefaultAzureCredential``. Offline, the
Compute emulator identifies callers by a static bearer token that names a principal it
knows, so local runs and tests use :class:`StaticTokenCredential` instead.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

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
