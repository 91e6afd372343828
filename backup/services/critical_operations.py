"""Multi-user authorization at work: is this critical operation approved for this requester?

A vault without a link to a resource guard needs nothing. A linked vault's critical operation
(:class:`~backup.domain.vault_security.CriticalOperation`) passes only when the guard excludes it
(``vaultCriticalOperationExclusionList``) or the requester holds an active approval on the guard
(:mod:`backup.domain.guards`): granted by another principal who holds a role on the guard, not
yet expired. A guard that no longer exists protects nothing, as in Azure. Refusals are 403
``LinkedAuthorizationFailed``, ARM's code for a failed check on a linked resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from backup.domain.clock import Clock
from backup.domain.guards import GuardApproval, GuardRef, active_approval, refused_grant
from backup.domain.instance import VaultRef
from backup.domain.vault_security import ALWAYS_GUARDED, CriticalOperation
from backup.errors import AuthorizationError, NotFoundError, ValidationError
from backup.ports import VaultStore

LINKED_AUTHORIZATION_FAILED = "LinkedAuthorizationFailed"


def guard_of_proxy(document: Mapping[str, Any]) -> GuardRef | None:
    properties = document.get("properties")
    resource_id = properties.get("resourceGuardResourceId") if isinstance(properties, Mapping) else None
    return GuardRef.parse(resource_id) if isinstance(resource_id, str) else None


def guard_holders(record: Mapping[str, Any]) -> list[str]:
    holders = record.get("holders")
    return [str(holder) for holder in holders] if isinstance(holders, list) else []


def guard_resource(record: Mapping[str, Any]) -> Mapping[str, Any]:
    resource = record.get("resource")
    return resource if isinstance(resource, Mapping) else {}


def excluded_operations(record: Mapping[str, Any]) -> set[str]:
    properties = guard_resource(record).get("properties")
    excluded = (
        properties.get("vaultCriticalOperationExclusionList") if isinstance(properties, Mapping) else None
    )
    return {str(item).casefold() for item in excluded} if isinstance(excluded, list) else set()


class CriticalOperationGate:
    def __init__(self, store: VaultStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def require(self, vault: VaultRef, operation: CriticalOperation, requester: str) -> None:
        """Raise 403 unless ``requester`` may perform ``operation`` on ``vault`` now."""
        proxy = await self._store.get_guard_proxy(vault)
        if proxy is None:
            return
        guard = guard_of_proxy(proxy.value)
        record = await self._store.get_resource_guard(guard) if guard is not None else None
        if guard is None or record is None:
            return
        if operation not in ALWAYS_GUARDED and operation.value.casefold() in excluded_operations(
            record.value
        ):
            return
        approvals = await self._store.list_guard_approvals(guard)
        if active_approval(approvals, requester, self._clock.now()) is not None:
            return
        raise AuthorizationError(
            f"The operation '{operation.value}' on vault '{vault.name}' is protected by the resource guard "
            f"'{guard.id}'. '{requester}' needs an active approval on that guard, granted by another "
            "principal who holds a role on it (POST .../resourceGuards/{name}/approvals under /api/x/).",
            code=LINKED_AUTHORIZATION_FAILED,
            target="resourceGuardOperationRequests",
        )

    async def approval_of(self, vault: VaultRef, requester: str) -> GuardApproval | None:
        """The requester's active approval on the vault's guard (``unlockDelete`` answers its expiry)."""
        proxy = await self._store.get_guard_proxy(vault)
        guard = guard_of_proxy(proxy.value) if proxy is not None else None
        if guard is None:
            return None
        return active_approval(await self._store.list_guard_approvals(guard), requester, self._clock.now())

    async def grant(
        self, guard: GuardRef, granter: str, requester: str, duration: timedelta
    ) -> GuardApproval:
        """Store a time-bound approval for ``requester``, granted by ``granter`` (a holder, not them)."""
        record = await self._store.get_resource_guard(guard)
        if record is None:
            raise NotFoundError(
                f"The resource guard '{guard.name}' was not found in resource group "
                f"'{guard.resource_group}'.",
                code="ResourceNotFound",
                target="resourceGuardsName",
            )
        refused = refused_grant(guard_holders(record.value), granter, requester, duration)
        if refused is not None and refused.forbidden:
            raise AuthorizationError(refused.reason, code=LINKED_AUTHORIZATION_FAILED, target="principalName")
        if refused is not None:
            raise ValidationError(refused.reason, code="InvalidRequestContent", target="durationInMinutes")
        now = self._clock.now()
        approval = GuardApproval(requester, granter, now, now + duration)
        await self._store.put_guard_approval(guard, approval)
        return approval
