"""`python -m backup.cli` without (or with wrong) settings says which, in one line, not a traceback.

Each case runs the real entry point in a fresh process with a clean environment: only PATH and
the settings under test, so nothing from the developer's shell or CI can make it pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from backup.config import (
    ARM_BUDGET_LIMITS,
    ARM_STATIC_TOKENS,
    BACKUP_START_WINDOW,
    CLOCK_SPEED,
    STORAGE_CONNECTION_STRING,
    STORAGE_QUEUE_URI,
    STORAGE_TABLE_URI,
    Settings,
    missing_storage_settings,
)
from backup.domain.pacing import ARM_DEFAULT_LIMITS, BucketLimits, Category
from tests.paths import REPO_ROOT


def run_cli(command: str, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backup.cli", command],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["plan", "retention"])
def test_no_settings_names_every_missing_storage_setting_in_one_line(command: str) -> None:
    finished = run_cli(command, {})
    assert finished.returncode == 2
    assert finished.stdout == ""
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("python -m backup.cli: missing settings: ")
    assert STORAGE_TABLE_URI in lines[0]
    assert STORAGE_QUEUE_URI in lines[0]
    assert STORAGE_CONNECTION_STRING in lines[0]


def test_only_the_settings_still_missing_are_named() -> None:
    finished = run_cli("plan", {STORAGE_TABLE_URI: "https://st.table.core.windows.net"})
    assert finished.returncode == 2
    [line] = finished.stderr.splitlines()
    assert f"missing settings: {STORAGE_QUEUE_URI} " in line
    assert STORAGE_TABLE_URI not in line


def test_a_malformed_setting_is_named_in_one_line() -> None:
    finished = run_cli("plan", {STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true", CLOCK_SPEED: "fast"})
    assert finished.returncode == 2
    [line] = finished.stderr.splitlines()
    assert line == f"python -m backup.cli: invalid setting: {CLOCK_SPEED} must be a number, not 'fast'"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (ARM_STATIC_TOKENS, "[1, 2]"),
        (ARM_STATIC_TOKENS, "{"),
        (CLOCK_SPEED, "x"),
        (BACKUP_START_WINDOW, "1 hour"),
        (BACKUP_START_WINDOW, "PT0M"),
        (BACKUP_START_WINDOW, "P1M"),
        (BACKUP_START_WINDOW, "P2D"),
        (ARM_BUDGET_LIMITS, "writes=100"),
        (ARM_BUDGET_LIMITS, "writes=100+5"),
        (ARM_BUDGET_LIMITS, "updates=100+5/s"),
        (ARM_BUDGET_LIMITS, "writes=100+5/s,writes=50+5/s"),
        (ARM_BUDGET_LIMITS, "writes=100+5/s,"),
        (ARM_BUDGET_LIMITS, "writes=0+5/s"),
        (ARM_BUDGET_LIMITS, "writes=100+0/s"),
        (ARM_BUDGET_LIMITS, "writes=201+10/s"),
        (ARM_BUDGET_LIMITS, "reads=250+25.5/s"),
        (ARM_BUDGET_LIMITS, "reads=-1+5/s"),
    ],
)
def test_every_malformed_setting_error_names_the_setting(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} "):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("value", "window"),
    [
        (None, timedelta(hours=1)),
        ("PT30M", timedelta(minutes=30)),
        ("PT2H", timedelta(hours=2)),
        ("P1D", timedelta(days=1)),
    ],
)
def test_the_start_window_is_an_iso_duration_of_one_hour_by_default(
    value: str | None, window: timedelta
) -> None:
    environ = {} if value is None else {BACKUP_START_WINDOW: value}
    assert Settings.from_env(environ).backup_start_window == window


def test_the_arm_budget_is_arms_published_one_unless_a_setting_lowers_some_buckets() -> None:
    assert Settings.from_env({}).arm_budget_limits == ARM_DEFAULT_LIMITS
    lowered = Settings.from_env({ARM_BUDGET_LIMITS: " writes=10+5/s , reads=20+2.5/s"}).arm_budget_limits
    assert lowered == {
        Category.WRITES: BucketLimits(10, 5.0),
        Category.READS: BucketLimits(20, 2.5),
        Category.DELETES: ARM_DEFAULT_LIMITS[Category.DELETES],
    }


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, [STORAGE_TABLE_URI, STORAGE_QUEUE_URI]),
        ({STORAGE_QUEUE_URI: "https://st.queue.core.windows.net"}, [STORAGE_TABLE_URI]),
        ({STORAGE_TABLE_URI: "https://t", STORAGE_QUEUE_URI: "https://q"}, []),
        ({STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true"}, []),
        ({STORAGE_CONNECTION_STRING: "  "}, [STORAGE_TABLE_URI, STORAGE_QUEUE_URI]),
    ],
)
def test_missing_storage_settings(environ: dict[str, str], missing: list[str]) -> None:
    assert missing_storage_settings(Settings.from_env(environ)) == missing
