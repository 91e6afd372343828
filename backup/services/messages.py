"""The queue message that asks for one backup: a scheduled slot or an on-demand request.

Messages are small JSON documents, so a poison message can still be read and turned into a
failed job that names the instance and the slot.

A backup is a small state machine carried by its messages: phase ``start`` holds a write
token and PUTs the snapshot; phase ``poll`` (with ARM's operation URL) holds a read token
and GETs the operation. Every wait (ARM's Retry-After, the budget's "not yet") is a NEW
message sent with a visibility delay, so waiting never spends one of a message's deliveries;
``reserved`` marks a message deferred after its token was held, so it is not held twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from backup.domain.instance import VaultRef
from backup.errors import ValidationError

SCHEDULED = "scheduled"
ON_DEMAND = "onDemand"
START = "start"
POLL = "poll"


@dataclass(frozen=True)
class BackupRequest:
    vault: VaultRef
    instance: str
    kind: str
    slot: datetime | None = None
    """The scheduled slot; ``None`` for on-demand backups."""
    job_id: str | None = None
    """On-demand backups carry the job the API already created."""
    requested_at: datetime | None = None
    retention_tag_override: str | None = None
    requested_by: str = "system"
    instance_row: Mapping[str, Any] | None = None
    """The instance row (and its ETag) as the planner read it, so the worker needs no read of
    its own; the worker's write checks that ETag, so a row changed since is read afresh."""
    phase: str = START
    """``start`` (PUT the snapshot) or ``poll`` (GET ``operation_url``)."""
    operation_url: str | None = None
    """The snapshot PUT's Azure-AsyncOperation URL, in the ``poll`` phase."""
    reserved: bool = False
    """The ARM token for this phase's request is already held (a deferred message)."""
    failures: int = 0
    """Real failures this backup has met in earlier messages (deliveries that raised); waits
    are not failures. With the current delivery it decides the final attempt."""

    def next_phase(
        self, phase: str, *, operation_url: str | None = None, reserved: bool = False
    ) -> BackupRequest:
        """This backup's next message (or the same step again, later)."""
        return replace(self, phase=phase, operation_url=operation_url, reserved=reserved)

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "v": 1,
            "vault": [self.vault.subscription_id, self.vault.resource_group, self.vault.name],
            "instance": self.instance,
            "kind": self.kind,
        }
        optional = {
            "slot": self.slot.astimezone(UTC).isoformat() if self.slot else None,
            "jobId": self.job_id,
            "requestedAt": self.requested_at.astimezone(UTC).isoformat() if self.requested_at else None,
            "retentionTagOverride": self.retention_tag_override,
            "requestedBy": self.requested_by if self.requested_by != "system" else None,
            "instanceRow": self.instance_row,
            "phase": self.phase if self.phase != START else None,
            "operationUrl": self.operation_url,
            "reserved": True if self.reserved else None,
            "failures": self.failures or None,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> BackupRequest:
        try:
            body = json.loads(text)
            subscription_id, resource_group, vault = body["vault"]
            kind = body["kind"]
            if kind not in (SCHEDULED, ON_DEMAND):
                raise ValueError(f"unknown kind {kind!r}")
            slot = datetime.fromisoformat(body["slot"]) if body.get("slot") else None
            if kind == SCHEDULED and slot is None:
                raise ValueError("a scheduled backup needs its slot")
            requested = datetime.fromisoformat(body["requestedAt"]) if body.get("requestedAt") else None
            phase = body.get("phase") or START
            if phase not in (START, POLL):
                raise ValueError(f"unknown phase {phase!r}")
            operation_url = body.get("operationUrl")
            if phase == POLL and not isinstance(operation_url, str):
                raise ValueError("a poll needs its operation URL")
            return cls(
                vault=VaultRef(str(subscription_id), str(resource_group), str(vault)),
                instance=str(body["instance"]),
                kind=kind,
                slot=slot,
                job_id=body.get("jobId"),
                requested_at=requested,
                retention_tag_override=body.get("retentionTagOverride"),
                requested_by=body.get("requestedBy") or "system",
                instance_row=body.get("instanceRow") if isinstance(body.get("instanceRow"), dict) else None,
                phase=phase,
                operation_url=operation_url if phase == POLL else None,
                reserved=body.get("reserved") is True,
                failures=max(0, int(body.get("failures") or 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationError(
                f"unreadable backup request: {error}", code="MalformedQueueMessage"
            ) from error
