"""The ARM gateway learns who it calls as from its own credential's token, once per identity;
a token that does not say is remembered as such, a token it could not get is asked for again."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from backup.adapters.compute import ARM_SCOPE, ComputeGateway
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.arm import ArmPrincipal
from localdev.compute_emulator.tokens import Principal, access_token

APP = Principal("a1111111-0000-4000-8000-0000000000a1")
OWN = Principal("a1111111-0000-4000-8000-0000000000b1", app_id="b1111111-0000-4000-8000-0000000000b1")
IDENTITY = (
    "/subscriptions/x/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/own"
)


class CountingCredential(AsyncStaticTokenCredential):
    """A static token that counts how often it is asked for, and may fail the first asks."""

    def __init__(self, token: str, failures: int = 0) -> None:
        super().__init__(token)
        self.scopes: list[tuple[str, ...]] = []
        self.failures = failures

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.failures:
            self.failures -= 1
            raise ClientAuthenticationError("ManagedIdentityCredential authentication unavailable")
        return await super().get_token(*scopes, **kwargs)


def arm_principal(principal: Principal) -> ArmPrincipal:
    return ArmPrincipal(principal.id, principal.tenant_id, principal.app_id)


async def test_the_principal_is_read_from_the_arm_token_once_per_identity() -> None:
    app, own = CountingCredential(access_token(APP)), CountingCredential(access_token(OWN))
    gateway = ComputeGateway(app, credential_for=lambda identity: own)
    for _ in range(3):
        assert await gateway.calling_principal() == arm_principal(APP)
        assert await gateway.for_identity(IDENTITY).calling_principal() == arm_principal(OWN)
    assert app.scopes == own.scopes == [(ARM_SCOPE,)]
    await gateway.close()


async def test_an_opaque_token_gives_no_principal_and_is_not_asked_again() -> None:
    opaque = CountingCredential("local-app-principal-token")
    gateway = ComputeGateway(opaque)
    assert await gateway.calling_principal() is None
    assert await gateway.calling_principal() is None
    assert len(opaque.scopes) == 1
    await gateway.close()


async def test_a_token_that_could_not_be_had_is_asked_for_again() -> None:
    flaky = CountingCredential(access_token(APP), failures=1)
    gateway = ComputeGateway(flaky)
    assert await gateway.calling_principal() is None
    assert await gateway.calling_principal() == arm_principal(APP)
    assert await gateway.calling_principal() == arm_principal(APP)
    assert len(flaky.scopes) == 2
    await gateway.close()
