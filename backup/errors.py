"""The product's one exception tree.

Every error the product raises on purpose derives from :class:`BackupError`. Each class
fixes three things that callers must not have to guess:

* ``retryable`` - whether running the same operation again can succeed. Queue-triggered
  functions re-raise retryable errors so the platform redelivers the message, and record
  permanent ones as a failed job without raising, so a poison message is never the way a
  known failure is reported.
* ``status`` - the HTTP status the API answers with.
* ``code`` - the ARM error code (Azure's own vocabulary where one exists).
* ``recommended_action`` - what a person should do about it, as Azure Backup's
  ``UserFacingError.recommendedAction`` says it: each class has one, and a raise that knows
  more (which role on which scope, which limit and when it frees up) passes its own.

The API answers every error as ARM's body with Azure Backup's ``UserFacingError`` in
``additionalInfo`` (:meth:`BackupError.to_arm_error`): ``isRetryable`` is the class's
``retryable``, ``isUserError`` is true for the permanent branch (the caller or its
configuration must change), false for the retryable one and for the 500 of the base class.

::

    BackupError
    ├── PermanentError                 never retried
    │   ├── ValidationError            400  the request or policy is invalid
    │   ├── AuthorizationError         403  a role is missing (names action and scope)
    │   ├── NotFoundError              404  a resource does not exist
    │   ├── ConflictError              409  exists already / state forbids it
    │   │   └── ConcurrencyError       412  an ETag no longer matches (lost a race)
    │   └── LimitExceededError         409  a quota (snapshots per disk, backups per day)
    └── RetryableError                 retried by the SDK, then by queue redelivery
        ├── ThrottledError             429  carries ``retry_after`` seconds
        └── TransientError             503  5xx, connection reset, timeout
"""

from __future__ import annotations

import uuid
from typing import Final

USER_FACING_ERROR: Final = "UserFacingError"
"""The ``additionalInfo`` entry type that carries Azure Backup's user-facing error."""


class BackupError(Exception):
    """Base of every error the product raises deliberately."""

    status: int = 500
    code: str = "InternalError"
    retryable: bool = False
    user_error: bool = False
    recommended_action: str = (
        "Try again in a few minutes. If it keeps failing, report it with this error's ActivityId, "
        "which the app's logs carry too."
    )

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        recommended_action: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.target = target
        if recommended_action is not None:
            self.recommended_action = recommended_action

    def error_detail(self, activity_id: str | None = None) -> dict[str, object]:
        """ARM's error object (``code``, ``message``, ``target``?) with Azure Backup's
        ``UserFacingError`` in ``additionalInfo``; ``activity_id`` ties it to the request's logs."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        info: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "recommendedAction": [self.recommended_action],
            "isRetryable": self.retryable,
            "isUserError": self.user_error,
            "properties": {"ActivityId": activity_id or str(uuid.uuid4())},
        }
        if self.target is not None:
            info["target"] = self.target
        error["additionalInfo"] = [{"type": USER_FACING_ERROR, "info": info}]
        return error

    def to_arm_error(self, activity_id: str | None = None) -> dict[str, object]:
        """The body ARM clients expect: ``{"error": {...}}`` (see :meth:`error_detail`)."""
        return {"error": self.error_detail(activity_id)}


class PermanentError(BackupError):
    """Retrying cannot help; the caller or the configuration must change."""

    status = 400
    code = "BadRequest"
    user_error = True
    recommended_action = "Correct what the message describes, then send the request again."


class ValidationError(PermanentError):
    status = 400
    code = "BadRequest"
    recommended_action = (
        "Correct the property the error's target names (a JSON path into the request body, or a "
        "parameter of the URL) as the message says, then send the request again."
    )


class AuthorizationError(PermanentError):
    status = 403
    code = "AuthorizationFailed"
    recommended_action = (
        "Assign the role the message names, on the scope it names, to the identity it names (the "
        "vault's identity for disk, snapshot and restore resource groups; your own principal for "
        "the app's roles). Role assignments can take up to 10 minutes to apply; then retry."
    )


class NotFoundError(PermanentError):
    status = 404
    code = "ResourceNotFound"
    recommended_action = (
        "Check the names in the URL and the ids in the body (subscription, resource group, vault, "
        "instance); list the parent collection to see what exists."
    )


class ConflictError(PermanentError):
    status = 409
    code = "Conflict"
    recommended_action = (
        "The resource's current state does not allow this: do what the message says first (wait "
        "for the operation in progress, resume or undelete the instance, choose another name), "
        "then retry."
    )


class ConcurrencyError(ConflictError):
    """Another writer changed the entity since we read it (ETag mismatch)."""

    status = 412
    code = "PreconditionFailed"
    recommended_action = (
        "Someone changed the resource since you read it: GET it again for its current ETag, "
        "apply your change to what it now holds, and send the request again."
    )


class LimitExceededError(PermanentError):
    status = 409
    code = "LimitExceeded"
    recommended_action = (
        "The message names the limit that was reached. Wait until it frees up (expired recovery "
        "points, the rolling 24 hours), or ask for less, then retry."
    )


class RetryableError(BackupError):
    """The same call may succeed later."""

    status = 503
    code = "ServiceUnavailable"
    retryable = True
    recommended_action = (
        "The failure is temporary: retry in a minute or two. If it persists for more than an "
        "hour, check the health of the app's storage account and of Azure Resource Manager."
    )


class ThrottledError(RetryableError):
    status = 429
    code = "TooManyRequests"
    recommended_action = "Wait the number of seconds in the Retry-After header, then retry."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        target: str | None = None,
        recommended_action: str | None = None,
    ) -> None:
        super().__init__(message, code=code, target=target, recommended_action=recommended_action)
        self.retry_after = retry_after


class TransientError(RetryableError):
    status = 503
    code = "ServiceUnavailable"
