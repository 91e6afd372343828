"""Azurite answers the async SDK clients the product uses, over real connections."""

from __future__ import annotations

import uuid

import pytest
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueServiceClient

from localdev.azurite import AzuriteEndpoints

pytestmark = pytest.mark.integration


def _unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:12]


async def test_table_entity_group_transaction_is_atomic(azurite: AzuriteEndpoints) -> None:
    table_name = _unique("smoke")
    async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        table = await service.create_table(table_name)
        await table.submit_transaction(
            [
                ("create", {"PartitionKey": "instance-1", "RowKey": "rp-1", "slot": "20261126T0000"}),
                ("create", {"PartitionKey": "instance-1", "RowKey": "job-1", "status": "Completed"}),
            ]
        )
        rows = [
            row async for row in table.query_entities("PartitionKey eq @pk", parameters={"pk": "instance-1"})
        ]
        assert sorted(row["RowKey"] for row in rows) == ["job-1", "rp-1"]

        # One failing operation must roll back the whole batch: rp-1 exists, so nothing lands.
        with pytest.raises(TableTransactionError):
            await table.submit_transaction(
                [
                    (
                        "upsert",
                        {"PartitionKey": "instance-1", "RowKey": "job-2"},
                        {"mode": UpdateMode.REPLACE},
                    ),
                    ("create", {"PartitionKey": "instance-1", "RowKey": "rp-1"}),
                ]
            )
        rows = [
            row async for row in table.query_entities("PartitionKey eq @pk", parameters={"pk": "instance-1"})
        ]
        assert sorted(row["RowKey"] for row in rows) == ["job-1", "rp-1"]
        await service.delete_table(table_name)


async def test_queue_round_trip(azurite: AzuriteEndpoints) -> None:
    queue_name = _unique("smoke-")
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = await service.create_queue(queue_name)
        await queue.send_message('{"instance": "disk-1", "slot": "20261126T0400"}')
        received = [message async for message in queue.receive_messages(visibility_timeout=30)]
        assert [message.content for message in received] == [
            '{"instance": "disk-1", "slot": "20261126T0400"}'
        ]
        assert received[0].dequeue_count == 1
        await queue.delete_message(received[0])
        assert [message async for message in queue.receive_messages()] == []
        await service.delete_queue(queue_name)


async def test_in_memory_azurite_serves_queues_and_tables_and_writes_no_data_folder() -> None:
    """The estate benchmarks run Azurite in memory (no fdatasync per queue message)."""
    from localdev.azurite import Azurite

    azurite = Azurite(in_memory=True)
    with azurite as endpoints:
        async with QueueServiceClient.from_connection_string(endpoints.connection_string) as service:
            queue = await service.create_queue("memory")
            await queue.send_message("kept in memory")
            assert [m.content async for m in queue.receive_messages()] == ["kept in memory"]
        async with TableServiceClient.from_connection_string(endpoints.connection_string) as tables:
            table = await tables.create_table("memory")
            await table.create_entity({"PartitionKey": "p", "RowKey": "r", "Value": 1})
            assert (await table.get_entity("p", "r"))["Value"] == 1
        # Azurite's on-disk stores (its loki databases and queue extents) are not there.
        written = {path.name for path in azurite.location.iterdir()}
        assert not any(name.startswith("__") for name in written), written
