"""ARM's request budget, as the app spends it: one token bucket per (subscription, principal)
and operation category, shared by every process of the app.

This module holds the pure types and arithmetic (no I/O); the shared ledger that every
process reserves from lives behind :class:`backup.ports.ArmBudget`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from backup.domain import limits


class Category(StrEnum):
    """ARM's three throttled operation types (``x-ms-ratelimit-remaining-subscription-{value}``)."""

    READS = "reads"
    WRITES = "writes"
    DELETES = "deletes"


@dataclass(frozen=True)
class BudgetScope:
    """Whose bucket a request spends: ARM throttles per subscription and security principal.

    ``identity`` is the user-assigned identity's resource id the call is made as, ``None`` for
    the app's own identity (the two are different principals with different buckets)."""

    subscription_id: str
    identity: str | None = None


# ARM's buckets and the control law ------------------------------------------------------------
#
# The ledger is a GCRA ("virtual scheduling"): ``tat`` is the theoretical arrival time of the
# next token at the current ``rate``; a token may go at ``tat - tau`` where the burst tolerance
# ``tau = (capacity - 1) / rate`` lets a full bucket's worth go at once, exactly as ARM's bucket
# does. ARM's reports steer ``rate``: the bucket's level is ARM's ``remaining``, and its slope
# over a second is what ARM refills minus what everyone (this app and any other client of the
# same principal) spends. Falling and low means "spend less", high means "spend more".

LOW_WATER: Final = 0.3
"""Below this fraction of the bucket, a falling level cuts the rate."""
HIGH_WATER: Final = 0.6
"""Above this fraction of the bucket, the rate climbs back towards ARM's refill."""
DECREASE: Final = 0.85
"""The gentlest multiplicative cut when the level is low and not recovering."""
SLOPE_GAIN: Final = 1.5
"""A low, falling level cuts by this many times the measured excess (the level's slope), when
that is deeper than :data:`DECREASE`: one cut lands just under what is left of the refill."""
DEEPEST_CUT: Final = 0.6
"""No one cut goes deeper than this (a burst of this app's own makes the level fall fast too)."""
THROTTLED_DECREASE: Final = 0.7
"""The cut a 429 makes (ARM's bucket is empty: this app overshot)."""
RISE_GAIN: Final = 0.25
"""A level rising below the high-water mark raises the rate by this share of its slope (a larger
share overshoots: late, batched reports make the slope lag the rate)."""
INCREASE_PER_SECOND: Final = 0.02
"""Additive increase, as a fraction of ARM's refill per second spent above the high-water mark."""
MIN_RATE_FRACTION: Final = 0.05
"""The floor: however crowded the bucket, the app keeps this fraction of the refill."""
TREND_WINDOW: Final = 1.0
"""Seconds between two trend decisions: the slope is measured over at least this long, which
is also the cool-down between two cuts (a cut needs that long to show in ARM's level)."""
DEFAULT_HOLD_HORIZON: Final = 5.0
"""Tokens are held at most this many seconds ahead. Held tokens cannot be re-timed when ARM
turns out to grant less, so a bounded horizon bounds the overshoot after a cut; beyond it the
caller is told to come back (a ticket) instead of being given a token."""

TICKET_LEAD: Final = 1.0
"""A caller turned away comes back this long before its token would be due: early enough that
the queue's whole-second delays and its polling do not make it late, short enough that the
wait it then sleeps in-process holds an execution slot only briefly."""


_DUE: Final = 1e-6


@dataclass(frozen=True)
class BucketLimits:
    """One of ARM's buckets: a full bucket of ``capacity`` requests, refilled at ``refill``/s."""

    capacity: float
    refill: float


ARM_DEFAULT_LIMITS: Final[Mapping[Category, BucketLimits]] = MappingProxyType(
    {
        Category.READS: BucketLimits(limits.ARM_READS_CAPACITY, limits.ARM_READS_REFILL_PER_SECOND),
        Category.WRITES: BucketLimits(limits.ARM_WRITES_CAPACITY, limits.ARM_WRITES_REFILL_PER_SECOND),
        Category.DELETES: BucketLimits(limits.ARM_DELETES_CAPACITY, limits.ARM_DELETES_REFILL_PER_SECOND),
    }
)


@dataclass(frozen=True)
class LedgerState:
    """One bucket's ledger, as every process of the app shares it (times are epoch seconds)."""

    capacity: float
    refill: float
    """ARM's bucket; ``rate`` never exceeds ``refill``."""
    rate: float
    """Tokens per second the app currently allows itself."""
    tat: float = 0.0
    """Theoretical arrival time of the next token (GCRA)."""
    tickets: float = 0.0
    """When the last caller that got no token was told to come back (spreads their return)."""
    cooldown_until: float = 0.0
    """No cut before this: the tokens held at the rate before the last cut are still going."""
    remaining: int | None = None
    observed_at: float | None = None
    """The last ``remaining`` ARM reported, and when."""
    trend_remaining: int | None = None
    trend_at: float | None = None
    """The level the slope is measured from (at least :data:`TREND_WINDOW` before a decision)."""

    @property
    def interval(self) -> float:
        """Seconds between two tokens at the current rate."""
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        """GCRA's burst tolerance: a full bucket's worth of tokens may go at once."""
        return (self.capacity - 1.0) * self.interval

    @property
    def floor(self) -> float:
        return self.refill * MIN_RATE_FRACTION

    def next_token_at(self, now: float) -> float:
        return max(now, self.tat - self.tolerance)


