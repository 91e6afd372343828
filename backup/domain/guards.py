"""Multi-user authorization (MUA): resource guards, the vaults linked to them, and approvals.

Azure's model: a security administrator owns a ``resourceGuards`` resource; a backup vault is
linked to it by a ``backupResourceGuardProxies`` child (one per vault). While linked, the vault's
critical operations (:class:`~backup.domain.vault_security.CriticalOperation`, less those in the
guard's ``vaultCriticalOperationExclusionList``) need the requester to hold a role on the guard;
in Azure that role is granted just in time (PIM), for a bounded time, by someone else who holds
a role on the guard. Here the guard's holder is the principal that created it (a standing role,
stored with the guard); an approval is a time-bound grant to one requester, stored by the app,
that its requester cannot have granted themselves. Pure: no I/O; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

GUARD_TYPE: Final = "Microsoft.DataProtection/resourceGuards"
PROXY_TYPE: Final = "Microsoft.DataProtection/vaults/backupResourceGuardProxies"
"""As Azure's PutResourceGuardProxy example spells it (``vaults``, not ``backupVaults``)."""
MAX_APPROVAL: Final = timedelta(hours=24)
"""The longest an approval lasts (a PIM activation's usual ceiling is 24 hours)."""


@dataclass(frozen=True)
class GuardRef:
    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DataProtection/resourceGuards/{self.name}"
        )

    @classmethod
    def parse(cls, resource_id: str) -> GuardRef | None:
        parts = resource_id.strip("/").split("/")
        if (
            len(parts) != 8
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or parts[5].lower() != "microsoft.dataprotection"
            or parts[6].lower() != "resourceguards"
        ):
            return None
        return cls(parts[1], parts[3], parts[7])

    def same(self, other: GuardRef) -> bool:
        return self.id.casefold() == other.id.casefold()


@dataclass(frozen=True)
class GuardApproval:
    """A time-bound role on a guard for ``principal``, granted by ``granted_by``."""

    principal: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime

    def active(self, principal: str, now: datetime) -> bool:
        return (
            self.principal.casefold() == principal.casefold()
            and self.granted_by.casefold() != principal.casefold()
            and self.granted_at <= now < self.expires_at
        )


def holds_role(holders: Iterable[str], principal: str) -> bool:
    return any(holder.casefold() == principal.casefold() for holder in holders)


@dataclass(frozen=True)
class GrantRefusal:
    reason: str
    forbidden: bool
    """True when the granter may not grant at all (403); False when the request is malformed (400)."""


def refused_grant(
    holders: Iterable[str], granter: str, requester: str, duration: timedelta
) -> GrantRefusal | None:
    """Why ``granter`` may not approve ``requester`` for ``duration``, or ``None``."""
    if not holds_role(holders, granter):
        return GrantRefusal(
            f"'{granter}' holds no role on this resource guard and cannot approve requests on it.", True
        )
    if granter.casefold() == requester.casefold():
        return GrantRefusal(
            "A request must be approved by another principal than the one who makes it.", True
        )
    if not timedelta(0) < duration <= MAX_APPROVAL:
        return GrantRefusal(
            f"An approval lasts more than zero and at most {MAX_APPROVAL} (asked: {duration}).", False
        )
    return None


def active_approval(
    approvals: Iterable[GuardApproval], principal: str, now: datetime
) -> GuardApproval | None:
    """The approval that lets ``principal`` perform critical operations now, the one lasting longest."""
    active = [approval for approval in approvals if approval.active(principal, now)]
    return max(active, key=lambda approval: approval.expires_at, default=None)
