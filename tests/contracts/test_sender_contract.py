"""The message sender's contract (``SendMessages``), held by the in-memory queue and by the
runtime's real sender on an Azurite queue: every message sent arrives once, byte for byte, and
an empty batch sends nothing. Order is not part of the contract (Azure queues do not promise it).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueServiceClient

from backup import names
from backup.bootstrap import Runtime
from backup.config import Settings
from tests.fakes.queue import FakeQueue


@dataclass
class Channel:
    send: Callable[[Sequence[str]], Awaitable[None]]
    receive: Callable[[], Awaitable[list[str]]]


@pytest.fixture
async def channel(adapter: str, request: pytest.FixtureRequest) -> AsyncIterator[Channel]:
    if adapter == "fake":
        queue = FakeQueue()

        async def take() -> list[str]:
            return queue.take()

        yield Channel(queue, take)
        return
    azurite = request.getfixturevalue("azurite")
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        with contextlib.suppress(ResourceNotFoundError):
            await service.delete_queue(names.BACKUP_QUEUE)
    runtime = Runtime.from_settings(
        Settings(storage_connection_string=azurite.connection_string, arm_static_token="unused")
    )

    async def receive() -> list[str]:
        queue = await runtime.storage.queue(names.BACKUP_QUEUE)
        bodies = []
        async for message in queue.receive_messages(max_messages=32):
            content = message.content
            bodies.append(content.decode() if isinstance(content, bytes) else str(content))
            await queue.delete_message(message)
        return bodies

    yield Channel(runtime.send_backup_requests, receive)
    await runtime.close()


async def test_every_message_arrives_once_and_intact(channel: Channel) -> None:
    sent = [
        json.dumps({"v": 1, "instance": f"disk-{index}", "note": "ünïcode & <xml>", "id": uuid.uuid4().hex})
        for index in range(20)
    ]
    await channel.send(sent)
    assert sorted(await channel.receive()) == sorted(sent)
    assert await channel.receive() == []


async def test_an_empty_batch_sends_nothing(channel: Channel) -> None:
    await channel.send([])
    assert await channel.receive() == []
