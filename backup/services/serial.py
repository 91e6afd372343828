"""One request at a time per key, within this worker.

Optimistic concurrency (:mod:`backup.services.etag_retry`) keeps every write correct, but when
fifty callers start a restore of one instance at once, each lost race costs a read, a check and
a write, and a bounded number of retries ends in a 503 for contention the app itself caused.
Requests that write the same rows therefore queue behind one another here first: inside one
worker they no longer race at all, and the ETags still settle races between workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """An :class:`asyncio.Lock` per key, kept only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """How many keys are held or awaited now (none once every request has finished)."""
        return len(self._locks)
