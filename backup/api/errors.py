"""HTTP-only errors of the API layer, in the product's one exception tree (:mod:`backup.errors`).

Only what has no place in the domain lives here: a route that does not exist, a method the
route does not take, a body that is too large or not JSON, a caller without a principal.
"""

from __future__ import annotations

from backup.errors import AuthorizationError, NotFoundError, PermanentError, ValidationError


class RouteNotFoundError(NotFoundError):
    status = 404
    code = "InvalidResourceType"


class MethodNotAllowedError(PermanentError):
    status = 405
    code = "MethodNotAllowed"

    def __init__(self, message: str, *, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


class RequestTooLargeError(PermanentError):
    status = 413
    code = "RequestEntityTooLarge"


class InvalidRequestContentError(ValidationError):
    code = "InvalidRequestContent"


class AuthenticationError(PermanentError):
    status = 401
    code = "AuthenticationFailed"


class UnsupportedMediaTypeError(PermanentError):
    """A write whose body is not declared as JSON (ARM's own answer for one)."""

    status = 415
    code = "UnsupportedMediaType"


class CrossSiteRequestError(AuthorizationError):
    """A write the browser says another site started: what a forged form would send."""

    code = "CrossSiteRequestRefused"
