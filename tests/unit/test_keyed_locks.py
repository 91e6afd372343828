"""KeyedLocks: one holder per key at a time, other keys free, nothing kept once all are done."""

from __future__ import annotations

import asyncio

from backup.services.serial import KeyedLocks


async def test_holders_of_one_key_take_turns_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    events: list[str] = []
    first_inside = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with locks.hold("a"):
            events.append("first in")
            first_inside.set()
            await release_first.wait()
            events.append("first out")

    async def second() -> None:
        await first_inside.wait()
        async with locks.hold("a"):
            events.append("second in")

    async def other_key() -> None:
        await first_inside.wait()
        async with locks.hold("b"):
            events.append("other key in")
        release_first.set()

    await asyncio.gather(first(), second(), other_key())
    assert events == ["first in", "other key in", "first out", "second in"]
    assert len(locks) == 0


async def test_a_holder_that_fails_releases_the_key() -> None:
    locks = KeyedLocks()
    try:
        async with locks.hold("a"):
            raise RuntimeError("refused")
    except RuntimeError:
        pass
    assert len(locks) == 0
    async with locks.hold("a"):
        assert len(locks) == 1
