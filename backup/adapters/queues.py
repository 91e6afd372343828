"""Sending messages to a Storage queue, with bounded concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from backup.adapters.storage import StorageClients


class QueueSender:
    """The :data:`~backup.ports.SendMessages` port for one queue; the queue client is built on first send."""

    def __init__(self, storage: StorageClients, queue_name: str) -> None:
        self._storage = storage
        self._queue_name = queue_name

    async def __call__(self, messages: Sequence[str]) -> None:
        queue = await self._storage.queue(self._queue_name)
        await send_all(queue.send_message, messages)


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
