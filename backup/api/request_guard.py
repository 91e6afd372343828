"""Cross-site request forgery: what a write must look like before anything reads its body.

With App Service Authentication the browser holds a session cookie that it sends with any
request to the app, including one a foreign page starts with a plain HTML form. Such a form can
only send ``text/plain``, ``application/x-www-form-urlencoded`` or ``multipart/form-data`` and
cannot add a header without a CORS preflight, which this app never grants. So a write
(``PUT``, ``PATCH``, ``POST``, ``DELETE``) is refused when

* it carries a body not declared ``application/json`` (415 ``UnsupportedMediaType``, as ARM
  answers); or
* the browser says it comes from elsewhere: an ``Origin`` that is not the app's own, or
  ``Sec-Fetch-Site`` ``cross-site`` / ``same-site`` (403).

Backup Center sends JSON from the app's own origin; the Azure SDKs send ``application/json``
and no ``Origin``: both pass. Reads are not guarded: a foreign page cannot read the answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from backup.api.errors import CrossSiteRequestError, UnsupportedMediaTypeError
from backup.api.http import ApiRequest

WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})
_JSON_MEDIA_TYPE = "application/json"
_FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_write(request: ApiRequest) -> None:
    """Raise unless ``request`` is a read, or a write a foreign page could not have sent."""
    if request.method not in WRITE_METHODS:
        return
    _check_origin(request)
    _check_content_type(request)


def _check_origin(request: ApiRequest) -> None:
    fetch_site = (request.headers.get("sec-fetch-site") or "").strip().lower()
    if fetch_site in _FOREIGN_FETCH_SITES:
        raise CrossSiteRequestError(
            f"The browser marked this {request.method} as {fetch_site} (Sec-Fetch-Site); "
            "the API accepts writes only from its own origin or from clients outside a browser."
        )
    origin = request.headers.get("origin")
    if origin is None:
        return
    if _authority(origin) not in _own_authorities(request):
        raise CrossSiteRequestError(
            f"The request's Origin '{origin[:200]}' is not this app's own origin; "
            "the API accepts writes only from its own origin or from clients outside a browser."
        )


def _own_authorities(request: ApiRequest) -> set[str]:
    """The app's own host as the request URL and the front ends name it (TLS ends in front of
    the worker, so the URL may say ``http`` where the browser saw ``https``). A foreign page can
    set none of these headers without a preflight."""
    names = {_authority(request.url)}
    for header in ("host", "x-forwarded-host", "x-original-host"):
        value = request.headers.get(header)
        if value:
            names.add(_authority("//" + value.split(",")[0].strip()))
    names.discard("")
    return names


def _authority(url: str) -> str:
    """``host:port`` of ``url``, lower case, without the scheme's default port; ``""`` if none
    (an ``Origin: null`` from a sandboxed frame or a file)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    if not parts.scheme and port in _DEFAULT_PORTS.values():
        return host
    return f"{host}:{port}"


def _check_content_type(request: ApiRequest) -> None:
    # A write without a body (stopProtection, DELETE) has nothing to misread, and clients label
    # it variously (aiohttp says application/octet-stream, curl -d '' form-encoded); a foreign
    # page's empty form is still refused by its Origin.
    if not request.body:
        return
    declared = request.headers.get("content-type")
    if declared is None:
        raise UnsupportedMediaTypeError(
            "The request has a body but no Content-Type. Only 'application/json' is supported."
        )
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != _JSON_MEDIA_TYPE:
        raise UnsupportedMediaTypeError(
            f"The content media type '{media_type[:100]}' is not supported. "
            "Only 'application/json' is supported."
        )
