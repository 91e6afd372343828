"""Timer and queue triggers of the sample app."""

from __future__ import annotations

import azure.functions as func

from tests.integration.local_host.recorder import events

blueprint = func.Blueprint()


@blueprint.timer_trigger(arg_name="timer", schedule="%EVERY_SECOND%")
def every_second(timer: func.TimerRequest) -> None:
    events.record("every_second", past_due=timer.past_due, status=dict(timer.schedule_status))


@blueprint.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
async def every_five_minutes(timer: func.TimerRequest) -> None:
    events.record("every_five_minutes", past_due=timer.past_due, status=dict(timer.schedule_status))


@blueprint.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
def on_startup(timer: func.TimerRequest) -> None:
    events.record("on_startup", past_due=timer.past_due)


@blueprint.queue_trigger(arg_name="msg", queue_name="%OK_QUEUE%", connection="AzureWebJobsStorage")
async def ok_consumer(msg: func.QueueMessage) -> None:
    events.record(
        "ok_consumer",
        id=msg.id,
        body=msg.get_body(),
        dequeue_count=msg.dequeue_count,
        insertion_time=msg.insertion_time,
        expiration_time=msg.expiration_time,
        pop_receipt=msg.pop_receipt,
        type=type(msg),
    )


@blueprint.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%", connection="AzureWebJobsStorage")
def failing_consumer(msg: func.QueueMessage) -> None:
    events.record("failing_consumer", id=msg.id, dequeue_count=msg.dequeue_count, body=msg.get_body())
    raise RuntimeError("always fails")
