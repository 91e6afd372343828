"""A vault's ``secureScore`` and ``bcdrSecurityLevel``, derived from its security settings.

Azure documents the levels (``None``/``Minimum``/``Adequate``/``Maximum``; ``Poor``/``Fair``/
``Good``/``Excellent``) and what raises them: soft delete, immutability, and Multi-User
Authorization (a Resource Guard). It does not publish the exact rule, so the one here is this
app's reading (README, "Azure behaviours not documented"): Maximum needs immutability locked, soft
delete always on and a Resource Guard (which vaults here never have); Adequate, soft delete and
immutability both enabled; Minimum, either one; None, neither. The BCDR level follows the score
one step for one step.
"""

from __future__ import annotations

from typing import Final

SECURE_SCORES: Final = ("None", "Minimum", "Adequate", "Maximum")
BCDR_SECURITY_LEVELS: Final = ("Poor", "Fair", "Good", "Excellent")

_SOFT_DELETE_ENABLED: Final = frozenset({"on", "alwayson", "enabled"})
_IMMUTABILITY_ENABLED: Final = frozenset({"unlocked", "locked"})


def secure_score(
    soft_delete_state: str | None, immutability_state: str | None, *, resource_guard: bool
) -> str:
    soft = (soft_delete_state or "").casefold()
    immutability = (immutability_state or "").casefold()
    soft_on = soft in _SOFT_DELETE_ENABLED
    immutable = immutability in _IMMUTABILITY_ENABLED
    if resource_guard and soft == "alwayson" and immutability == "locked":
        return "Maximum"
    if soft_on and immutable:
        return "Adequate"
    if soft_on or immutable:
        return "Minimum"
    return "None"


def bcdr_security_level(score: str) -> str:
    return BCDR_SECURITY_LEVELS[SECURE_SCORES.index(score)]
