"""The backup queue message: its phases round-trip, old messages read as a start, and a
message that cannot be a valid step is refused as unreadable."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from backup.adapters.queues import MAX_VISIBILITY_DELAY_SECONDS, visibility_delay
from backup.domain.instance import VaultRef
from backup.errors import ValidationError
from backup.services.messages import ON_DEMAND, POLL, SCHEDULED, START, BackupRequest

VAULT = VaultRef("11111111-0000-4000-8000-000000000001", "rg", "vault")
SLOT = datetime(2026, 11, 2, 4, tzinfo=UTC)
URL = "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/eastus/DiskOperations/1"


def test_a_poll_step_round_trips_with_its_url_marker_and_failures() -> None:
    request = BackupRequest(VAULT, "disk-a-instance", SCHEDULED, slot=SLOT).next_phase(
        POLL, operation_url=URL, reserved=True
    )
    request = replace(request, failures=2)
    body = json.loads(request.to_json())
    assert (body["phase"], body["operationUrl"], body["reserved"], body["failures"]) == (POLL, URL, True, 2)
    assert BackupRequest.from_json(request.to_json()) == request


def test_a_message_without_a_phase_is_a_start_and_a_start_writes_none() -> None:
    old = json.dumps({"v": 1, "vault": ["s", "rg", "v"], "instance": "i", "kind": ON_DEMAND, "jobId": "j",
                      "requestedAt": SLOT.isoformat()})  # fmt: skip
    request = BackupRequest.from_json(old)
    assert (request.phase, request.operation_url, request.reserved, request.failures) == (
        START,
        None,
        False,
        0,
    )
    assert set(json.loads(request.to_json())) == {"v", "vault", "instance", "kind", "jobId", "requestedAt"}


@pytest.mark.parametrize(
    "change",
    [{"phase": "later"}, {"phase": POLL}, {"phase": POLL, "operationUrl": 7}],
    ids=["unknown phase", "poll without url", "url not text"],
)
def test_a_step_that_cannot_be_run_is_unreadable(change: dict[str, object]) -> None:
    body = {"v": 1, "vault": ["s", "rg", "v"], "instance": "i", "kind": SCHEDULED, "slot": SLOT.isoformat()}
    with pytest.raises(ValidationError) as refused:
        BackupRequest.from_json(json.dumps({**body, **change}))
    assert refused.value.code == "MalformedQueueMessage"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, 0), (0.2, 1), (2, 2), (-3, 0), (30 * 24 * 3600, MAX_VISIBILITY_DELAY_SECONDS)],
)
def test_a_wait_becomes_a_whole_second_visibility_delay_a_queue_accepts(
    seconds: float, expected: int
) -> None:
    assert visibility_delay(seconds) == expected
