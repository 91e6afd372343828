"""``python -m tests.integration.engine.pacing_worker EXECUTIONS``: one worker process of the
pacing test, with the app's settings in the environment.

It is the Functions host's queue trigger in miniature: ``EXECUTIONS`` concurrent executions,
each taking one message at a time through the product's own drain (``drain_backup_queue``), all
sharing this process's runtime, as one host instance's executions do. It prints one JSON object,
the outcomes by name, and exits when the queue stays empty.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter

from backup.bootstrap import Runtime
from backup.cli import drain_backup_queue
from backup.config import Settings
from backup.services.backup_runner import Outcome

IDLE_POLLS = 4
"""Empty receives in a row (with the queue empty) before an execution stops."""


async def work(executions: int) -> dict[str, int]:
    runtime = Runtime.from_settings(Settings.from_env())
    try:
        drains = await asyncio.gather(
            *(drain_backup_queue(runtime, batch_size=1, max_idle_polls=IDLE_POLLS) for _ in range(executions))
        )
    finally:
        await runtime.close()
    counts = Counter(outcome for outcomes in drains for outcome in outcomes)
    return {outcome.value: counts[outcome] for outcome in Outcome}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("azure").setLevel(logging.WARNING)
    print(json.dumps(asyncio.run(work(int(argv[0])))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
