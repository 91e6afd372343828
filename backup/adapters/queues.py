"""Sending messages to a Storage queue, with bounded concurrency, now or after a delay."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence

from backup.adapters.storage import StorageClients

MAX_VISIBILITY_DELAY_SECONDS = 7 * 24 * 3600 - 60
"""Storage queues hide a message for at most 7 days, and never past its time-to-live (7 days
by default): a longer wait is cut to just under that."""


class QueueSender:
    """The :data:`~backup.ports.SendMessages` port for one queue; the queue client is built on first send."""

    def __init__(self, storage: StorageClients, queue_name: str) -> None:
        self._storage = storage
        self._queue_name = queue_name

    async def __call__(self, messages: Sequence[str]) -> None:
        queue = await self._storage.queue(self._queue_name)
        await send_all(queue.send_message, messages)

    async def later(self, message: str, delay_seconds: float) -> None:
        """The :data:`~backup.ports.SendLater` port: one message, invisible for ``delay_seconds``."""
        queue = await self._storage.queue(self._queue_name)
        await queue.send_message(message, visibility_timeout=visibility_delay(delay_seconds))


def visibility_delay(seconds: float) -> int:
    """A wait as the queue takes it: whole seconds, rounded up, within what a queue allows."""
    return max(0, min(MAX_VISIBILITY_DELAY_SECONDS, math.ceil(seconds)))


async def send_all(
    send_one: Callable[[str], Awaitable[object]], messages: Sequence[str], limit: int = 16
) -> None:
    """Send messages with bounded concurrency; the first failure propagates after all finish."""
    gate = asyncio.Semaphore(limit)

    async def guarded(message: str) -> None:
        async with gate:
            await send_one(message)

    results = await asyncio.gather(*(guarded(message) for message in messages), return_exceptions=True)
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
