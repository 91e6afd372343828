"""The shapes every resource shares: the ARM error body, resource envelopes' read-only fields,
list pages and the lifecycle actions' optional body.

Answers are built by the endpoints; these declarations are what the OpenAPI document publishes
for them (a test checks every answer the API tests see against that document).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

READ_ONLY = msgspec.Meta(extra_json_schema={"readOnly": True})
ResourceId = Annotated[str, READ_ONLY, msgspec.Meta(description="The ARM id.")]
ResourceName = Annotated[str, READ_ONLY]
ResourceType = Annotated[str, READ_ONLY]
Time = Annotated[datetime, msgspec.Meta(tz=True)]
"""A point in time, RFC 3339 with its offset."""


def one_of(*values: str, description: str = "") -> msgspec.Meta:
    """A string the API answers in exactly one of these spellings."""
    return msgspec.Meta(extra_json_schema={"enum": list(values)}, description=description or None)


class UserFacingErrorInfo(msgspec.Struct, rename="camel", omit_defaults=True):
    """Azure Backup's UserFacingError: for a person, what happened and what to do about it."""

    code: str
    message: str
    recommended_action: Annotated[
        list[str],
        msgspec.Meta(description="What to do: which role on which scope, which limit, when it frees up."),
    ]
    is_retryable: Annotated[bool, msgspec.Meta(description="Whether the same request may succeed later.")]
    is_user_error: Annotated[
        bool, msgspec.Meta(description="True when the request or its configuration must change.")
    ]
    properties: Annotated[
        dict[str, str],
        msgspec.Meta(description="ActivityId: the request's x-ms-request-id, or the operation's id."),
    ]
    target: str | None = None


class ErrorAdditionalInfo(msgspec.Struct):
    type: Annotated[str, msgspec.Meta(extra_json_schema={"enum": ["UserFacingError"]})]
    info: UserFacingErrorInfo


class ErrorDetail(msgspec.Struct, rename="camel", omit_defaults=True):
    code: Annotated[str, msgspec.Meta(description="Azure's error code, e.g. ResourceNotFound.")]
    message: str
    target: (
        Annotated[str, msgspec.Meta(description="The parameter or JSON path of the field at fault.")] | None
    ) = None
    details: list[ErrorDetail] | None = None
    additional_info: list[ErrorAdditionalInfo] | None = None


class ErrorResponse(msgspec.Struct):
    """The ARM error body."""

    error: ErrorDetail


class ResourceGuardOperationRequest(msgspec.Struct, rename="camel"):
    """Optional; accepted and ignored (no resource guards here)."""

    resource_guard_operation_requests: list[str] | None = None


NextLink = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={"format": "uri"},
        description="The next page (same api-version, $skipToken and $filter); absent on the last page.",
    ),
]


def page_of(item: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``{item}List``: one page of a list answer."""
    return msgspec.defstruct(
        f"{item.__name__}List",
        [("value", list[item]), ("nextLink", NextLink | None, None)],  # type: ignore[valid-type]
        omit_defaults=True,
    )
