"""The access tokens the emulator issues: JWT-shaped like Entra's, carrying the principal's
``oid``, ``tid``, ``appid`` and ``sub``, accepted for that principal only, and judged by RBAC on
the object id the token names."""

from __future__ import annotations

import base64
import json

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.compute import ComputeManagementClient

from localdev.compute_emulator.tokens import (
    ARM_AUDIENCE,
    EMULATOR_TENANT_ID,
    UNSIGNED,
    Principal,
    access_token,
    default_app_id,
    read_claims,
)

from .conftest import APP, SCOPES, SUB, TOKENS, Emu, StaticTokenCredential, rg_id
from .helpers import error_code

pytestmark = pytest.mark.integration

STRANGER = "a0000000-0000-4000-8000-0000000000d1"
OTHER_TENANT = "9b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"


def client(emu: Emu, token: str) -> ComputeManagementClient:
    return ComputeManagementClient(
        StaticTokenCredential(token),
        SUB,
        base_url=emu.url,
        connection_verify=emu.ca_bundle,
        credential_scopes=SCOPES,
    )


def segments(token: str) -> list[dict[str, object]]:
    header, payload, signature = token.split(".")
    assert signature == UNSIGNED
    return [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in (header, payload)]


def test_a_seeded_principal_has_a_jwt_naming_its_object_id_tenant_and_application(emu: Emu) -> None:
    token = emu.admin.access_token(APP)
    header, claims = segments(token)
    assert header == {"alg": "none", "typ": "JWT"}
    assert claims["oid"] == claims["sub"] == APP
    assert claims["tid"] == EMULATOR_TENANT_ID
    assert claims["appid"] == default_app_id(APP) != APP
    assert claims["aud"] == ARM_AUDIENCE
    assert claims["iss"] == f"https://sts.windows.net/{EMULATOR_TENANT_ID}/"
    assert claims["idtyp"] == "app"
    assert int(str(claims["iat"])) <= int(str(claims["nbf"])) < int(str(claims["exp"]))
    # A pure function of the principal: a settings file can hold it without asking the emulator.
    assert token == access_token(Principal(APP))
    assert read_claims(token) == claims
    assert read_claims(TOKENS[APP]) is None


def test_the_jwt_and_the_opaque_token_act_as_the_same_principal(emu: Emu) -> None:
    # The app holds Disk Backup Reader on rg-src and nothing on rg-restore, by either token.
    for token in (emu.admin.access_token(APP), TOKENS[APP]):
        with client(emu, token) as compute:
            assert compute.disks.get("rg-src", "d-std").name == "d-std"
            with pytest.raises(HttpResponseError) as refused:
                compute.disks.begin_delete("rg-src", "d-std").result()
            assert refused.value.status_code == 403
            assert error_code(refused.value) == "AuthorizationFailed"
            assert f"object id '{APP}'" in refused.value.error.message


def test_a_principal_added_with_its_tenant_and_app_is_granted_by_its_object_id(emu: Emu) -> None:
    app_id = "5d6e7f80-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
    token = emu.admin.add_principal(STRANGER, tenant_id=OTHER_TENANT, app_id=app_id)
    claims = read_claims(token)
    assert claims is not None
    assert (claims["oid"], claims["tid"], claims["appid"]) == (STRANGER, OTHER_TENANT, app_id)
    assert {
        "id": STRANGER,
        "tenantId": OTHER_TENANT,
        "appId": app_id,
        "accessToken": token,
    } in emu.admin.principals()
    with client(emu, token) as compute:
        with pytest.raises(HttpResponseError) as refused:
            compute.disks.get("rg-src", "d-std")
        assert refused.value.status_code == 403
        emu.admin.grant(STRANGER, "Disk Backup Reader", rg_id("rg-src"))
        assert compute.disks.get("rg-src", "d-std").name == "d-std"


def test_a_jwt_the_emulator_did_not_issue_is_refused(emu: Emu) -> None:
    forged = [
        access_token(Principal(STRANGER)),  # an unknown object id
        access_token(Principal(APP, tenant_id=OTHER_TENANT)),  # a known one, in another tenant
        access_token(Principal(APP, app_id="5d6e7f80-1a2b-4c3d-9e4f-5a6b7c8d9e0f")),  # another app
        emu.admin.access_token(APP).rsplit(".", 1)[0] + ".other-signature",
    ]
    for token in forged:
        with client(emu, token) as compute, pytest.raises(ClientAuthenticationError) as refused:
            compute.disks.get("rg-src", "d-std")
        assert refused.value.status_code == 401
        assert error_code(refused.value) == "InvalidAuthenticationToken"


def test_principals_and_their_tokens_survive_a_state_dump(emu: Emu) -> None:
    token = emu.admin.add_principal(STRANGER, "stranger-opaque", tenant_id=OTHER_TENANT)
    emu.admin.grant(STRANGER, "Reader", f"/subscriptions/{SUB}")
    emu.admin.reset(emu.admin.state())
    for held in (token, "stranger-opaque"):
        with client(emu, held) as compute:
            assert compute.disks.get("rg-src", "d-std").name == "d-std"
