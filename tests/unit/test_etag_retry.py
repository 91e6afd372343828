"""The one optimistic-concurrency loop: how often it reads, and who decides when it stops."""

from __future__ import annotations

import pytest

from backup.domain.records import Versioned
from backup.errors import ConcurrencyError
from backup.services.etag_retry import WRITE_ATTEMPTS, raising, write_with_retry


class Row:
    def __init__(self, values: list[Versioned[int] | None]) -> None:
        self.values = values
        self.reads = 0
        self.writes: list[Versioned[int]] = []

    async def read(self) -> Versioned[int] | None:
        self.reads += 1
        return self.values.pop(0) if self.values else None

    async def write_losing(self, latest: Versioned[int]) -> str:
        self.writes.append(latest)
        raise ConcurrencyError("lost the race")


async def test_a_lost_race_reads_again_and_writes_against_the_new_etag() -> None:
    row = Row([Versioned(2, "e2")])
    won: list[Versioned[int]] = []

    async def write(latest: Versioned[int]) -> str:
        if latest.etag == "e1":
            raise ConcurrencyError("stale")
        won.append(latest)
        return "saved"

    result = await write_with_retry(
        write,
        row.read,
        current=Versioned(1, "e1"),
        gone=raising(lambda: LookupError()),
        exhausted=raising(lambda: RuntimeError()),
    )
    assert (result, won, row.reads) == ("saved", [Versioned(2, "e2")], 1)


async def test_a_row_that_is_gone_is_read_once_and_gone_decides_even_when_it_raises_a_race() -> None:
    row = Row([])
    with pytest.raises(ConcurrencyError, match="deleted meanwhile"):
        await write_with_retry(
            row.write_losing,
            row.read,
            gone=raising(lambda: ConcurrencyError("deleted meanwhile")),
            exhausted=raising(lambda: RuntimeError("exhausted")),
        )
    assert (row.reads, row.writes) == (1, [])


async def test_races_that_never_stop_end_in_exhausted_after_the_bound() -> None:
    row = Row([Versioned(n, f"e{n}") for n in range(WRITE_ATTEMPTS)])
    with pytest.raises(RuntimeError, match="exhausted"):
        await write_with_retry(
            row.write_losing,
            row.read,
            gone=raising(lambda: LookupError()),
            exhausted=raising(lambda: RuntimeError("exhausted")),
        )
    assert len(row.writes) == WRITE_ATTEMPTS
