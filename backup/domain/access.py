"""Who may do what, where: the app's roles held at a scope, and the one decision over them.

A role holds at a scope, as Azure RBAC does: everything (``/``), one subscription, one resource
group (every vault in it) or one backup vault. A grant at a scope covers every scope under it.
The decision is pure: the caller's grants (from the token's app roles and the stored role
assignments, resolved by the API) against the scope a request names.

=====================  =========================================================================
``BackupReader``       read the vaults in scope (GETs, and the POSTs that only read)
``BackupOperator``     configure and run backups in scope: update vaults, policies, protection,
                       on-demand backups, stop/suspend/resume
``RestoreOperator``    restore from the vaults in scope
``BackupOwner``        everything the other three may do, and the owner's acts: create and
                       delete vaults, grant and revoke roles, in scope
=====================  =========================================================================

Every role can read where it holds; only ``BackupOwner`` implies the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from backup.domain.instance import VaultRef
from backup.domain.resource_ids import DATAPROTECTION_NAME_PATTERN, GUID_TEXT, RESOURCE_GROUP_NAME_PATTERN
from backup.errors import ValidationError


class Role(StrEnum):
    READER = "BackupReader"
    OPERATOR = "BackupOperator"
    RESTORE_OPERATOR = "RestoreOperator"
    OWNER = "BackupOwner"


ALL_ROLES = frozenset(Role)


def _inner(pattern: str) -> str:
    return pattern.removeprefix("^").removesuffix("$")


_SCOPE = re.compile(
    f"^(?:/|/subscriptions/(?P<sub>{GUID_TEXT})"
    f"(?:/resourceGroups/(?P<rg>{_inner(RESOURCE_GROUP_NAME_PATTERN)})"
    f"(?:/providers/Microsoft\\.DataProtection/backupVaults/(?P<vault>{_inner(DATAPROTECTION_NAME_PATTERN)}))?)?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scope:
    """Everything, a subscription, a resource group, or a vault; names compare case-insensitively."""

    subscription_id: str | None = None
    resource_group: str | None = None
    vault: str | None = None

    @staticmethod
    def parse(text: str) -> Scope:
        """A scope as ARM writes it (``/``, ``/subscriptions/{s}``, ``.../resourceGroups/{rg}``,
        or a backup vault's id), or a 400 naming the problem."""
        match = _SCOPE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(
                f"'{str(text)[:200]}' is not a scope roles can be assigned at: '/', "
                "'/subscriptions/{id}', '/subscriptions/{id}/resourceGroups/{name}', or a backup vault's id.",
                code="InvalidRoleAssignmentScope",
                target="scope",
            )
        return Scope(match.group("sub"), match.group("rg"), match.group("vault"))

    @staticmethod
    def of_vault(vault: VaultRef) -> Scope:
        return Scope(vault.subscription_id, vault.resource_group, vault.name)

    @property
    def id(self) -> str:
        if self.subscription_id is None:
            return "/"
        text = f"/subscriptions/{self.subscription_id}"
        if self.resource_group is not None:
            text += f"/resourceGroups/{self.resource_group}"
            if self.vault is not None:
                text += f"/providers/Microsoft.DataProtection/backupVaults/{self.vault}"
        return text

    @property
    def parts(self) -> tuple[str, ...]:
        """The non-empty names, lower case, outermost first (``()`` for everything)."""
        return tuple(
            part.lower()
            for part in (self.subscription_id, self.resource_group, self.vault)
            if part is not None
        )

    def covers(self, other: Scope) -> bool:
        """Whether a grant here applies there (the same scope, or one under it)."""
        mine = self.parts
        return other.parts[: len(mine)] == mine

    def ancestry(self) -> tuple[Scope, ...]:
        """This scope and every scope that covers it, outermost first (where grants that apply here live)."""
        names = (self.subscription_id, self.resource_group, self.vault)
        depth = len(self.parts)
        return tuple(Scope(*names[:level], *([None] * (3 - level))) for level in range(depth + 1))

    def __str__(self) -> str:
        return self.id


EVERYTHING = Scope()


def implies(held: Role, wanted: Role) -> bool:
    """Whether holding one role grants another: every role reads; the owner does everything."""
    return held is wanted or held is Role.OWNER or wanted is Role.READER


@dataclass(frozen=True)
class Grant:
    role: Role
    scope: Scope


@dataclass(frozen=True)
class Access:
    """What one caller holds: its grants, and the decisions every route asks of them."""

    grants: frozenset[Grant]

    @staticmethod
    def everywhere(roles: Iterable[Role]) -> Access:
        return Access(frozenset(Grant(role, EVERYTHING) for role in roles))

    def with_grants(self, grants: Iterable[Grant]) -> Access:
        return Access(self.grants | frozenset(grants))

    def allows(self, role: Role, scope: Scope) -> bool:
        """Whether the caller holds ``role`` (or one implying it) at ``scope`` or above."""
        return any(implies(grant.role, role) and grant.scope.covers(scope) for grant in self.grants)

    def reaches(self, role: Role, scope: Scope) -> bool:
        """Whether the caller holds ``role`` anywhere in or above ``scope``: may it ask for a list
        there at all (what the list then shows is :meth:`sees` of each item)."""
        return any(
            implies(grant.role, role) and (grant.scope.covers(scope) or scope.covers(grant.scope))
            for grant in self.grants
        )

    def sees(self, vault: VaultRef) -> bool:
        return self.allows(Role.READER, Scope.of_vault(vault))

    def visible(self, vaults: Iterable[VaultRef]) -> list[VaultRef]:
        """The vaults of a listing the caller may see, in the listing's order."""
        return [vault for vault in vaults if self.sees(vault)]

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.grants)

    def listing_plan(self, target: Scope) -> ListingPlan:
        """What a list over ``target`` (a subscription or a resource group) must read to show
        every vault the caller sees there, and no more: the whole scope when a grant covers it,
        else only the resource groups and vaults granted inside it (so a principal with one vault
        in a subscription of thousands reads one registry row, not thousands)."""
        if self.allows(Role.READER, target):
            return ListingPlan(whole=True)
        inside = [
            grant.scope for grant in self.grants if target.covers(grant.scope) and grant.scope != target
        ]
        groups = sorted({scope.parts[1] for scope in inside if scope.vault is None and scope.resource_group})
        vaults = sorted({(scope.parts[1], scope.parts[2]) for scope in inside if scope.vault is not None})
        return ListingPlan(
            whole=False,
            groups=tuple(groups),
            vaults=tuple(pair for pair in vaults if pair[0] not in groups),
        )


