"""The deployer's identity bindings (``VAULT_IDENTITY_BINDINGS``): how the setting reads, what a
binding covers, and the refusal a vault gets for an identity not bound to it."""

from __future__ import annotations

import json

import pytest

from backup.config import VAULT_IDENTITY_BINDINGS, Settings
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.instance import VaultRef
from backup.errors import AuthorizationError

SUB = "00000000-0000-0000-0000-0000000000ab"
IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a"
)
VAULT_A = VaultRef(SUB, "rg-a", "vault-a")
VAULT_A2 = VaultRef(SUB, "rg-a", "vault-a2")
VAULT_B = VaultRef(SUB, "rg-b", "vault-b")


def test_unset_binds_nothing_and_the_apps_own_identity_needs_no_binding() -> None:
    bindings = Settings.from_env({}).identity_bindings
    assert bindings == IdentityBindings()
    assert not bindings.allows(IDENTITY, VAULT_A)
    bindings.require(None, VAULT_A)
    with pytest.raises(AuthorizationError) as refused:
        bindings.require(IDENTITY, VAULT_A)
    assert refused.value.code == "UserErrorIdentityNotBoundToVault"
    assert IDENTITY in str(refused.value)
    assert VAULT_IDENTITY_BINDINGS in str(refused.value)


def test_a_binding_covers_its_scopes_vaults_whatever_the_case() -> None:
    text = json.dumps({IDENTITY.upper(): [VAULT_B.id, f"/subscriptions/{SUB}/resourceGroups/RG-A"]})
    bindings = Settings.from_env({VAULT_IDENTITY_BINDINGS: text}).identity_bindings
    for vault in (VAULT_A, VAULT_A2, VAULT_B):
        assert bindings.allows(IDENTITY, vault)
        bindings.require(IDENTITY.lower(), vault)
    assert not bindings.allows(IDENTITY, VaultRef(SUB, "rg-c", "vault-c"))
    assert not bindings.allows(IDENTITY.replace("id-a", "id-b"), VAULT_A)
    everywhere = IdentityBindings.parse(json.dumps({IDENTITY: ["/"]}))
    assert everywhere.allows(IDENTITY, VaultRef("11111111-0000-0000-0000-000000000000", "x", "y"))
    nowhere = IdentityBindings.parse(json.dumps({IDENTITY: []}))
    assert not nowhere.allows(IDENTITY, VAULT_A)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"/subscriptions/x/providers/Microsoft.Compute/disks/d": ["/"]}),
        json.dumps({IDENTITY: "/"}),
        json.dumps({IDENTITY: [1]}),
        json.dumps({IDENTITY: ["/subscriptions/not-a-guid"]}),
    ],
)
def test_a_malformed_setting_stops_the_app_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match=VAULT_IDENTITY_BINDINGS):
        Settings.from_env({VAULT_IDENTITY_BINDINGS: text})
