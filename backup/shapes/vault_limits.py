"""``VaultScopeLimits``: where a vault's protected disks and restore targets may be (a product
extension, :mod:`backup.domain.vault_limits`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Scopes = Annotated[
    list[str],
    msgspec.Meta(description="Resource group or subscription ids (or '/'). Absent: unbounded; []: nothing."),
]


class VaultScopeLimits(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Bounds what any caller may name through the vault, key holders included."""

    datasource_scopes: Scopes | None = None
    restore_target_scopes: Scopes | None = None
