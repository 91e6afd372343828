"""Which vaults may act as which user-assigned identity: the deployer's bindings.

An identity attached to the app can hold rights no caller should borrow (a restore resource
group only it may write, a subscription of another team). So a vault may name a user-assigned
identity only where the deployer bound it (``VAULT_IDENTITY_BINDINGS``, a JSON object of identity
resource id to the scopes whose vaults may use it: vault ids, resource groups, subscriptions, or
``/``), and every ARM call made as that identity for a vault's instance checks the binding again:
a binding removed later stops the vault's backups and restores with
``UserErrorIdentityNotBoundToVault`` rather than letting them run on as the identity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from backup.domain.access import Scope
from backup.domain.instance import VaultRef
from backup.errors import AuthorizationError, ValidationError

NOT_BOUND = "UserErrorIdentityNotBoundToVault"
"""The error code of a vault using an identity the deployer did not bind to it."""


@dataclass(frozen=True)
class IdentityBindings:
    scopes: Mapping[str, tuple[Scope, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Identity resource id (lower case) -> the scopes whose vaults may use it."""

    @staticmethod
    def parse(text: str | None, setting: str = "VAULT_IDENTITY_BINDINGS") -> IdentityBindings:
        """The setting's JSON, or a ValueError naming the setting and what is wrong with it."""
        if text is None or not text.strip():
            return IdentityBindings()
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            raise ValueError(
                f"{setting} must be a JSON object of user-assigned identity resource id to a list of "
                "scopes (vault ids, resource groups, subscriptions or '/'), e.g. "
                '{"/subscriptions/.../userAssignedIdentities/id-a": '
                '["/subscriptions/.../resourceGroups/rg-a"]}'
            )
        scopes: dict[str, tuple[Scope, ...]] = {}
        for identity, allowed in raw.items():
            if not isinstance(identity, str) or "/userassignedidentities/" not in identity.lower():
                raise ValueError(f"{setting}: '{str(identity)[:200]}' is not a user-assigned identity id.")
            if not isinstance(allowed, list) or not all(isinstance(item, str) for item in allowed):
                raise ValueError(f"{setting}: the scopes of '{identity}' must be a list of strings.")
            try:
                scopes[identity.lower()] = tuple(Scope.parse(item) for item in allowed)
            except ValidationError as error:
                raise ValueError(f"{setting}: {error}") from None
        return IdentityBindings(MappingProxyType(scopes))

    def allows(self, identity: str, vault: VaultRef) -> bool:
        target = Scope.of_vault(vault)
        return any(scope.covers(target) for scope in self.scopes.get(identity.lower(), ()))

    def require(self, identity: str | None, vault: VaultRef, *, target: str | None = None) -> None:
        """Nothing for the app's own identity (``None``) or a bound one; else 403 naming both."""
        if identity is None or self.allows(identity, vault):
            return
        from backup.config import VAULT_IDENTITY_BINDINGS  # the setting's one name; config imports us

        raise AuthorizationError(
            f"The user-assigned identity '{identity}' is not bound to the backup vault '{vault.id}': "
            f"a deployer binds identities to vaults in the app setting {VAULT_IDENTITY_BINDINGS} "
            "(Bicep parameter vaultIdentityBindings); a vault cannot choose one it is not bound to.",
            code=NOT_BOUND,
            target=target,
        )
