"""Resource guards, their approvals, and the link of a vault to a guard (multi-user authorization).

A guard and its approvals live in one partition per subscription (``_guards|{subscription}``):
the guard's row ``g|{rg}:{name}`` holds its record (the Azure resource and who holds a role on
it) as JSON; each approval is a row ``a|{rg}:{name}|{hash of the principal}``, so a new grant to
the same principal replaces the old one and deleting a guard removes its approvals in the same
transactions. A vault's link to a guard (its ``backupResourceGuardProxies`` child; Azure allows
one) is the row ``m|proxy`` of the vault's own partition, so deleting the vault removes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backup.adapters.tables import keys
from backup.adapters.tables.base import MAX_BATCH, TableStore, delete_op, etag_of, replace_op, upsert_op
from backup.domain.guards import GuardApproval, GuardRef
from backup.domain.instance import VaultRef
from backup.domain.records import Versioned

GUARD = "g"
APPROVAL = "a"
PROXY_ROW = "m|proxy"


def guard_partition(subscription_id: str) -> str:
    return f"_guards{keys.SEPARATOR}{keys.validated_subscription(subscription_id)}"


def guard_scope(guard: GuardRef) -> str:
    return (
        f"{keys.validated_name(guard.resource_group, what='resourceGroup')}:"
        f"{keys.validated_name(guard.name, what='resourceGuard')}"
    )


def guard_key(guard: GuardRef) -> str:
    return keys.row_key(GUARD, guard_scope(guard))


def approval_key(guard: GuardRef, principal: str) -> str:
    digest = hashlib.sha256(principal.casefold().encode()).hexdigest()[:40]
    return keys.row_key(APPROVAL, guard_scope(guard), digest)


def approval_range(guard: GuardRef) -> tuple[str, str]:
    prefix = keys.row_key(APPROVAL, guard_scope(guard)) + keys.SEPARATOR
    return prefix, prefix[:-1] + keys.RANGE_END


def approval_entity(guard: GuardRef, approval: GuardApproval) -> dict[str, Any]:
    return {
        "RowKey": approval_key(guard, approval.principal),
        "Principal": approval.principal,
        "GrantedBy": approval.granted_by,
        "GrantedAt": approval.granted_at.isoformat(),
        "ExpiresAt": approval.expires_at.isoformat(),
    }


def approval_from(entity: Mapping[str, Any]) -> GuardApproval:
    return GuardApproval(
        principal=str(entity["Principal"]),
        granted_by=str(entity["GrantedBy"]),
        granted_at=datetime.fromisoformat(str(entity["GrantedAt"])),
        expires_at=datetime.fromisoformat(str(entity["ExpiresAt"])),
    )


class GuardStore(TableStore):
    async def put_resource_guard(
        self, guard: GuardRef, record: Mapping[str, Any], etag: str | None = None
    ) -> str:
        """Create the guard's record (ConflictError when it exists) or, with ``etag``, replace it."""
        entity = {"RowKey": guard_key(guard), "DocumentJson": json.dumps(record)}
        return await self._write(
            guard_partition(guard.subscription_id),
            ("create", entity) if etag is None else replace_op(entity, etag),
        )

    async def get_resource_guard(self, guard: GuardRef) -> Versioned[Mapping[str, Any]] | None:
        entity = await self._point(guard_partition(guard.subscription_id), guard_key(guard))
        if entity is None:
            return None
        return Versioned(json.loads(entity["DocumentJson"]), etag_of(entity))

    async def list_resource_guards(
        self, subscription_id: str, resource_group: str | None = None
    ) -> list[tuple[str, Versioned[Mapping[str, Any]]]]:
        """``(row_key, record)`` of the subscription's guards (optionally one resource group's), by key."""
        scope = () if resource_group is None else (keys.validated_name(resource_group, what="resourceGroup"),)
        lower = keys.row_key(GUARD, *scope) + (":" if scope else keys.SEPARATOR)
        upper = lower[:-1] + (chr(ord(":") + 1) if scope else keys.RANGE_END)
        return [
            (str(entity["RowKey"]), Versioned(json.loads(entity["DocumentJson"]), etag_of(entity)))
            async for entity in self._range(guard_partition(subscription_id), lower, upper)
        ]

    async def delete_resource_guard(self, guard: GuardRef, etag: str) -> None:
        """Remove the guard (if unchanged since read), then its approvals."""
        partition = guard_partition(guard.subscription_id)
        await self._transact(partition, [delete_op(guard_key(guard), etag)])
        lower, upper = approval_range(guard)
        rows = [
            str(entity["RowKey"]) async for entity in self._range(partition, lower, upper, select=["RowKey"])
        ]
        for start in range(0, len(rows), MAX_BATCH):
            await self._transact(partition, [delete_op(row) for row in rows[start : start + MAX_BATCH]])

    async def put_guard_approval(self, guard: GuardRef, approval: GuardApproval) -> None:
        """Store the approval, replacing any earlier one of the same principal on this guard."""
        await self._write(guard_partition(guard.subscription_id), upsert_op(approval_entity(guard, approval)))

    async def list_guard_approvals(self, guard: GuardRef) -> list[GuardApproval]:
        lower, upper = approval_range(guard)
        return [
            approval_from(entity)
            async for entity in self._range(guard_partition(guard.subscription_id), lower, upper)
        ]

    async def put_guard_proxy(
        self, vault: VaultRef, document: Mapping[str, Any], etag: str | None = None
    ) -> str:
        """Link the vault (ConflictError when it is linked already) or, with ``etag``, replace the link."""
        entity = {"RowKey": PROXY_ROW, "DocumentJson": json.dumps(document)}
        return await self._write(
            self.partition(vault), ("create", entity) if etag is None else replace_op(entity, etag)
        )

    async def get_guard_proxy(self, vault: VaultRef) -> Versioned[Mapping[str, Any]] | None:
        entity = await self._point(self.partition(vault), PROXY_ROW)
        if entity is None:
            return None
        return Versioned(json.loads(entity["DocumentJson"]), etag_of(entity))

    async def delete_guard_proxy(self, vault: VaultRef, etag: str) -> None:
        await self._transact(self.partition(vault), [delete_op(PROXY_ROW, etag)])