def fresh_ledger(bucket: BucketLimits) -> LedgerState:
    """A ledger that has seen nothing: ARM's full bucket and published refill rate."""
    if bucket.capacity < 1 or bucket.refill <= 0:
        raise ValueError(f"not a usable bucket: {bucket}")
    refill = float(bucket.refill)
    return LedgerState(capacity=float(bucket.capacity), refill=refill, rate=refill)


def reserve(state: LedgerState, now: float, count: int = 1) -> tuple[LedgerState, list[float]]:
    """Hold ``count`` tokens: each one's delay from ``now`` (ascending, 0.0 = at once).

    Held tokens are gone from the ledger whether or not they are spent: a caller that holds
    one spends it at its time (or lets it lapse), it never asks for it twice."""
    if count < 1:
        raise ValueError("reserve at least one token")
    tat = state.tat
    delays: list[float] = []
    for _ in range(count):
        at = max(now, tat - state.tolerance)
        tat = max(tat, at) + state.interval
        # Float sums of intervals drift by picoseconds; a token that due is due now.
        delays.append(0.0 if at - now < _DUE else at - now)
    return replace(state, tat=tat), delays


def defer_beyond(
    state: LedgerState, now: float, count: int = 1, horizon: float = DEFAULT_HOLD_HORIZON
) -> tuple[LedgerState, float] | None:
    """``None`` when the first of ``count`` tokens falls within ``horizon`` (reserve them);
    otherwise a ticket: the state with the ticket taken, and the seconds until the caller should
    ask again, spread at the current rate so that returning callers do not all come at once."""
    first = state.next_token_at(now)
    if first - now <= horizon:
        return None
    ticket = max(state.tickets, first - min(TICKET_LEAD, horizon / 2.0))
    return replace(state, tickets=ticket + count * state.interval), ticket - now


def observe(
    state: LedgerState, now: float, remaining: int | None = None, retry_after: float | None = None
) -> LedgerState:
    """Fold in what ARM answered at ``now``: a 429's Retry-After, or the remaining tokens.

    * A 429 cuts the rate (once per :data:`TREND_WINDOW`) and holds every further token until
      Retry-After has passed, with the bucket taken as empty then. A 429 that reports tokens
      left in this bucket came from another limit: only the refused call waits.
    * ``remaining`` caps the burst the ledger still allows at what ARM really has left, and
      once per :data:`TREND_WINDOW` steers the rate: low and not recovering cuts it (by the
      measured excess, at least :data:`DECREASE`), rising raises it by a share of the surplus
      (:data:`RISE_GAIN`), high raises it additively, never above the refill nor below the floor.
    """
    if retry_after is not None and (remaining is None or remaining <= 0):
        state = _throttled(state, now, max(0.0, retry_after))
    # A 429 that still reports tokens in this bucket came from another limit (Compute's
    # per-resource buckets, a fault): the refused call waits its Retry-After, the pace stays.
    if remaining is not None:
        state = _level(state, now, max(0, remaining))
    return state


def _throttled(state: LedgerState, now: float, retry_after: float) -> LedgerState:
    if now >= state.cooldown_until:
        state = _cut(state, now, state.rate * THROTTLED_DECREASE)
    # ARM's bucket is empty until Retry-After: the next token goes then, with no burst left.
    tat = max(state.tat, now + retry_after + state.tolerance)
    return replace(state, tat=tat, remaining=0, observed_at=now, trend_remaining=0, trend_at=now)


def _cut(state: LedgerState, now: float, rate: float) -> LedgerState:
    """A lower rate, and no further cut until the tokens already held at the old rate have
    gone (they cannot be re-timed, so ARM's level cannot show the cut before then)."""
    held_until = state.next_token_at(now)
    return replace(_with_rate(state, now, rate), cooldown_until=held_until + TREND_WINDOW)


def _level(state: LedgerState, now: float, remaining: int) -> LedgerState:
    # What this ledger would still let go at once may not exceed what ARM has left.
    tat = max(state.tat, now + (state.capacity - remaining) * state.interval)
    state = replace(state, tat=tat, remaining=remaining, observed_at=now)
    if state.trend_at is None or state.trend_remaining is None or now < state.trend_at:
        return replace(state, trend_remaining=remaining, trend_at=now)
    elapsed = now - state.trend_at
    if elapsed < TREND_WINDOW:
        return state
    slope = (remaining - state.trend_remaining) / elapsed
    rate = state.rate
    if remaining < LOW_WATER * state.capacity and slope <= 0:
        if now >= state.cooldown_until:
            deepest = rate * DEEPEST_CUT  # the slope also holds this app's own bursts
            state = _cut(state, now, max(deepest, min(rate * DECREASE, rate + SLOPE_GAIN * slope)))
    elif remaining > HIGH_WATER * state.capacity:
        state = _with_rate(state, now, rate + INCREASE_PER_SECOND * state.refill * elapsed)
    elif slope > 0 and now >= state.cooldown_until:
        # Rising: ARM refills faster than everyone spends. Take a share of that surplus now: a
        # backlog keeps the level from ever reaching the high-water mark, so the additive
        # increase alone left the rate where the first cut put it (0.8 of what was left).
        state = _with_rate(state, now, rate + RISE_GAIN * slope)
    return replace(state, trend_remaining=remaining, trend_at=now)


def _with_rate(state: LedgerState, now: float, rate: float) -> LedgerState:
    """The ledger at another rate, its debt (tokens held beyond ``now``) kept in tokens."""
    rate = min(state.refill, max(state.floor, rate))
    if rate == state.rate:
        return state
    tat = state.tat
    if tat > now:
        tat = now + (tat - now) * state.rate / rate
    return replace(state, rate=rate, tat=tat)
