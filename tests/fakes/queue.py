"""An in-memory queue behind the ``SendMessages`` and ``SendLater`` ports (``backup.services.messages``)."""

from __future__ import annotations

from collections.abc import Sequence


class FakeQueue:
    """Called like the runtime's sender: ``await queue(messages)``. Keeps what was sent, in order.

    ``fail_next`` makes the next sends raise, as a queue service outage would; nothing of a
    failed send is kept.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.delays: list[tuple[str, float]] = []
        """Every message sent with :meth:`later`, with its delay (it is also in ``messages``:
        the fake hands delayed messages over at the next receive, without waiting)."""
        self._failures: list[BaseException] = []

    async def __call__(self, messages: Sequence[str]) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.messages.extend(messages)

    async def later(self, message: str, delay_seconds: float) -> None:
        """The ``SendLater`` port: a message invisible for a while (here: recorded, not waited for)."""
        if self._failures:
            raise self._failures.pop(0)
        self.messages.append(message)
        self.delays.append((message, delay_seconds))

    def fail_next(self, error: BaseException, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def take(self) -> list[str]:
        """Receive everything sent so far (the queue is empty afterwards)."""
        taken, self.messages = self.messages, []
        return taken
