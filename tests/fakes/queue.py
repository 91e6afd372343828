"""An in-memory queue behind the ``SendMessages`` port (``backup.services.messages``)."""

from __future__ import annotations

from collections.abc import Sequence


class FakeQueue:
    """Called like the runtime's sender: ``await queue(messages)``. Keeps what was sent, in order.

    ``fail_next`` makes the next sends raise, as a queue service outage would; nothing of a
    failed send is kept.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._failures: list[BaseException] = []

    async def __call__(self, messages: Sequence[str]) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.messages.extend(messages)

    def fail_next(self, error: BaseException, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def take(self) -> list[str]:
        """Receive everything sent so far (the queue is empty afterwards)."""
        taken, self.messages = self.messages, []
        return taken
