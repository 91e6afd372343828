"""A small synchronous client for ``/_admin``.

Stdlib only, with an SSL context built from the emulator's CA file: ``requests`` would let
``REQUESTS_CA_BUNDLE`` (set on many machines) override the CA we pass it.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class AdminError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"admin call failed with {status}: {body}")
        self.status = status
        self.body = body


class AdminClient:
    def __init__(self, admin_url: str, ca_bundle: str, timeout: float = 30.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._timeout = timeout
        context = ssl.create_default_context(cafile=ca_bundle)
        # No proxies: the emulator is on 127.0.0.1 whatever HTTPS_PROXY says.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.admin_url + urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~"),
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            payload = err.read()
            try:
                parsed = json.loads(payload) if payload else None
            except ValueError:
                parsed = payload.decode(errors="replace")
            raise AdminError(err.code, parsed) from None
        return json.loads(raw) if raw else None

    # --- state
    def reset(self, seed: dict[str, Any] | None = None) -> None:
        self.call("POST", "/reset", seed or {})

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/state")
        return result

    def save(self, path: str | None = None) -> str:
        return str(self.call("POST", "/save", {"path": path} if path else {})["path"])

    # --- disk content
    def write_disk(self, arm_id: str, content: str) -> None:
        self.call("PUT", "/content" + _slash(arm_id), {"content": content})

    def read_content(self, arm_id: str) -> str:
        return str(self.call("GET", "/content" + _slash(arm_id))["content"])

    # --- faults
    def set_faults(
        self,
        rules: list[dict[str, Any]] | None = None,
        *,
        seed: int | None = None,
        latency_ms: float = 0.0,
        lro_duration_seconds: float | None = None,
    ) -> dict[str, Any]:
        body = {
            "seed": seed,
            "latencyMs": latency_ms,
            "lroDurationSeconds": lro_duration_seconds,
            "rules": rules or [],
        }
        result: dict[str, Any] = self.call("PUT", "/faults", body)
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    # --- counters
    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/counters")
        return result

    def reset_counters(self) -> None:
        self.call("POST", "/counters/reset")

    # --- clock
    def set_clock_offset(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", "/clock", {"offsetSeconds": seconds})
        return result

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", "/clock", {"advanceSeconds": seconds})
        return result

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/clock")
        return result

    # --- config
    def configure(self, patch: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", "/config", {**(patch or {}), **kwargs})
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/config")
        return result

    # --- identities and roles
    def grant(self, principal_id: str, role: str, scope: str) -> None:
        self.call("POST", "/roleAssignments", {"principalId": principal_id, "role": role, "scope": scope})

    def revoke(self, principal_id: str, role: str, scope: str) -> None:
        self.call("DELETE", "/roleAssignments", {"principalId": principal_id, "role": role, "scope": scope})

    def role_assignments(self) -> list[dict[str, str]]:
        return list(self.call("GET", "/roleAssignments")["value"])

    def add_principal(
        self,
        principal_id: str,
        token: str | None = None,
        *,
        tenant_id: str | None = None,
        app_id: str | None = None,
    ) -> str:
        """Make ``principal_id`` known (with an opaque ``token`` too, if given); its access token (a JWT)."""
        body = {"id": principal_id, "token": token, "tenantId": tenant_id, "appId": app_id}
        answer = self.call("POST", "/principals", {key: value for key, value in body.items() if value})
        return str(answer["accessToken"])

    def access_token(self, principal_id: str) -> str:
        """The JWT the emulator issues ``principal_id`` (its ``oid``, ``tid`` and ``appid`` inside)."""
        return str(self.call("GET", f"/principals/{principal_id}")["accessToken"])

    def principals(self) -> list[dict[str, str]]:
        return list(self.call("GET", "/principals")["value"])


def _slash(arm_id: str) -> str:
    return "/" + arm_id.lstrip("/")
