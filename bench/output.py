"""Where the benchmark's output goes: figures alone on standard output, everything else in a log.

Under the fault mix the engine logs thousands of lines of expected tracebacks (throttled and
failed ARM calls it retries). Those belong in a file a reader can open when a figure looks wrong,
not between the figures that scripts and people read from standard output. Standard output is
redirected at the file-descriptor level, so stray prints and child processes (Azurite) land in the
log too; the figures are written to a duplicate of the original descriptor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

DEFAULT_LOG = Path("build") / "bench.log"
FIGURE_NAME = re.compile(r"[a-z0-9_]+")

Report = Callable[[Mapping[str, float]], None]


def format_figure(name: str, value: float) -> str:
    if not FIGURE_NAME.fullmatch(name):
        raise ValueError(f"figure name {name!r} is not snake_case")
    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f"{name}: {shown}"


@contextlib.contextmanager
def figures_on_stdout(log_path: Path = DEFAULT_LOG) -> Iterator[Report]:
    """Route logging, warnings and anything else written to standard output into ``log_path``
    (named once on standard error); yield the function that prints figures on standard output."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    figures = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    log = open(log_path, "w", buffering=1)  # noqa: SIM115 - closed in the finally below
    os.dup2(log.fileno(), sys.stdout.fileno())
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    print(f"bench: logs and expected fault tracebacks go to {log_path}", file=sys.stderr, flush=True)

    def report(measured: Mapping[str, float]) -> None:
        for name, value in measured.items():
            print(format_figure(name, value), file=figures, flush=True)

    try:
        yield report
    finally:
        sys.stdout.flush()
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(previous_level)
        os.dup2(figures.fileno(), sys.stdout.fileno())
        figures.close()
        log.close()
