"""A snapshot PUT driven without the SDK's poller: what ARM answered, one step at a time.

The backup worker does not wait inside one execution for a long-running operation; it PUTs,
gets :class:`Accepted` (the operation's status URL and how long ARM asks the client to wait),
and comes back later as a fresh queue message to poll, which answers :class:`InProgress` or
the finished snapshot. So a busy estate holds no execution (and no delivery) while ARM works.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRY_AFTER_SECONDS = 2.0
"""What to wait when ARM sends no Retry-After (DiskRP's own first answer says 2)."""


@dataclass(frozen=True)
class Accepted:
    """ARM took the PUT (202): poll ``operation_url`` after ``retry_after`` seconds."""

    operation_url: str
    retry_after: float


@dataclass(frozen=True)
class InProgress:
    """The operation is still running: poll again after ``retry_after`` seconds."""

    retry_after: float


def retry_after_seconds(value: str | None, default: float = DEFAULT_RETRY_AFTER_SECONDS) -> float:
    """ARM's ``Retry-After`` (delta-seconds); anything unreadable or absent is ``default``."""
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if seconds >= 0 else default
