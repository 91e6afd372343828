"""The ledger row's codec and keys (pure: no storage)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backup.adapters.tables import keys
from backup.adapters.tables.budget import decode_ledger, encode_ledger
from backup.domain.pacing import ARM_DEFAULT_LIMITS, BucketLimits, Category, fresh_ledger, observe, reserve
from backup.errors import ValidationError

READS = ARM_DEFAULT_LIMITS[Category.READS]
SUBSCRIPTION = "6E3F0C5A-1B2C-4D3E-8F90-123456789ABC"


def test_a_ledger_survives_its_row() -> None:
    state, _ = reserve(fresh_ledger(READS), 1_700_000_000.0, 300)
    state = observe(state, 1_700_000_001.0, remaining=12)
    state = observe(state, 1_700_000_003.0, retry_after=2.0)
    assert decode_ledger(encode_ledger(state), READS) == state


def test_a_fresh_ledger_leaves_unknown_columns_out() -> None:
    assert set(encode_ledger(fresh_ledger(READS))) == {"Rate", "Tat", "Tickets", "CooldownUntil"}


def test_a_row_outside_the_configured_bucket_is_clamped_into_it() -> None:
    row = encode_ledger(replace(fresh_ledger(BucketLimits(1000, 500.0)), rate=400.0))
    assert decode_ledger(row, READS).rate == READS.refill
    assert decode_ledger({**row, "Rate": 0.0}, READS).rate == pytest.approx(fresh_ledger(READS).floor)


def test_ledger_keys() -> None:
    identity = (
        "/subscriptions/x/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id"
    )
    assert keys.budget_key(SUBSCRIPTION, None, "writes") == f"{SUBSCRIPTION.lower()}|app|writes"
    hashed = keys.budget_key(SUBSCRIPTION, identity, "reads")
    assert hashed == keys.budget_key(SUBSCRIPTION.lower(), identity.upper(), "reads")
    principal = hashed.split("|")[1]
    assert len(principal) == 16
    assert principal == principal.lower()
    assert principal != keys.APP_PRINCIPAL
    with pytest.raises(ValidationError):
        keys.budget_key("not-a-subscription", None, "reads")
    with pytest.raises(ValidationError):
        keys.budget_key(SUBSCRIPTION, None, "reads|x")
