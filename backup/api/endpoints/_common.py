"""Helpers the resource handlers share: loading the parent vault and body field checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backup.api.router import RequestContext
from backup.domain.instance import VaultRef
from backup.domain.records import Versioned
from backup.errors import NotFoundError, ValidationError


async def load_vault(ctx: RequestContext) -> tuple[VaultRef, Versioned[Mapping[str, Any]]]:
    """The vault named in the path, spelled as stored, or 404 ``ResourceNotFound``."""
    requested = ctx.vault
    stored = await ctx.api.store.get_vault(requested)
    if stored is None:
        raise vault_not_found(requested)
    return stored_vault_ref(stored.value, requested), stored


def stored_vault_ref(document: Mapping[str, Any], fallback: VaultRef) -> VaultRef:
    parts = str(document.get("id", "")).split("/")
    if len(parts) == 9:
        return VaultRef(parts[2], parts[4], parts[8])
    return fallback


def vault_not_found(vault: VaultRef) -> NotFoundError:
    return NotFoundError(
        f"The Resource 'Microsoft.DataProtection/backupVaults/{vault.name}' under resource group "
        f"'{vault.resource_group}' was not found.",
        code="ResourceNotFound",
        target="vaultName",
    )


def invalid(target: str, message: str, code: str = "InvalidRequestContent") -> ValidationError:
    return ValidationError(message, code=code, target=target)


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def optional_object(body: Mapping[str, Any], key: str, path: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(f"{path}{key}", f"'{path}{key}' must be a JSON object, not {json_type(value)}.")
    return value


def required_string(body: Mapping[str, Any], key: str, path: str) -> str:
    value = body.get(key)
    if value is None:
        raise invalid(f"{path}{key}", f"'{path}{key}' is required.", code="MissingProperty")
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{path}{key}", f"'{path}{key}' must be a non-empty string, not {json_type(value)}.")
    return value


def pick_enum(value: object, allowed: tuple[str, ...], target: str) -> str:
    """The canonical spelling of a case-insensitive enum value (ARM enums are case-insensitive)."""
    if isinstance(value, str):
        for option in allowed:
            if option.lower() == value.strip().lower():
                return option
    raise invalid(
        target, f"'{target}' must be one of {', '.join(allowed)}; got {value!r}.", code="InvalidPropertyValue"
    )
