"""The benchmark's bounds and request accounting: the figures are only as honest as these."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bench.arm_limits import throttle_bound_seconds
from bench.estate import app_requests
from localdev.soak_host import SharedScaledClock


def test_the_bound_subtracts_the_initial_bucket_and_takes_the_slower_category() -> None:
    # 500 backups: writes (500 - 200) / 10 = 30 s; reads (1000 - 250) / 25 = 30 s.
    assert throttle_bound_seconds(500) == pytest.approx(30.0)
    # 1,000 backups with 70% of the refill: writes 800 / 7 = 114.3 s beat reads 1750 / 17.5 = 100 s.
    assert throttle_bound_seconds(1000, share=0.7) == pytest.approx(800 / 7)
    # What fits in the initial buckets costs no waiting at all.
    assert throttle_bound_seconds(100) == 0.0


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        throttle_bound_seconds(1000, share=0)


def test_the_apps_requests_are_the_emulators_minus_the_foreign_clients() -> None:
    counters = {
        "total": 1000,
        "byMethod": {"GET": 700, "PUT": 250, "PATCH": 50},
        "byStatus": {"200": 900, "202": 80, "429": 20},
    }
    foreign = {"byMethod": {"GET": 150, "PATCH": 50}, "byStatus": {"200": 190, "429": 10}}

    app = app_requests(counters, foreign)

    assert app == {"writes": 250, "reads": 550, "total": 800, "throttled": 10}


def test_the_soak_clock_is_the_same_in_every_process_whenever_it_was_built() -> None:
    epoch = datetime(2026, 11, 2, tzinfo=UTC)
    started = time.time()
    first = SharedScaledClock(started, epoch, 600.0)
    rebuilt = SharedScaledClock.from_environment(first.environment())

    assert rebuilt.product_epoch == epoch
    assert rebuilt.real_time_at(epoch + timedelta(hours=1)) == pytest.approx(started + 6.0)
    assert abs((rebuilt.now() - first.now()).total_seconds()) < 60  # same formula, same wall clock
