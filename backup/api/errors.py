"""HTTP-only errors of the API layer, in the product's one exception tree (:mod:`backup.errors`).

Only what has no place in the domain lives here: a route that does not exist, a method the
route does not take, a body that is too large or not JSON, a caller without a principal.
"""

from __future__ import annotations

from backup.errors import AuthorizationError, NotFoundError, PermanentError, ValidationError


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
        "Send the app's function key (the x-functions-key header or the code query parameter); with "
        "sign-in on, send a bearer token for the app's Entra application too (az account "
        "get-access-token --resource <the app's application id URI>)."
    )


class UnsupportedMediaTypeError(PermanentError):
    """A write whose body is not declared as JSON (ARM's own answer for one)."""

    status = 415
    code = "UnsupportedMediaType"
    recommended_action = "Send the request body as JSON, with the header Content-Type: application/json."


class CrossSiteRequestError(AuthorizationError):
    """A write the browser says another site started: what a forged form would send."""

    code = "CrossSiteRequestRefused"
    recommended_action = (
        "Send writes from Backup Center itself or from a client outside a browser (the Azure SDK, az rest, "
        "curl); a page of another site cannot change backups."
    )
