"""An in-memory ``CallerRights`` over the fake ARM: a token names a principal of the fake's
authorizer, whose permissions answer as the real permissions API does.
``tests/contracts/test_caller_rights_contract.py`` holds it to the real adapter on the emulator."""

from __future__ import annotations

from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId
from backup.errors import AuthorizationError
from tests.fakes.compute import FakeArm, FakeComputeGateway


class FakeCallerRights:
    def __init__(self, arm: FakeArm, tokens: dict[str, str] | None = None) -> None:
        self.arm = arm
        self.tokens = dict(tokens or {})
        """Access token -> principal (object id)."""

    async def missing(
        self, token: str, scope: ResourceGroupId | ComputeResourceId, actions: tuple[str, ...]
    ) -> list[str]:
        principal = self.tokens.get(token)
        if principal is None:
            # ARM answers 401 InvalidAuthenticationToken; the gateway maps 401 as 403 (AuthorizationError).
            raise AuthorizationError("The access token is invalid.", code="InvalidAuthenticationToken")
        return (await FakeComputeGateway(self.arm, principal).permissions(scope)).missing(actions)
