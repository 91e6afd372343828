"""`make bench` prints only `name: value` figures on standard output; logs go to a file.

The routing runs in a fresh process, as `python -m bench` does, with everything that used to
clutter standard output: a logged traceback (as the engine logs a throttled ARM call), a Python
warning, a stray print and a child process that writes to its inherited standard output (as
Azurite does).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.output import format_figure
from tests.paths import REPO_ROOT

FIGURE_LINE = re.compile(r"[a-z0-9_]+: \S+")

NOISY_SCENARIO = textwrap.dedent(
    """
    import logging, subprocess, sys, warnings
    from pathlib import Path
    from bench.output import figures_on_stdout

    with figures_on_stdout(Path(sys.argv[1])) as report:
        report({"first_figure": 1.23456, "backups_in_tick": 4})
        try:
            raise ConnectionError("429 from ARM")
        except ConnectionError:
            logging.getLogger("backup.services.backup_runner").exception(
                "backup attempt failed; the message will be retried"
            )
        logging.getLogger("backup").info("below the log level")
        warnings.warn("a deprecation from a library")
        print("a stray print")
        subprocess.run([sys.executable, "-c", "print('a child process talking')"], check=True)
        report({"lost_slots": 0})
    print("after the bench")
    """
)


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    log = tmp_path_factory.mktemp("bench") / "logs" / "bench.log"
    finished = subprocess.run(
        [sys.executable, "-c", NOISY_SCENARIO, str(log)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished, log


def test_standard_output_holds_only_figures_until_the_bench_ends(
    noisy_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    finished, _ = noisy_run
    lines = finished.stdout.splitlines()
    assert lines == ["first_figure: 1.235", "backups_in_tick: 4", "lost_slots: 0", "after the bench"]
    assert all(FIGURE_LINE.fullmatch(line) for line in lines[:-1])


def test_the_log_file_gets_the_tracebacks_and_everything_else(
    noisy_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    finished, log = noisy_run
    text = log.read_text()
    assert "backup attempt failed; the message will be retried" in text
    assert "Traceback (most recent call last):" in text
    assert "ConnectionError: 429 from ARM" in text
    assert "a deprecation from a library" in text
    assert "a stray print" in text
    assert "a child process talking" in text
    assert "below the log level" not in text
    # Standard error names the log once and carries none of it.
    assert finished.stderr.count(str(log)) == 1
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("name", ["Tick wall", "tick-wall", "", "cold_import ratio"])
def test_a_figure_name_must_be_snake_case(name: str) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        format_figure(name, 1.0)
