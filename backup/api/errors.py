"""HTTP-only errors of the API layer, in the product's one exception tree (:mod:`backup.errors`).

Only what has no place in the domain lives here: a route that does not exist, a method the
route does not take, a body that is too large or not JSON, a caller without a principal.
"""

from __future__ import annotations

from backup.errors import NotFoundError, PermanentError, ValidationError


class RouteNotFoundError(NotFoundError):
    status = 404
    code = "InvalidResourceType"
    recommended_action = (
        "Check the path against Microsoft.DataProtection's REST reference (backupVaults, "
        "backupPolicies, backupInstances, recoveryPoints, backupJobs, operationStatus); product-only "
        "calls are under /api/x/."
    )


class MethodNotAllowedError(PermanentError):
    status = 405
    code = "MethodNotAllowed"
    recommended_action = "Use one of the methods the Allow header lists."

    def __init__(self, message: str, *, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


class RequestTooLargeError(PermanentError):
    status = 413
    code = "RequestEntityTooLarge"
    recommended_action = "Send a smaller body: requests are at most 256 KiB (a disk policy is a few KiB)."


class InvalidRequestContentError(ValidationError):
    code = "InvalidRequestContent"
    recommended_action = "Send the body as one JSON object in UTF-8, as the operation's REST reference shows."


class AuthenticationError(PermanentError):
    status = 401
    code = "AuthenticationFailed"
    recommended_action = (
        "Sign in again: send a bearer token for the app's Entra application (az account get-access-token "
        "--resource <the app's application id URI>), or the function key where sign-in is off."
    )