@dataclass(frozen=True)
class ListingPlan:
    whole: bool
    """Read the whole scope (a grant covers it)."""
    groups: tuple[str, ...] = ()
    """Else: the resource groups (lower case) to read whole."""
    vaults: tuple[tuple[str, str], ...] = ()
    """And the single vaults (resource group, vault; lower case) outside those groups."""


ROLE_DEFINITION_IDS: dict[Role, str] = {
    Role.READER: "79455755-f0d1-5d10-a05e-5d2d91c63c9b",
    Role.OPERATOR: "37b09aef-9445-5726-a29a-30f6dabff511",
    Role.RESTORE_OPERATOR: "5c21e869-dde0-5190-a7c4-5a92e47345d7",
    Role.OWNER: "5681151f-e41d-523f-b554-bfee23487eff",
}
"""The app's role definitions, as ``roleDefinitionId``'s last segment names them. Fixed GUIDs
(uuid5 of ``azure-disk-backup/roles/{role}``) of this product's own definitions: Azure's
built-in Backup roles mean other things, so none of their ids is reused."""
_ROLE_BY_DEFINITION = {guid: role for role, guid in ROLE_DEFINITION_IDS.items()}
_DEFINITION_ID = re.compile(
    f"^(?:/subscriptions/{GUID_TEXT})?/providers/Microsoft\\.Authorization/roleDefinitions/(?P<guid>{GUID_TEXT})$",
    re.IGNORECASE,
)
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
"""Azure's ``principalType`` values; stored and echoed (the grant applies to the principal id alone)."""


def role_definition_id(role: Role, scope: Scope) -> str:
    """The id Azure would write: under the scope's subscription, or tenant-level for ``/``."""
    prefix = f"/subscriptions/{scope.subscription_id}" if scope.subscription_id else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_DEFINITION_IDS[role]}"


def role_of_definition(definition_id: object) -> Role:
    """The app role a ``roleDefinitionId`` names, or a 400 listing the ones that exist."""
    match = _DEFINITION_ID.fullmatch(definition_id) if isinstance(definition_id, str) else None
    role = _ROLE_BY_DEFINITION.get(match.group("guid").lower()) if match else None
    if role is None:
        known = ", ".join(f"{guid} ({role.value})" for role, guid in ROLE_DEFINITION_IDS.items())
        raise ValidationError(
            f"'{str(definition_id)[:200]}' is not a role definition of this app; "
            f"use /providers/Microsoft.Authorization/roleDefinitions/{{id}} with one of: {known}.",
            code="RoleDefinitionDoesNotExist",
            target="properties.roleDefinitionId",
        )
    return role


@dataclass(frozen=True)
class RoleAssignment:
    """One stored grant: a principal (by object id) holds a role at a scope."""

    name: str
    """The assignment's GUID, lower case."""
    scope: Scope
    role: Role
    principal_id: str
    """The principal's Entra object id (a user, a group or a service principal), lower case."""
    principal_type: str
    created_on: str
    """RFC 3339, as ARM shows it."""
    created_by: str

    @property
    def id(self) -> str:
        return assignment_id(self.scope, self.name)

    @property
    def grant(self) -> Grant:
        return Grant(self.role, self.scope)


def assignment_id(scope: Scope, name: str) -> str:
    base = "" if scope.subscription_id is None else scope.id
    return f"{base}/providers/Microsoft.Authorization/roleAssignments/{name}"
