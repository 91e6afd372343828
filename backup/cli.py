"""Operator commands, run with the app's settings in the environment.

``python -m backup.cli reconcile``   rebuild points from verified snapshots; report strays, look-alikes
``python -m backup.cli plan``        one planner tick (enqueue due backups)
``python -m backup.cli work``        drain the backup queue in this process
``python -m backup.cli retention``   what the retention timer does: sweep, purge, daily reconcile

Each prints one JSON object with what it did. They are the same services the Functions
triggers call, so a person can run a step by hand (after an outage, or to check a fix).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from backup import names
from backup.bootstrap import Runtime
from backup.config import STORAGE_CONNECTION_STRING, Settings, missing_storage_settings
from backup.domain.limits import MAX_DEQUEUE_COUNT
from backup.services.backup_runner import Outcome

IDLE_POLL_SECONDS = 0.25
DRAIN_MAX_WAIT_SECONDS = 300.0
"""How long ``work`` waits for a backup's delayed steps before it gives up and returns."""
_log = logging.getLogger(__name__)


async def _receive_one_batch(queue: QueueClient, size: int, visibility_timeout: int) -> list[QueueMessage]:
    """One receive call. (Iterating the pager would keep fetching pages past ``size``.)"""
    pages = queue.receive_messages(messages_per_page=size, visibility_timeout=visibility_timeout).by_page()
    async for page in pages:
        return [message async for message in page]
    return []


async def _pending(queue: QueueClient) -> bool:
    """Whether the queue still holds messages, visible or not (a backup's delayed next step)."""
    properties = await queue.get_queue_properties()
    return bool(properties.approximate_message_count)


async def drain_backup_queue(
    runtime: Runtime,
    *,
    deliveries: int = 1,
    visibility_timeout: int = 30,
    max_idle_polls: int = 1,
    batch_size: int = 32,
    max_wait_seconds: float = DRAIN_MAX_WAIT_SECONDS,
) -> list[Outcome]:
    """Work the backup queue until it stays empty, the way the Functions host would; the
    outcomes of the backups that ended (a step that only sends the next one is no outcome).

    A failure leaves the message to reappear; after its last allowed delivery it moves to
    the poison queue and is recorded as a failed job. ``deliveries`` > 1 hands every message
    to the runner that many times (an idempotency drill). While the queue still holds
    invisible messages (a backup's next step, delayed by ARM's Retry-After or the budget), an
    empty receive is not idleness: the drain waits for them, for at most ``max_wait_seconds``.
    """
    queue = await runtime.storage.queue(names.BACKUP_QUEUE)
    runner = runtime.runner
    outcomes: list[Outcome] = []
    idle = 0
    deadline = asyncio.get_running_loop().time() + max_wait_seconds
    while idle < max_idle_polls:
        batch = await _receive_one_batch(queue, batch_size, visibility_timeout)
        if not batch:
            if asyncio.get_running_loop().time() < deadline and await _pending(queue):
                await asyncio.sleep(IDLE_POLL_SECONDS)
                continue
            idle += 1
            if idle < max_idle_polls:
                await asyncio.sleep(IDLE_POLL_SECONDS)
            continue
        idle = 0
        for message in batch:
            body = message.content
            delivery = message.dequeue_count or 1
            failed = False
            for _ in range(deliveries):
                try:
                    outcome = await runner.handle_message(body, delivery)
                except Exception:
                    logging.getLogger(__name__).exception(
                        "backup attempt failed; the message will be retried"
                    )
                    failed = True
                else:
                    if outcome.is_final:
                        outcomes.append(outcome)
            # A message held longer than its visibility timeout was handed to another worker, which
            # now owns it; the work is idempotent, so that is only a wasted run, not a problem.
            with contextlib.suppress(ResourceNotFoundError):
                if not failed:
                    await queue.delete_message(message)
                elif delivery >= MAX_DEQUEUE_COUNT:
                    poison = await runtime.storage.queue(names.BACKUP_QUEUE + names.POISON_SUFFIX)
                    await poison.send_message(body if isinstance(body, str) else body.decode())
                    await queue.delete_message(message)
                    await runner.handle_poison(body)
                else:
                    # Visible again at once, content unchanged (passing the message would re-encode it).
                    await queue.update_message(
                        message.id, pop_receipt=message.pop_receipt, visibility_timeout=0
                    )
    return outcomes


async def _run(command: str, runtime: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    if command == "reconcile":
        report = await runtime.reconciler.reconcile()
        return {"recovered": report.recovered, "unmatched": report.unmatched, "lookalikes": report.lookalikes}
    if command == "plan":
        result = await runtime.planner.tick()
        return {"enqueued": len(result.enqueued), "catchUp": result.catch_up, "lostRaces": result.lost_races}
    if command == "work":
        outcomes = await drain_backup_queue(
            runtime, deliveries=args.deliveries, max_idle_polls=args.idle_polls, batch_size=args.batch
        )
        return {outcome.value: outcomes.count(outcome) for outcome in Outcome}
    if command == "retention":
        # The retention timer's work, exactly: sweep, purge, and the daily reconciliation.
        done = await runtime.maintenance.run()
        sweep, purge, reconciled = done.sweep, done.purge, done.reconcile
        return {
            "deleted": len(sweep.deleted),
            "notOurs": sweep.not_ours,
            "errors": sweep.errors,
            "purged": len(purge.purged),
            "recovered": None if reconciled is None else len(reconciled.recovered),
            "lookalikes": None if reconciled is None else reconciled.lookalikes,
        }
    raise ValueError(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backup.cli", description=__doc__)
    parser.add_argument("command", choices=("reconcile", "plan", "work", "retention"))
    parser.add_argument("--deliveries", type=int, default=1, help="work: hand each message over N times")
    parser.add_argument("--idle-polls", type=int, default=1, help="work: empty polls before stopping")
    parser.add_argument("--batch", type=int, default=32, help="work: messages taken per receive (1-32)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("azure").setLevel(logging.WARNING)

    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"{parser.prog}: invalid setting: {error}", file=sys.stderr)
        return 2
    if missing := missing_storage_settings(settings):
        print(
            f"{parser.prog}: missing settings: {', '.join(missing)} "
            f"(or, against Azurite, {STORAGE_CONNECTION_STRING} with its connection string)",
            file=sys.stderr,
        )
        return 2

    async def run() -> dict[str, Any]:
        runtime = Runtime.from_settings(settings)
        try:
            return await _run(args.command, runtime, args)
        finally:
            await runtime.close()

    print(json.dumps(asyncio.run(run())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
