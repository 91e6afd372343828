"""Queue triggers and queue output bindings against Azurite: base64, deletes, retries, poison."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp
import azure.functions as func
import pytest
from azure.storage.queue.aio import QueueServiceClient

from localdev.azurite import AzuriteEndpoints
from tests.integration.local_host.conftest import StartHost
from tests.integration.local_host.recorder import events

pytestmark = pytest.mark.integration


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _eventually(check: Callable[[], Awaitable[bool]], deadline: float = 20.0) -> None:
    give_up = time.monotonic() + deadline
    while not await check():
        assert time.monotonic() < give_up, "gave up waiting"
        await asyncio.sleep(0.05)


async def test_a_message_is_decoded_passed_and_deleted_on_success(
    start_host: StartHost, azurite: AzuriteEndpoints, queues: dict[str, str]
) -> None:
    await start_host()
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = service.get_queue_client(queues["OK_QUEUE"])
        sent = await queue.send_message(_b64('{"disk": "disk-1"}'))
        seen = await events.wait_for("ok_consumer", lambda e: len(e) >= 1)
        assert len(seen) == 1
        message = seen[0]
        assert issubclass(message["type"], func.QueueMessage)
        assert message["id"] == sent.id
        assert message["body"] == b'{"disk": "disk-1"}'
        assert message["dequeue_count"] == 1
        assert isinstance(message["insertion_time"], datetime)
        assert isinstance(message["expiration_time"], datetime)
        assert message["pop_receipt"]

        async def deleted() -> bool:
            return await queue.peek_messages() == []

        await _eventually(deleted)


async def test_a_failing_message_is_retried_then_moved_to_the_poison_queue(
    start_host: StartHost, azurite: AzuriteEndpoints, queues: dict[str, str]
) -> None:
    host = await start_host()
    assert host.config.queues.max_dequeue_count == 3
    name = queues["FAIL_QUEUE"]
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = service.get_queue_client(name)
        poison = service.get_queue_client(f"{name}-poison")
        sent = await queue.send_message(_b64("doomed"))

        async def poisoned() -> bool:
            try:
                in_poison = await poison.peek_messages()
            except Exception:  # the poison queue does not exist yet
                return False
            return len(in_poison) == 1 and await queue.peek_messages() == []

        await _eventually(poisoned)
        [moved] = await poison.peek_messages()
        assert moved.content == _b64("doomed")
    attempts = [e for e in events.of("failing_consumer") if e["id"] == sent.id]
    assert [e["dequeue_count"] for e in attempts] == [1, 2, 3]
    assert {e["body"] for e in attempts} == {b"doomed"}


async def test_a_message_that_is_not_base64_goes_straight_to_the_poison_queue(
    start_host: StartHost, azurite: AzuriteEndpoints, queues: dict[str, str]
) -> None:
    await start_host()
    name = queues["OK_QUEUE"]
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = service.get_queue_client(name)
        poison = service.get_queue_client(f"{name}-poison")
        await queue.send_message("not base64!")

        async def poisoned() -> bool:
            try:
                return [m.content for m in await poison.peek_messages()] == ["not base64!"]
            except Exception:
                return False

        await _eventually(poisoned)
    assert events.of("ok_consumer") == []


async def test_an_http_function_writes_base64_messages_through_its_queue_output(
    start_host: StartHost, azurite: AzuriteEndpoints, queues: dict[str, str]
) -> None:
    host = await start_host()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{host.api_base_url}/enqueue", data="first\nsecond") as response,
    ):
        assert response.status == 202
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = service.get_queue_client(queues["OUT_QUEUE"])
        messages = await queue.peek_messages(max_messages=32)
    assert sorted(m.content for m in messages) == sorted([_b64("first"), _b64("second")])


async def test_queue_output_feeds_a_queue_trigger(start_host: StartHost, queues: dict[str, str]) -> None:
    host = await start_host(settings={"OUT_QUEUE": queues["OK_QUEUE"]})
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{host.api_base_url}/enqueue", data="chained") as response,
    ):
        assert response.status == 202
    seen = await events.wait_for("ok_consumer", lambda e: len(e) >= 1)
    assert [e["body"] for e in seen] == [b"chained"]
