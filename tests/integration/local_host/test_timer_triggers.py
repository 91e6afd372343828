"""Timer triggers: seconds-level NCRONTAB, runOnStartup, and past-due on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backup.domain.clock import ManualClock
from tests.integration.local_host.conftest import StartHost
from tests.integration.local_host.recorder import events

pytestmark = pytest.mark.integration


async def test_a_seconds_schedule_fires_repeatedly(start_host: StartHost) -> None:
    await start_host()
    fired = await events.wait_for("every_second", lambda seen: len(seen) >= 2)
    first, second = fired[:2]
    assert first["status"]["Last"] is None
    # Each invocation reports the occurrence before it as Last, and the one after it as Next.
    last = datetime.fromisoformat(second["status"]["Last"])
    assert datetime.fromisoformat(first["status"]["Next"]) - last == timedelta(seconds=1)
    assert last.microsecond == 0


async def test_run_on_startup_fires_once_when_the_host_starts(start_host: StartHost) -> None:
    await start_host()
    fired = await events.wait_for("on_startup", lambda seen: len(seen) >= 1)
    assert fired == [{"kind": "on_startup", "past_due": False}]


async def test_schedules_follow_an_injected_clock_and_flag_missed_occurrences_past_due(
    start_host: StartHost,
) -> None:
    clock = ManualClock(datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC))
    await start_host(clock=clock, timer_step=0.02)

    clock.set(datetime(2026, 1, 1, 12, 5, 0, tzinfo=UTC))
    fired = await events.wait_for("every_five_minutes", lambda seen: len(seen) >= 1)
    assert fired[0]["past_due"] is False
    assert fired[0]["status"]["Next"] == "2026-01-01T12:10:00+00:00"

    # 12:10, 12:15 and 12:20 were all missed: one invocation, past due.
    clock.set(datetime(2026, 1, 1, 12, 20, 30, tzinfo=UTC))
    fired = await events.wait_for("every_five_minutes", lambda seen: len(seen) >= 2)
    assert fired[1]["past_due"] is True
    assert fired[1]["status"]["Last"] == "2026-01-01T12:05:00+00:00"
    assert fired[1]["status"]["Next"] == "2026-01-01T12:25:00+00:00"
