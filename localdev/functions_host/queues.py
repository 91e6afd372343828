"""Queue triggers and queue output bindings against Azure Storage queues (Azurite locally).

Follows the Storage extension's queue listener:

* polls each trigger's queue, fetching ``batchSize`` messages at a time and fetching again
  when no more than ``newBatchThreshold`` are still being processed; when a poll finds nothing
  it backs off exponentially from 100 ms up to ``maxPollingInterval``;
* holds each message invisible while the function runs (a lease, renewed at half time);
* on success deletes the message; on failure makes it visible again after ``visibilityTimeout``
  (the retry delay); when a message has failed ``maxDequeueCount`` times it is copied, as is,
  to ``<queue>-poison`` and deleted. A message dequeued more often than that (a host that
  died mid-invocation) goes straight to the poison queue;
* messages are base64 (``messageEncoding``: ``base64``, the default, or ``none``). A message
  that is not valid base64 goes straight to the poison queue;
* queues (and poison queues) are created when missing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections.abc
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage as WorkerQueueMessage
from azure.storage.queue import QueueMessage as StorageMessage
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from localdev.functions_host.config import ConfigError, QueuesConfig, storage_connection_string
from localdev.functions_host.indexing import IndexedFunction, Outcome

log = logging.getLogger("localdev.functions_host")

MIN_POLLING_INTERVAL = 0.1


class QueueStore:
    """One async client per connection string and queue; creates queues on first use."""

    def __init__(self, encoding: str = "base64") -> None:
        self.encoding = encoding
        self._services: dict[str, QueueServiceClient] = {}
        self._queues: dict[tuple[str, str], QueueClient] = {}
        self._lock = asyncio.Lock()

    async def queue(self, connection: str | None, name: str) -> QueueClient:
        conn = storage_connection_string(connection)
        key = (conn, name)
        if key in self._queues:
            return self._queues[key]
        async with self._lock:
            if key not in self._queues:
                service = self._services.get(conn)
                if service is None:
                    service = self._services[conn] = QueueServiceClient.from_connection_string(conn)
                client = service.get_queue_client(name)
                with contextlib.suppress(ResourceExistsError):
                    await client.create_queue()
                self._queues[key] = client
        return self._queues[key]

    def encode(self, payload: bytes) -> str:
        if self.encoding == "base64":
            return base64.b64encode(payload).decode("ascii")
        return payload.decode("utf-8")

    def decode(self, content: str | None) -> bytes:
        if not content:
            return b""
        if self.encoding == "base64":
            return base64.b64decode(content, validate=True)
        return content.encode("utf-8")

    async def send(self, connection: str | None, name: str, payloads: list[bytes]) -> None:
        queue = await self.queue(connection, name)
        for payload in payloads:
            await queue.send_message(self.encode(payload))

    async def close(self) -> None:
        for client in self._queues.values():
            await client.close()
        for service in self._services.values():
            await service.close()
        self._queues.clear()
        self._services.clear()


def output_payloads(value: Any) -> list[bytes]:
    """What a queue output binding was set to, as message bodies (str, bytes, QueueMessage, lists)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.encode("utf-8")]
    if isinstance(value, bytes | bytearray):
        return [bytes(value)]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, collections.abc.Mapping):
        payloads: list[bytes] = []
        for item in value:
            if isinstance(item, collections.abc.Iterable) and not isinstance(item, str | bytes | bytearray):
                raise TypeError(f"invalid item in a queue output list: {type(item).__name__}")
            payloads.extend(output_payloads(item))
        return payloads
    raise TypeError(
        f"a queue output binding takes str, bytes, func.QueueMessage or a list of them, "
        f"not {type(value).__name__} (json.dumps it first)"
    )


async def write_queue_outputs(store: QueueStore, function: IndexedFunction, outputs: dict[str, Any]) -> None:
    for binding in function.outputs:
        if binding["type"].lower() != "queue":
            continue
        payloads = output_payloads(outputs.get(binding["name"]))
        if payloads:
            await store.send(binding.get("connection"), binding["queueName"], payloads)


Invoker = Callable[[IndexedFunction, Any, str], Awaitable[Outcome]]


