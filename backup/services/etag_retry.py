"""Optimistic concurrency: write against what was read, and after a lost race read and try again.

Every write another writer could reach carries the ETag it was read at; the store answers a
lost race with :class:`~backup.errors.ConcurrencyError` (412) and changes nothing. The loops
that read, decide, write and retry all go through here, so the bound is one number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from backup.domain.records import Versioned
from backup.errors import ConcurrencyError

WRITE_ATTEMPTS = 5
"""Tries allowed when other writers keep changing the row between our read and our write."""

V = TypeVar("V")
R = TypeVar("R")


async def retry_lost_races(
    attempt: Callable[[], Awaitable[R]], *, exhausted: Callable[[], Awaitable[R]]
) -> R:
    """Run ``attempt`` (which reads, decides and writes) until it ends without a
    :class:`ConcurrencyError`, at most :data:`WRITE_ATTEMPTS` times; then ``exhausted`` decides
    (it returns a result or raises)."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            return await attempt()
        except ConcurrencyError:
            continue
    return await exhausted()


async def write_with_retry(
    write: Callable[[Versioned[V]], Awaitable[R]],
    read: Callable[[], Awaitable[Versioned[V] | None]],
    *,
    current: Versioned[V] | None = None,
    gone: Callable[[], Awaitable[R]],
    exhausted: Callable[[], Awaitable[R]],
) -> R:
    """``write`` against ``current`` (or what ``read`` returns); after a lost race read again.

    ``gone`` decides when the value no longer exists, ``exhausted`` when the races never stop;
    each returns a result or raises, outside the retries (a ``gone`` that raises a
    :class:`ConcurrencyError` ends the write; it is not taken for one more lost race)."""
    latest = current

    async def attempt() -> R | _Gone:
        nonlocal latest
        if latest is None:
            latest = await read()
            if latest is None:
                return _GONE
        try:
            return await write(latest)
        except ConcurrencyError:
            latest = None
            raise

    result = await retry_lost_races(attempt, exhausted=exhausted)
    if isinstance(result, _Gone):
        return await gone()
    return result


class _Gone:
    """What an attempt returns when the value it would write no longer exists."""


_GONE = _Gone()


def raising(error: Callable[[], BaseException]) -> Callable[[], Awaitable[R]]:
    """For ``gone`` and ``exhausted``: raise the error ``error()`` builds."""

    async def fail() -> R:
        raise error()

    return fail
