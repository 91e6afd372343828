"""The product's one exception tree.

Every error the product raises on purpose derives from :class:`BackupError`. Each class
fixes three things that callers must not have to guess:

* ``retryable`` - whether running the same operation again can succeed. Queue-triggered
  functions re-raise retryable errors so the platform redelivers the message, and record
  permanent ones as a failed job without raising, so a poison message is never the way a
  known failure is reported.
* ``status`` - the HTTP status the API answers with.
* ``code`` - the ARM error code (Azure's own vocabulary where one exists).

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


class BackupError(Exception):
    """Base of every error the product raises deliberately."""

    status: int = 500
    code: str = "InternalError"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.target = target

    def to_arm_error(self) -> dict[str, object]:
        """The body ARM clients expect: ``{"error": {"code", "message", "target"?}}``."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}


class PermanentError(BackupError):
    """Retrying cannot help; the caller or the configuration must change."""

    status = 400
    code = "BadRequest"


class ValidationError(PermanentError):
    status = 400
    code = "BadRequest"


class AuthorizationError(PermanentError):
    status = 403
    code = "AuthorizationFailed"


class NotFoundError(PermanentError):
    status = 404
    code = "ResourceNotFound"


class ConflictError(PermanentError):
    status = 409
    code = "Conflict"


class ConcurrencyError(ConflictError):
    """Another writer changed the entity since we read it (ETag mismatch)."""

    status = 412
    code = "PreconditionFailed"


class LimitExceededError(PermanentError):
    status = 409
    code = "LimitExceeded"


class RetryableError(BackupError):
    """The same call may succeed later."""

    status = 503
    code = "ServiceUnavailable"
    retryable = True


class ThrottledError(RetryableError):
    status = 429
    code = "TooManyRequests"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(message, code=code, target=target)
        self.retry_after = retry_after


class TransientError(RetryableError):
    status = 503
    code = "ServiceUnavailable"
