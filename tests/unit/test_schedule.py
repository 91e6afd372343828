"""Slot math: due and next slots, DST, catch-up, slot ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backup.domain.schedule import (
    Schedule,
    ScheduledRun,
    missed_slots,
    parse_slot_id,
    plan_scheduled_run,
    slot_id,
)
from tests.unit.policy_builders import build_policy, utc

BERLIN = ZoneInfo("Europe/Berlin")
MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def schedule(start: datetime, interval: timedelta, zone: str = "UTC") -> Schedule:
    return Schedule(start=start, interval=interval, time_zone=ZoneInfo(zone), time_zone_name=zone)


DEFAULT = build_policy().schedule  # R/2020-04-05T13:00:00+00:00/PT4H


def test_exactly_on_a_slot_that_slot_is_due_and_the_next_is_one_interval_later() -> None:
    slot = utc(2024, 6, 1, 17, 0)

    assert DEFAULT.due_slot(slot) == slot
    assert DEFAULT.next_slot(slot) == utc(2024, 6, 1, 21, 0)


def test_just_before_a_slot_the_previous_slot_is_due() -> None:
    assert DEFAULT.due_slot(utc(2024, 6, 1, 17, 0) - MICROSECOND) == utc(2024, 6, 1, 13, 0)
    assert DEFAULT.next_slot(utc(2024, 6, 1, 17, 0) - MICROSECOND) == utc(2024, 6, 1, 17, 0)


def test_slots_wrap_at_midnight_on_the_anchor_grid() -> None:
    # Anchored at 13:00 every 4 hours: 01, 05, 09, 13, 17, 21.
    assert list(DEFAULT.slots_between(utc(2024, 6, 1, 22, 0), utc(2024, 6, 2, 9, 0))) == [
        utc(2024, 6, 2, 1, 0),
        utc(2024, 6, 2, 5, 0),
        utc(2024, 6, 2, 9, 0),
    ]


def test_policy_start_in_the_future() -> None:
    future = schedule(utc(2030, 1, 1, 13, 0), timedelta(hours=4))

    assert future.due_slot(utc(2029, 12, 31, 23, 0)) is None
    assert future.due_slot(utc(2030, 1, 1, 13, 0) - MICROSECOND) is None
    assert future.next_slot(utc(2025, 1, 1)) == utc(2030, 1, 1, 13, 0)
    assert future.due_slot(utc(2030, 1, 1, 13, 0)) == utc(2030, 1, 1, 13, 0)
    # Earlier slots of the anchor grid on the start day (01:00, 05:00, 09:00) do not exist.
    assert list(future.slots_between(utc(2030, 1, 1), utc(2030, 1, 1, 16))) == [utc(2030, 1, 1, 13, 0)]


def test_daily_keeps_its_wall_clock_time_across_dst() -> None:
    daily = schedule(berlin(2024, 1, 1, 13, 0), timedelta(days=1), "Europe/Berlin")

    assert daily.due_slot(utc(2024, 3, 30, 12, 30)) == utc(2024, 3, 30, 12, 0)  # 13:00 CET
    assert daily.due_slot(utc(2024, 3, 31, 11, 30)) == utc(2024, 3, 31, 11, 0)  # 13:00 CEST
    assert daily.next_slot(utc(2024, 10, 26, 11, 0)) == utc(2024, 10, 27, 12, 0)  # 13:00 CET again


def test_daily_spring_forward_gap_runs_at_the_same_distance_after_the_gap() -> None:
    # 02:30 does not exist on 31 March 2024 in Berlin (02:00 jumps to 03:00): it runs at 03:30 CEST.
    daily = schedule(berlin(2024, 3, 1, 2, 30), timedelta(days=1), "Europe/Berlin")

    assert list(daily.slots_between(utc(2024, 3, 29, 12), utc(2024, 4, 1, 12))) == [
        berlin(2024, 3, 30, 2, 30),
        utc(2024, 3, 31, 1, 30),
        berlin(2024, 4, 1, 2, 30),
    ]
    assert utc(2024, 3, 31, 1, 30).astimezone(BERLIN).hour == 3


def test_daily_fall_back_ambiguous_time_runs_once_at_its_first_occurrence() -> None:
    daily = schedule(berlin(2024, 10, 1, 2, 30), timedelta(days=1), "Europe/Berlin")

    slots = list(daily.slots_between(utc(2024, 10, 26, 12), utc(2024, 10, 28, 12)))

    assert slots == [utc(2024, 10, 27, 0, 30), berlin(2024, 10, 28, 2, 30)]  # 02:30 CEST, not 02:30 CET
    assert daily.due_slot(berlin(2024, 10, 27, 2, 45, fold=1)) == utc(2024, 10, 27, 0, 30)


def test_hourly_spring_forward_day_has_23_slots_and_no_duplicates() -> None:
    hourly = schedule(berlin(2024, 3, 1, 0, 0), HOUR, "Europe/Berlin")

    slots = list(
        hourly.slots_between(berlin(2024, 3, 31, 0, 0) - MICROSECOND, berlin(2024, 4, 1, 0, 0) - HOUR)
    )

    assert len(slots) == 23
    assert slots[:3] == [
        utc(2024, 3, 30, 23),
        utc(2024, 3, 31, 0),
        utc(2024, 3, 31, 1),
    ]  # 00:00, 01:00, 03:00
    assert all(later - earlier == HOUR for earlier, later in itertools.pairwise(slots))


def test_hourly_fall_back_day_backs_up_the_repeated_hour_once() -> None:
    hourly = schedule(berlin(2024, 10, 1, 0, 0), HOUR, "Europe/Berlin")

    slots = list(hourly.slots_between(berlin(2024, 10, 27, 0, 0) - MICROSECOND, berlin(2024, 10, 27, 23, 0)))

    assert len(slots) == 24  # a 25-hour day, one slot per wall-clock hour
    assert utc(2024, 10, 27, 1, 0) not in slots  # 02:00 CET, the repeat of 02:00 CEST
    assert slots[2:4] == [utc(2024, 10, 27, 0, 0), utc(2024, 10, 27, 2, 0)]  # 02:00 CEST, then 03:00 CET
    assert hourly.due_slot(utc(2024, 10, 27, 1, 30)) == utc(2024, 10, 27, 0, 0)


def test_four_hourly_slot_in_the_gap_moves_forward() -> None:
    # Anchored at 02:00 local: 02, 06, 10, 14, 18, 22. On 31 March 02:00 becomes 03:00 CEST.
    four_hourly = schedule(berlin(2024, 3, 1, 2, 0), timedelta(hours=4), "Europe/Berlin")

    assert four_hourly.next_slot(utc(2024, 3, 30, 21, 30)) == utc(2024, 3, 31, 1, 0)
    assert four_hourly.next_slot(utc(2024, 3, 31, 1, 0)) == berlin(2024, 3, 31, 6, 0)


def test_pacific_time_via_windows_name() -> None:
    policy = build_policy(interval="R/2024-01-01T22:00:00-08:00/P1D", time_zone="Pacific Standard Time")

    # 22:00 PST is 06:00 UTC; after 10 March (PDT) it is 05:00 UTC.
    assert policy.schedule.due_slot(utc(2024, 3, 9, 7)) == utc(2024, 3, 9, 6)
    assert policy.schedule.due_slot(utc(2024, 3, 11, 7)) == utc(2024, 3, 11, 5)


@pytest.mark.parametrize(
    ("interval", "late_by", "missed"),
    [
        (timedelta(hours=4), timedelta(hours=2) - MICROSECOND, False),
        (timedelta(hours=4), timedelta(hours=2), True),
        (HOUR, HOUR - MICROSECOND, False),
        (HOUR, HOUR, True),  # the next slot came first
        (timedelta(days=1), timedelta(hours=3), True),
    ],
)
def test_missed_after_the_two_hour_window_or_the_next_slot(
    interval: timedelta, late_by: timedelta, missed: bool
) -> None:
    sched = schedule(utc(2024, 1, 1), interval)
    slot = utc(2024, 2, 1, 0, 0)

    assert sched.is_missed(slot, slot + late_by) is missed


def test_on_time_run() -> None:
    run = plan_scheduled_run(DEFAULT, utc(2024, 6, 1, 13, 5), last_attempted_slot=utc(2024, 6, 1, 9, 0))

    assert run == ScheduledRun(slot=utc(2024, 6, 1, 13, 0), is_catch_up=False, skipped_slots=0)


def test_slot_already_attempted_is_not_run_again() -> None:
    assert (
        plan_scheduled_run(DEFAULT, utc(2024, 6, 1, 16, 59), last_attempted_slot=utc(2024, 6, 1, 13, 0))
        is None
    )


def test_catch_up_after_downtime_is_one_backup_of_the_most_recent_missed_slot() -> None:
    # Last backup at 09:00 on 1 June; the service was down until 15:30 on 2 June.
    now = utc(2024, 6, 2, 15, 30)

    run = plan_scheduled_run(DEFAULT, now, last_attempted_slot=utc(2024, 6, 1, 9, 0))

    # Slots 13, 17, 21, 01, 05, 09 were skipped; 13:00 on 2 June is the one catch-up backup.
    assert run == ScheduledRun(slot=utc(2024, 6, 2, 13, 0), is_catch_up=True, skipped_slots=6)
    assert plan_scheduled_run(DEFAULT, now + timedelta(minutes=5), last_attempted_slot=run.slot) is None
    assert plan_scheduled_run(DEFAULT, utc(2024, 6, 2, 17, 0), last_attempted_slot=run.slot) == ScheduledRun(
        slot=utc(2024, 6, 2, 17, 0), is_catch_up=False, skipped_slots=0
    )


def test_the_missed_slots_are_those_between_the_last_attempt_and_the_catch_up() -> None:
    assert missed_slots(DEFAULT, utc(2024, 6, 1, 9, 0), utc(2024, 6, 2, 13, 0)) == [
        utc(2024, 6, 1, 13),
        utc(2024, 6, 1, 17),
        utc(2024, 6, 1, 21),
        utc(2024, 6, 2, 1),
        utc(2024, 6, 2, 5),
        utc(2024, 6, 2, 9),
    ]
    assert missed_slots(DEFAULT, utc(2024, 6, 2, 9, 0), utc(2024, 6, 2, 13, 0)) == []
    assert missed_slots(DEFAULT, None, utc(2024, 6, 2, 13, 0)) == [], "protection begins with the first slot"


def test_a_catch_up_is_judged_by_the_start_window_given() -> None:
    late = utc(2024, 6, 1, 14, 30)  # 90 minutes after the 13:00 slot
    two_hours = plan_scheduled_run(DEFAULT, late, utc(2024, 6, 1, 9, 0))
    assert two_hours is not None
    assert not two_hours.is_catch_up
    one_hour = plan_scheduled_run(DEFAULT, late, utc(2024, 6, 1, 9, 0), timedelta(hours=1))
    assert one_hour is not None
    assert one_hour.is_catch_up


def test_first_run_of_a_new_instance_takes_the_due_slot() -> None:
    assert plan_scheduled_run(DEFAULT, utc(2024, 6, 1, 14), last_attempted_slot=None) == ScheduledRun(
        slot=utc(2024, 6, 1, 13), is_catch_up=False, skipped_slots=0
    )
    assert plan_scheduled_run(schedule(utc(2030, 1, 1), HOUR), utc(2024, 6, 1), None) is None


def test_slot_id_is_short_utc_and_round_trips() -> None:
    slot = berlin(2024, 3, 31, 3, 0)

    assert slot_id(slot) == "20240331T0100"
    assert parse_slot_id("20240331T0100") == slot


@pytest.mark.parametrize("text", ["2024-03-31T01:00", "20240331T010", "20240331T0100Z", "20241331T0100", ""])
def test_parse_slot_id_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_slot_id(text)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.due_slot(datetime(2024, 1, 1))


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",
]
INTERVALS = [timedelta(hours=hours) for hours in (1, 2, 4, 6, 8, 12, 24)]
schedules = st.builds(
    schedule,
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ),
    interval=st.sampled_from(INTERVALS),
    zone=st.sampled_from(ZONES),
)
instants = st.datetimes(
    min_value=datetime(2019, 6, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(sched=schedules, at=instants)
def test_due_slot_is_at_or_before_t_and_the_next_slot_after_it(sched: Schedule, at: datetime) -> None:
    due = sched.due_slot(at)
    following = sched.next_slot(at)

    assert at < following
    assert following >= sched.start
    if due is None:
        assert at < sched.start
        assert following == sched.next_slot(sched.start - MICROSECOND)
    else:
        assert sched.start <= due <= at
        assert sched.next_slot(due) == following  # nothing between the due slot and t
        assert sched.due_slot(due) == due


@settings(max_examples=100, deadline=None)
@given(sched=schedules, after=instants, days=st.integers(min_value=1, max_value=10))
def test_slot_ids_are_unique_and_ordered_like_the_slots(sched: Schedule, after: datetime, days: int) -> None:
    slots = list(sched.slots_between(after, after + timedelta(days=days)))
    ids = [slot_id(slot) for slot in slots]

    assert slots == sorted(set(slots))
    assert ids == sorted(set(ids))
    assert all(slot >= sched.start for slot in slots)
    assert [parse_slot_id(text) for text in ids] == slots
    # Every interval divides a day, so a day never holds more slots than the interval allows.
    assert len(slots) <= days * (timedelta(days=1) // sched.interval) + timedelta(days=1) // sched.interval
