"""The caller's own rights, asked of ARM as the caller (the ``CallerRights`` port).

A gateway is built per question over the caller's token (``AsyncStaticTokenCredential``: the
token is the caller's, not the app's, and is never cached beyond the request), and asks ARM's
permissions API at the scope, exactly as the app asks for itself. Unpaced: the budget is the
app's (per principal), and these calls are the caller's.
"""

from __future__ import annotations

from backup.adapters.compute import ComputeGateway
from backup.config import Settings
from backup.credentials import AsyncStaticTokenCredential
from backup.domain.resource_ids import ComputeResourceId, ResourceGroupId


class ArmCallerRights:
    def __init__(self, settings: Settings, *, retry_total: int = 1) -> None:
        self._endpoint = settings.arm_endpoint
        self._ca_bundle = settings.arm_ca_bundle
        self._retry_total = retry_total

    async def missing(
        self, token: str, scope: ResourceGroupId | ComputeResourceId, actions: tuple[str, ...]
    ) -> list[str]:
        gateway = ComputeGateway(
            AsyncStaticTokenCredential(token),
            endpoint=self._endpoint,
            ca_bundle=self._ca_bundle,
            retry_total=self._retry_total,
        )
        try:
            return (await gateway.permissions(scope)).missing(actions)
        finally:
            await gateway.close()
