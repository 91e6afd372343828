"""The pacer's arithmetic: GCRA reservations, the hold horizon, and the control law that follows
ARM's reports, held to the issue's goal on a simulated bucket shared with another client."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backup.domain.pacing import (
    ARM_DEFAULT_LIMITS,
    DEFAULT_HOLD_HORIZON,
    RISE_GAIN,
    TICKET_LEAD,
    BucketLimits,
    Category,
    LedgerState,
    defer_beyond,
    fresh_ledger,
    observe,
    reserve,
)
from tests.unit.arm_bucket_simulation import ArmBucket, simulate

READS = ARM_DEFAULT_LIMITS[Category.READS]
WRITES = ARM_DEFAULT_LIMITS[Category.WRITES]
SIMULATED_SECONDS = 600.0


def test_arm_default_limits_are_the_published_ones() -> None:
    assert BucketLimits(250, 25.0) == READS
    assert BucketLimits(200, 10.0) == WRITES
    assert ARM_DEFAULT_LIMITS[Category.DELETES] == BucketLimits(200, 10.0)


def test_a_full_bucket_goes_at_once_then_the_refill_rate() -> None:
    ledger = fresh_ledger(WRITES)
    ledger, delays = reserve(ledger, 1000.0, 203)
    assert delays[:200] == [0.0] * 200
    assert delays[200:] == pytest.approx([0.1, 0.2, 0.3])


def test_delays_ascend_across_calls_and_each_token_is_held_once() -> None:
    ledger = fresh_ledger(BucketLimits(3, 2.0))
    seen: list[float] = []
    for _ in range(6):
        ledger, [delay] = reserve(ledger, 50.0)
        seen.append(delay)
    assert seen == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.5])


def test_an_idle_ledger_refills_to_one_bucket_and_no_more() -> None:
    ledger, _ = reserve(fresh_ledger(BucketLimits(3, 2.0)), 0.0, 3)
    ledger, delays = reserve(ledger, 100.0, 4)
    assert delays == pytest.approx([0.0, 0.0, 0.0, 0.5])


def test_reservations_never_exceed_the_bucket_whatever_their_interleaving() -> None:
    """Many callers reserving at many moments: replayed against ARM's bucket, none is refused."""
    ledger = fresh_ledger(WRITES)
    times: list[float] = []
    now = 0.0
    for step in range(400):
        now += 0.013 * (step % 7)
        ledger, delays = reserve(ledger, now, 1 + step % 5)
        times.extend(now + delay for delay in delays)
    arm = ArmBucket(WRITES.capacity, WRITES.refill, WRITES.capacity)
    refused = [at for at in sorted(times) if not arm.take(at + 1e-5)[0]]
    assert refused == []
    assert len(times) > 1000  # far more than one bucket: the refill rate was what held them


def test_a_token_beyond_the_horizon_is_not_held_and_callers_are_spread() -> None:
    ledger, _ = reserve(fresh_ledger(BucketLimits(2, 1.0)), 0.0, 2 + 5)  # held up to 5 s ahead
    assert defer_beyond(ledger, 0.0, 1, horizon=5.0) is not None
    first = defer_beyond(ledger, 0.0, 1, horizon=5.0)
    assert first is not None
    ledger_after, wait = first
    assert ledger_after.tat == ledger.tat  # nothing held
    assert wait == pytest.approx(6.0 - TICKET_LEAD)  # back just before its token
    second = defer_beyond(ledger_after, 0.0, 1, horizon=5.0)
    assert second is not None
    assert second[1] == pytest.approx(wait + 1.0)  # the next one a token later
    assert defer_beyond(ledger, 1.5, 1, horizon=5.0) is None  # later on, it fits


def test_ledger_state_is_immutable() -> None:
    ledger = fresh_ledger(READS)
    with pytest.raises(AttributeError):
        ledger.rate = 1.0  # type: ignore[misc]


def test_a_429_holds_every_token_until_retry_after_and_cuts_the_rate() -> None:
    ledger = observe(fresh_ledger(READS), 10.0, retry_after=3.0)
    assert ledger.rate < READS.refill
    ledger, [delay, after] = reserve(ledger, 10.0, 2)
    assert delay == pytest.approx(3.0)  # ARM's first token after the 429, no burst left
    assert after == pytest.approx(delay + 1 / ledger.rate)


def test_a_burst_of_429s_cuts_once_until_the_held_tokens_have_gone() -> None:
    ledger = observe(fresh_ledger(READS), 10.0, retry_after=1.0)
    once = ledger.rate
    ledger = observe(ledger, 10.2, retry_after=1.0)
    assert ledger.rate == once


def test_remaining_caps_the_burst_at_what_arm_has_left() -> None:
    ledger = observe(fresh_ledger(READS), 10.0, remaining=40)
    ledger, delays = reserve(ledger, 10.0, 42)
    assert delays[:40] == [0.0] * 40
    assert delays[40] > 0.0


