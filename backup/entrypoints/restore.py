"""The restore worker's triggers: create the disk per queue message, record poisoned messages."""

from __future__ import annotations

import azure.functions as func

from backup import names
from backup.config import STORAGE_CONNECTION_STRING
from backup.entrypoints.deferred import runtime

blueprint = func.Blueprint()


@blueprint.function_name("run-restore")
@blueprint.queue_trigger(
    arg_name="message", queue_name=names.RESTORE_QUEUE, connection=STORAGE_CONNECTION_STRING
)
async def run_restore(message: func.QueueMessage) -> None:
    await runtime().restore_runner.handle_message(message.get_body(), message.dequeue_count or 1)


@blueprint.function_name("record-poisoned-restore")
@blueprint.queue_trigger(
    arg_name="message",
    queue_name=names.RESTORE_QUEUE + names.POISON_SUFFIX,
    connection=STORAGE_CONNECTION_STRING,
)
async def record_poisoned_restore(message: func.QueueMessage) -> None:
    await runtime().restore_runner.handle_poison(message.get_body())