_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def check_queue_name(name: str) -> None:
    """Queue names as Azure Storage allows them: 3-63 lowercase letters, digits and single hyphens."""
    if not _QUEUE_NAME.match(name):
        raise ConfigError(
            f"invalid queue name {name!r}: use 3-63 lowercase letters, digits and single hyphens"
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class QueueListener:
    def __init__(
        self,
        function: IndexedFunction,
        store: QueueStore,
        config: QueuesConfig,
        invoke: Invoker,
        stop: asyncio.Event,
        *,
        lease: timedelta = timedelta(minutes=10),
    ) -> None:
        self.function = function
        self.store = store
        self.config = config
        self._invoke = invoke
        self._stop = stop
        self._lease = max(int(lease.total_seconds()), 1)
        trigger = function.trigger
        self.queue_name: str = trigger["queueName"]
        self.connection: str | None = trigger.get("connection")
        self.poison_name = f"{self.queue_name}-poison"
        self._in_flight: set[asyncio.Task[None]] = set()

    async def prepare(self) -> None:
        """Create the queue now, so messages sent once the host has started are not lost."""
        try:
            await self.store.queue(self.connection, self.queue_name)
        except Exception as exc:
            log.warning("Cannot reach queue '%s' yet (will retry): %s", self.queue_name, _first_line(exc))

    async def run(self) -> None:
        delay = MIN_POLLING_INTERVAL
        max_delay = max(self.config.max_polling_interval.total_seconds(), MIN_POLLING_INTERVAL)
        try:
            while not self._stop.is_set():
                if len(self._in_flight) > self.config.fetch_threshold:
                    await asyncio.wait(self._in_flight, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    queue = await self.store.queue(self.connection, self.queue_name)
                    messages = [
                        message
                        async for message in queue.receive_messages(
                            messages_per_page=self.config.batch_size,
                            max_messages=self.config.batch_size,
                            visibility_timeout=self._lease,
                        )
                    ]
                except Exception as exc:
                    log.warning("Polling queue '%s' failed: %s", self.queue_name, _first_line(exc))
                    messages = []
                if messages:
                    for message in messages:
                        task = asyncio.create_task(self._process(queue, message))
                        self._in_flight.add(task)
                        task.add_done_callback(self._in_flight.discard)
                    delay = MIN_POLLING_INTERVAL
                    continue
                await _sleep(self._stop, delay)
                delay = min(delay * 2, max_delay)
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
        finally:
            for task in list(self._in_flight):
                task.cancel()
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _poison(self, queue: QueueClient, message: StorageMessage, pop_receipt: str) -> None:
        poison = await self.store.queue(self.connection, self.poison_name)
        await poison.send_message(message.content)
        await queue.delete_message(message.id, pop_receipt)

    async def _renew(self, queue: QueueClient, message_id: str, receipt: list[str]) -> None:
        while True:
            await asyncio.sleep(self._lease / 2)
            try:
                updated = await queue.update_message(message_id, receipt[0], visibility_timeout=self._lease)
            except Exception as exc:
                log.warning("Renewing the lease of message %s failed: %s", message_id, _first_line(exc))
                return
            receipt[0] = updated.pop_receipt or receipt[0]

    async def _process(self, queue: QueueClient, message: StorageMessage) -> None:
        max_count = self.config.max_dequeue_count
        count = message.dequeue_count or 1
        receipt: list[str] = [message.pop_receipt or ""]
        describe = f"trigger=queue:{self.queue_name} id={message.id} dequeueCount={count}"
        if count > max_count:
            log.warning(
                "Message %s has been dequeued %d times (MaxDequeueCount %d). Moving message to queue '%s'.",
                message.id,
                count,
                max_count,
                self.poison_name,
            )
            await self._poison(queue, message, receipt[0])
            return
        try:
            body = self.store.decode(message.content)
        except (binascii.Error, ValueError):
            log.error(
                "Message %s in queue '%s' is not valid base64. Moving message to queue '%s'.",
                message.id,
                self.queue_name,
                self.poison_name,
            )
            await self._poison(queue, message, receipt[0])
            return
        value = self._trigger_value(message, body)
        renewal = asyncio.create_task(self._renew(queue, message.id, receipt))
        outcome: Outcome | None = None
        try:
            outcome = await self._invoke(self.function, value, describe)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            if outcome is None:
                # Cancelled mid-invocation (the host is stopping): let the message be retried now.
                with contextlib.suppress(Exception):
                    await asyncio.shield(queue.update_message(message.id, receipt[0], visibility_timeout=0))
        assert outcome is not None
        try:
            if outcome.succeeded:
                await queue.delete_message(message.id, receipt[0])
            elif count >= max_count:
                log.warning(
                    "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
                    max_count,
                    self.poison_name,
                )
                await self._poison(queue, message, receipt[0])
            else:
                delay = int(self.config.visibility_timeout.total_seconds())
                await queue.update_message(message.id, receipt[0], visibility_timeout=delay)
        except Exception as exc:
            log.warning(
                "Completing message %s in queue '%s' failed: %s",
                message.id,
                self.queue_name,
                _first_line(exc),
            )

    def _trigger_value(self, message: StorageMessage, body: bytes) -> Any:
        annotation = self.function.trigger_annotation
        if annotation in (str, "str"):
            return body.decode("utf-8")
        if annotation in (bytes, "bytes"):
            return body
        return WorkerQueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
