"""A vault's secureScore and bcdrSecurityLevel from its security settings."""

from __future__ import annotations

import pytest

from backup.domain.vault_security import (
    BCDR_SECURITY_LEVELS,
    SECURE_SCORES,
    bcdr_security_level,
    secure_score,
)


@pytest.mark.parametrize(
    ("soft_delete", "immutability", "guard", "score"),
    [
        ("Off", None, False, "None"),
        (None, "Disabled", False, "None"),
        ("On", None, False, "Minimum"),
        ("Enabled", "Disabled", False, "Minimum"),  # the REST example's spelling of On
        ("Off", "Unlocked", False, "Minimum"),
        ("On", "Unlocked", False, "Adequate"),
        ("AlwaysOn", "Locked", False, "Adequate"),  # Maximum also needs a Resource Guard
        ("alwayson", "locked", True, "Maximum"),
    ],
)
def test_the_score_rises_with_each_protection(
    soft_delete: str | None, immutability: str | None, guard: bool, score: str
) -> None:
    assert secure_score(soft_delete, immutability, resource_guard=guard) == score


def test_the_bcdr_level_follows_the_score_step_for_step() -> None:
    assert [bcdr_security_level(score) for score in SECURE_SCORES] == list(BCDR_SECURITY_LEVELS)
