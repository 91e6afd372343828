"""Who an ARM access token says its holder is: ``oid``, ``tid`` and ``appid`` (or ``azp``), read
without verifying; anything else is refused with the reason, never with the token."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from backup.credentials import token_principal
from backup.domain.arm import ArmPrincipal
from localdev.compute_emulator.tokens import Principal, access_token

OID = "1C2D3E4F-5A6B-4C7D-8E9F-0A1B2C3D4E5F"
TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def jwt(claims: Any) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': 'x'})}.{part(claims)}.c2lnbmF0dXJl"


def test_an_entra_v1_token_names_its_object_id_tenant_and_application() -> None:
    token = jwt({"aud": "https://management.azure.com/", "oid": OID, "tid": TID, "appid": APP, "sub": OID})
    assert token_principal(token) == ArmPrincipal(OID.lower(), TID, APP)


def test_a_v2_token_names_its_application_in_azp_and_the_client_may_be_absent() -> None:
    assert token_principal(jwt({"oid": OID, "tid": TID, "azp": APP})).client_id == APP
    assert token_principal(jwt({"oid": OID, "tid": TID})) == ArmPrincipal(OID.lower(), TID, None)


def test_the_emulators_tokens_read_as_its_principals() -> None:
    principal = Principal(OID, tenant_id=TID, app_id=APP)
    assert token_principal(access_token(principal)) == ArmPrincipal(principal.id, TID, APP)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("local-app-principal-token", "not a JWT (1 dot-separated parts"),
        ("a.b.c.d.e", "not a JWT (5 dot-separated parts"),
        ("header.%%%%.sig", "not base64url-encoded JSON"),
        ("header." + base64.urlsafe_b64encode(b"not json").decode() + ".sig", "not base64url-encoded JSON"),
        (jwt(["oid", OID]), "not a JSON object"),
        (jwt({"tid": TID}), "no GUID oid claim"),
        (jwt({"oid": OID}), "no GUID tid claim"),
        (jwt({"oid": "someone", "tid": 7}), "no GUID oid or tid claim"),
    ],
)
def test_a_token_that_does_not_say_is_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as refused:
        token_principal(token)
    assert token not in str(refused.value)


def test_the_local_settings_sample_holds_the_seeded_app_principals_token() -> None:
    root = Path(__file__).resolve().parents[2]
    seed = json.loads((root / "localdev" / "seed.json").read_text())
    sample = json.loads((root / "local.settings.sample.json").read_text())["Values"]
    app = Principal.from_doc(seed["principals"][0])
    assert sample["ARM_STATIC_TOKEN"] == access_token(app)
    assert token_principal(sample["ARM_STATIC_TOKEN"]).object_id == app.id
