"""The local host's App Service Authentication stand-in: what reaches the app for which request."""

from __future__ import annotations

import base64
import json

from localdev.compute_emulator.tokens import Principal, access_token
from localdev.functions_host.easy_auth import ARM_TOKEN_HEADER, PRINCIPAL_HEADER, EasyAuthStandIn

OWNER = Principal("e1111111-0000-4000-8000-0000000000a1")
STAND_IN = EasyAuthStandIn(app_roles={OWNER.id: ["BackupOwner"]}, names={OWNER.id: "owner@example.com"})


def _principal(headers: dict[str, str]) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.b64decode(headers[PRINCIPAL_HEADER]))
    return decoded


def test_a_valid_token_becomes_the_principal_with_its_app_roles_and_the_arm_token() -> None:
    token = access_token(OWNER)
    headers = STAND_IN.principal_headers({"Authorization": f"Bearer {token}", "X-Other": "kept"})
    assert headers is not None
    assert headers["X-Other"] == "kept"
    assert headers[ARM_TOKEN_HEADER] == token
    claims = {(c["typ"], c["val"]) for c in _principal(headers)["claims"]}  # type: ignore[attr-defined]
    assert ("roles", "BackupOwner") in claims
    assert ("name", "owner@example.com") in claims
    assert ("http://schemas.microsoft.com/identity/claims/objectidentifier", OWNER.id) in claims


def test_forged_headers_are_stripped_and_bad_tokens_sign_nobody_in() -> None:
    forged = {PRINCIPAL_HEADER: "e30=", "x-ms-client-principal-name": "admin", ARM_TOKEN_HEADER: "stolen"}
    assert STAND_IN.stripped(forged) == {}
    signed = STAND_IN.principal_headers({**forged, "Authorization": f"Bearer {access_token(OWNER)}"})
    assert signed is not None
    assert signed[ARM_TOKEN_HEADER] != "stolen"
    assert "x-ms-client-principal-name" not in signed
    header, payload, _ = access_token(OWNER).split(".")
    for token in ("opaque", f"{header}.{payload}.forged-signature", "a.b.c"):
        assert STAND_IN.principal_headers({"Authorization": f"Bearer {token}"}) is None
    expired = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    expired["exp"] = 1
    old = base64.urlsafe_b64encode(json.dumps(expired).encode()).decode().rstrip("=")
    assert (
        STAND_IN.principal_headers(
            {"Authorization": f"Bearer {header}.{old}.{access_token(OWNER).split('.')[2]}"}
        )
        is None
    )
    assert STAND_IN.principal_headers({}) is None