def test_a_low_falling_level_cuts_the_rate_and_a_recovering_one_does_not() -> None:
    ledger = observe(fresh_ledger(READS), 0.0, remaining=70)
    falling = observe(ledger, 1.0, remaining=60)
    assert falling.rate < READS.refill
    recovering = observe(ledger, 1.0, remaining=74)
    assert recovering.rate == READS.refill


def test_a_level_rising_below_the_high_water_mark_takes_a_share_of_the_surplus() -> None:
    """After a cut, a backlog keeps the level low; a rising level says ARM grants more than
    everyone spends, so the rate climbs by a share of that slope (not only above high water)."""
    ledger = replace(fresh_ledger(WRITES), rate=5.0)
    rising = observe(observe(ledger, 0.0, remaining=20), 2.0, remaining=26)  # +3 a second
    assert rising.rate == pytest.approx(5.0 + RISE_GAIN * 3.0)
    between = observe(ledger, 0.0, remaining=100)  # between the low- and high-water marks
    assert observe(between, 2.0, remaining=100).rate == 5.0  # flat: no surplus to take


def test_the_rate_climbs_back_additively_never_above_the_refill() -> None:
    ledger = replace(fresh_ledger(READS), rate=10.0)
    ledger = observe(ledger, 0.0, remaining=240)
    ledger = observe(ledger, 1.0, remaining=240)
    assert 10.0 < ledger.rate < 11.0
    for second in range(2, 200):
        ledger = observe(ledger, float(second), remaining=240)
    assert ledger.rate == READS.refill


def test_the_rate_never_falls_below_the_floor() -> None:
    ledger: LedgerState = fresh_ledger(READS)
    for second in range(0, 2000, 3):
        ledger = observe(ledger, float(second), retry_after=1.0)
        ledger = observe(ledger, second + 1.5, remaining=0)
    assert ledger.rate == pytest.approx(ledger.floor)
    assert ledger.floor > 0


@pytest.mark.parametrize("limits", [READS, WRITES], ids=["reads", "writes"])
def test_another_client_spending_30_percent_leaves_the_app_70_percent_with_few_429s(
    limits: BucketLimits,
) -> None:
    outcome = simulate(limits, seconds=SIMULATED_SECONDS, foreign_share=0.3)
    share = 0.7 * limits.refill * SIMULATED_SECONDS
    assert outcome.throttled_fraction <= 0.01
    assert outcome.app_succeeded >= 0.85 * share  # the goal
    # Measured about 1.01-1.04 x share (the initial burst included); a law that never climbs
    # back after a cut reaches about 0.88.
    assert outcome.app_succeeded >= 0.95 * share
    # The other client was not starved either: it got nearly all it asked for.
    assert outcome.foreign_succeeded >= 0.95 * 0.3 * limits.refill * SIMULATED_SECONDS
    settled = [rate for at, rate in outcome.rates if at > SIMULATED_SECONDS / 2]
    assert 0.5 * limits.refill < sum(settled) / len(settled) < 0.85 * limits.refill


def test_alone_on_its_bucket_the_app_uses_the_burst_and_the_whole_refill() -> None:
    outcome = simulate(READS, seconds=SIMULATED_SECONDS, foreign_share=0.0)
    assert outcome.app_succeeded >= 0.97 * (READS.capacity + READS.refill * SIMULATED_SECONDS)
    assert outcome.throttled_fraction <= 0.01


def test_late_batched_reports_still_keep_429s_rare() -> None:
    outcome = simulate(READS, seconds=SIMULATED_SECONDS, foreign_share=0.3, latency=0.5, fold_every=2.0)
    assert outcome.throttled_fraction <= 0.01
    assert outcome.app_succeeded >= 0.85 * 0.7 * READS.refill * SIMULATED_SECONDS


@pytest.mark.parametrize("limits", [READS, WRITES], ids=["reads", "writes"])
def test_four_processes_folding_their_reports_out_of_order_keep_429s_rare(limits: BucketLimits) -> None:
    outcome = simulate(limits, seconds=SIMULATED_SECONDS, foreign_share=0.3, processes=4, latency=0.3)
    assert outcome.throttled_fraction <= 0.01
    assert outcome.app_succeeded >= 0.85 * 0.7 * limits.refill * SIMULATED_SECONDS


def test_the_default_horizon_is_short_against_the_buckets() -> None:
    # Tokens held at the old rate after a cut drain at most horizon x excess; the low-water
    # margin of the smallest bucket must absorb a 30% excess over the horizon.
    assert 0.3 * WRITES.refill * DEFAULT_HOLD_HORIZON < 0.3 * WRITES.capacity


def test_a_429_from_another_limit_waits_but_keeps_the_pace() -> None:
    """ARM's subscription bucket still reports tokens, so the refusal came from another limit
    (Compute's per-resource buckets, an injected fault): only the refused call waits."""
    state = fresh_ledger(ARM_DEFAULT_LIMITS[Category.READS])
    other = observe(state, 100.0, remaining=200, retry_after=3.0)
    ours = observe(state, 100.0, remaining=0, retry_after=3.0)
    assert other.rate == state.rate
    assert ours.rate < state.rate
    assert reserve(other, 100.0)[1] == [0.0]
    assert reserve(ours, 100.0)[1][0] >= 3.0
