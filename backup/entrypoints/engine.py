"""The backup engine's triggers: plan on a timer, back up per queue message, prune on a timer,
and recount each vault's overview summary on a timer."""

from __future__ import annotations

import logging

import azure.functions as func

from backup import names
from backup.config import (
    APPLY_RETENTION_SCHEDULE,
    COUNT_OVERVIEW_SCHEDULE,
    PLAN_BACKUPS_SCHEDULE,
    STORAGE_CONNECTION_STRING,
)
from backup.entrypoints.deferred import runtime

blueprint = func.Blueprint()
_log = logging.getLogger(__name__)


@blueprint.function_name("plan-backups")
@blueprint.timer_trigger(arg_name="timer", schedule=f"%{PLAN_BACKUPS_SCHEDULE}%", use_monitor=True)
async def plan_backups(timer: func.TimerRequest) -> None:
    if timer.past_due:
        _log.warning("plan-backups is running late; missed slots get one catch-up backup each")
    await runtime().planner.tick()


@blueprint.function_name("run-backup")
@blueprint.queue_trigger(
    arg_name="message", queue_name=names.BACKUP_QUEUE, connection=STORAGE_CONNECTION_STRING
)
async def run_backup(message: func.QueueMessage) -> None:
    await runtime().runner.handle_message(message.get_body(), message.dequeue_count or 1)


@blueprint.function_name("record-poisoned-backup")
@blueprint.queue_trigger(
    arg_name="message",
    queue_name=names.BACKUP_QUEUE + names.POISON_SUFFIX,
    connection=STORAGE_CONNECTION_STRING,
)
async def record_poisoned_backup(message: func.QueueMessage) -> None:
    await runtime().runner.handle_poison(message.get_body())


@blueprint.function_name("apply-retention")
@blueprint.timer_trigger(arg_name="timer", schedule=f"%{APPLY_RETENTION_SCHEDULE}%", use_monitor=True)
async def apply_retention(timer: func.TimerRequest) -> None:
    await runtime().maintenance.run()


@blueprint.function_name("count-overview")
@blueprint.timer_trigger(arg_name="timer", schedule=f"%{COUNT_OVERVIEW_SCHEDULE}%")
async def count_overview(timer: func.TimerRequest) -> None:
    await runtime().overview.recompute_all()
