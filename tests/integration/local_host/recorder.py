"""What the sample functions saw, for the tests to wait on (the host runs them in-process)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def record(self, kind: str, **data: Any) -> None:
        with self._lock:
            self._events.append({"kind": kind, **data})

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self._events if event["kind"] == kind]

    async def wait_for(
        self, kind: str, predicate: Callable[[list[dict[str, Any]]], bool], deadline: float = 15.0
    ) -> list[dict[str, Any]]:
        """The events of ``kind`` once ``predicate`` holds for them; fails after ``deadline`` seconds."""
        give_up = time.monotonic() + deadline
        while True:
            events = self.of(kind)
            if predicate(events):
                return events
            if time.monotonic() > give_up:
                raise AssertionError(f"gave up waiting for {kind!r} events; saw {events}")
            await asyncio.sleep(0.02)


events = Recorder()
