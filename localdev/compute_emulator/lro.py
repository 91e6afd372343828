"""DiskRP long-running operations: the operation record and its two monitor views.

ARM clients may follow either ``Azure-AsyncOperation`` (a status resource, always 200) or
``Location`` (202 until done, then the synchronous answer). azure-mgmt-core prefers the first,
other tools the second, so both views are served from one record.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

OperationKind = Literal["create", "update", "delete"]


@dataclass
class Failure:
    code: str
    message: str
    status: int = 500


@dataclass
class Operation:
    id: str
    kind: OperationKind
    resource_key: str
    subscription_id: str
    location: str
    api_version: str
    start: datetime
    duration_seconds: float
    query_token: str
    failure: Failure | None = None
    status: str = "InProgress"
    end: datetime | None = None
    # The resource as the completed operation left it (PUT/PATCH), for properties.output and
    # the Location view; and the pre-update document to restore if an update fails.
    output: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # lroMinInProgressPolls: polls that must have answered InProgress before the operation may
    # finish, counting only those made at or after ``polls_count_from`` (the 202's Retry-After).
    min_in_progress_polls: int = 0
    polls_count_from: datetime | None = None
    in_progress_polls: int = 0

    @property
    def done(self) -> bool:
        return self.status != "InProgress"

    def due(self, now: datetime) -> bool:
        return (
            not self.done
            and now >= self.start + timedelta(seconds=self.duration_seconds)
            and self.in_progress_polls >= self.min_in_progress_polls
        )

    def answered_in_progress(self, now: datetime) -> None:
        """Record a poll answered InProgress; one made before Retry-After was up does not count."""
        if self.polls_count_from is None or now >= self.polls_count_from:
            self.in_progress_polls += 1

    def status_url(self, base_url: str) -> str:
        return (
            f"{base_url}/subscriptions/{self.subscription_id}/providers/Microsoft.Compute/locations/"
            f"{self.location}/DiskOperations/{self.id}?p={self.query_token}&api-version={self.api_version}"
        )

    def monitor_url(self, base_url: str) -> str:
        # A proper query string: Azure's own examples drop the '?' here, which is a typo.
        return (
            f"{base_url}/subscriptions/{self.subscription_id}/providers/Microsoft.Compute/locations/"
            f"{self.location}/DiskOperations/{self.id}?p={self.query_token}&monitor=true"
            f"&api-version={self.api_version}"
        )

    def status_body(self) -> dict[str, Any]:
        """DiskRP's operation status. Once a PUT or PATCH has succeeded, ``properties.output`` is
        the resource as a GET would return it, so a client can finish from the poll without
        another GET. ARM's async-operation format puts an operation's result under ``properties``
        (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations);
        Compute names it ``output``. DiskRP's status resource is not in the published swagger
        (its LROs are modelled as ``final-state-via: location``, which the Location view below
        serves), so clients should fall back to one GET when ``output`` is absent."""
        body: dict[str, Any] = {"startTime": self.start.isoformat(), "status": self.status, "name": self.id}
        if self.end is not None:
            body["endTime"] = self.end.isoformat()
        if self.status == "Succeeded" and self.kind != "delete" and self.output is not None:
            body["properties"] = {"output": copy.deepcopy(self.output)}
        if self.status == "Failed" and self.failure is not None:
            body["error"] = {"code": self.failure.code, "message": self.failure.message}
        return body

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "resourceKey": self.resource_key,
            "status": self.status,
            "startTime": self.start.isoformat(),
            "endTime": self.end.isoformat() if self.end else None,
            "durationSeconds": self.duration_seconds,
            "minInProgressPolls": self.min_in_progress_polls,
            "inProgressPolls": self.in_progress_polls,
            "failure": None if self.failure is None else self.failure.__dict__,
        }
