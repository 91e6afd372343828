"""Who the caller is: the Easy Auth principal header is trusted only when Easy Auth is on."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from backup.api.auth import KEY_HOLDER, Caller, Role, auth_enabled_from_env, caller_from_headers
from backup.api.errors import AuthenticationError
from backup.errors import AuthorizationError
from tests.unit.api.test_router import VAULT_PATH, call


def principal(*roles: str, name: str = "alice@contoso.com", role_typ: str = "roles") -> str:
    claims: list[dict[str, Any]] = [{"typ": "name", "val": name}]
    claims += [{"typ": role_typ, "val": role} for role in roles]
    document = {"auth_typ": "aad", "name_typ": "name", "role_typ": role_typ, "claims": claims}
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_without_easy_auth_a_forged_principal_is_ignored() -> None:
    caller = caller_from_headers({"X-MS-CLIENT-PRINCIPAL": principal()}, auth_enabled=False)
    assert caller is KEY_HOLDER
    assert all(caller.allows(role) for role in Role)


@pytest.mark.parametrize(
    ("value", "enabled"), [("true", True), ("True", True), ("false", False), ("", False)]
)
def test_auth_is_enabled_only_by_website_auth_enabled_true(value: str, enabled: bool) -> None:
    assert auth_enabled_from_env({"WEBSITE_AUTH_ENABLED": value}) is enabled
    assert auth_enabled_from_env({}) is False


def test_with_easy_auth_roles_and_name_come_from_the_principal() -> None:
    caller = caller_from_headers({"x-ms-client-principal": principal("BackupOperator")}, auth_enabled=True)
    assert caller == Caller("alice@contoso.com", frozenset({Role.OPERATOR}), authenticated=True)
    assert caller.allows(Role.READER)
    assert caller.allows(Role.OPERATOR)
    assert not caller.allows(Role.RESTORE_OPERATOR)


def test_the_long_role_claim_type_is_understood() -> None:
    role_typ = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    caller = caller_from_headers(
        {"X-MS-CLIENT-PRINCIPAL": principal("restoreoperator", role_typ=role_typ)}, auth_enabled=True
    )
    assert caller.roles == frozenset({Role.RESTORE_OPERATOR})


def test_unknown_roles_give_nothing() -> None:
    caller = caller_from_headers({"X-MS-CLIENT-PRINCIPAL": principal("Owner")}, auth_enabled=True)
    assert not caller.allows(Role.READER)
    with pytest.raises(AuthorizationError, match="BackupOperator, RestoreOperator or BackupOwner"):
        caller.require(Role.READER)


def test_missing_or_garbled_principal_with_easy_auth_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError):
        caller_from_headers({}, auth_enabled=True)
    with pytest.raises(AuthenticationError):
        caller_from_headers({"X-MS-CLIENT-PRINCIPAL": "%%%not base64"}, auth_enabled=True)
    with pytest.raises(AuthenticationError):
        caller_from_headers({"X-MS-CLIENT-PRINCIPAL": base64.b64encode(b"[1]").decode()}, auth_enabled=True)


async def test_a_reader_cannot_write_and_the_403_names_the_role() -> None:
    headers = {"X-MS-CLIENT-PRINCIPAL": principal("BackupReader")}
    status, _, _ = await call("GET", VAULT_PATH, headers=headers, auth_enabled=True)
    assert status == 200
    status, body, _ = await call("PUT", VAULT_PATH, body="{}", headers=headers, auth_enabled=True)
    assert status == 403
    assert body["error"]["code"] == "AuthorizationFailed"
    assert "BackupOperator" in body["error"]["message"]


async def test_the_handler_gets_the_principal_name() -> None:
    headers = {"X-MS-CLIENT-PRINCIPAL": principal("BackupReader", name="bob")}
    _, body, _ = await call("GET", VAULT_PATH, headers=headers, auth_enabled=True)
    assert body["caller"] == "bob"


async def test_no_principal_with_easy_auth_is_a_401() -> None:
    status, body, _ = await call("GET", VAULT_PATH, auth_enabled=True)
    assert (status, body["error"]["code"]) == (401, "AuthenticationFailed")
