"""Framework-neutral request and response types, so handlers never touch ``azure.functions``.

:class:`ApiRequest` is what the router needs from an HTTP request; :meth:`ApiRequest.from_functions`
builds one from a ``func.HttpRequest``, and tests build them directly. :class:`ApiResponse`
is a status, headers and an optional JSON body; :meth:`ApiResponse.to_functions` turns it
back into a ``func.HttpResponse``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from backup.api.errors import InvalidRequestContentError, RequestTooLargeError
from backup.domain.limits import MAX_REQUEST_BODY_BYTES

if TYPE_CHECKING:
    import azure.functions as func


JSON_CONTENT_TYPE = "application/json; charset=utf-8"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}
"""On every answer of the app (API, web page, health): a browser never guesses another type."""


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header (or query parameter) lookup."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {key.lower(): (key, value) for key, value in (items or {}).items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items


@dataclass(frozen=True)
class ApiRequest:
    method: str
    url: str
    """The full URL as received (scheme, host, route prefix, path and query)."""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        json_body: Any = None,
        content_type: str | None = "application/json",
    ) -> ApiRequest:
        """A request as a JSON client sends it: a body is declared ``content_type`` unless
        ``headers`` say otherwise (``None``: undeclared)."""
        if json_body is not None:
            body = json.dumps(json_body)
        data = body.encode() if isinstance(body, str) else (body or b"")
        all_headers = dict(headers or {})
        if data and content_type is not None and "content-type" not in Headers(all_headers):
            all_headers["Content-Type"] = content_type
        return cls(method.upper(), url, Headers(all_headers), data)

    @classmethod
    def from_functions(cls, request: func.HttpRequest) -> ApiRequest:
        return cls(request.method.upper(), request.url, Headers(dict(request.headers)), request.get_body())

    @property
    def query(self) -> Headers:
        """Query parameters, names case-insensitive; a repeated name keeps its last value."""
        return Headers(dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True)))

    @property
    def path_segments(self) -> list[str]:
        """The URL path split on ``/``, each segment percent-decoded (so ``%2F`` stays inside one)."""
        path = urlsplit(self.url).path
        return [unquote(segment) for segment in path.split("/")[1:]]

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def checked_body(self) -> bytes:
        declared = self.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > MAX_REQUEST_BODY_BYTES:
            raise _too_large()
        if len(self.body) > MAX_REQUEST_BODY_BYTES:
            raise _too_large()
        return self.body


def _too_large() -> RequestTooLargeError:
    return RequestTooLargeError(
        f"The request body is larger than the {MAX_REQUEST_BODY_BYTES // 1024} KiB this API accepts."
    )


def parse_json(body: bytes) -> Any:
    """The body as JSON, or a 400 ``InvalidRequestContent`` saying why not."""
    if not body.strip():
        raise InvalidRequestContentError("The request content was empty; a JSON body is required.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidRequestContentError("The request content is not valid UTF-8.") from error
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as error:
        raise InvalidRequestContentError(
            f"The request content was invalid and could not be deserialized: {error.msg} "
            f"at line {error.lineno} column {error.colno}."
        ) from error
    except DuplicateKeyError as error:
        raise InvalidRequestContentError(str(error), target=error.key) from error
    except (RecursionError, ValueError) as error:
        raise InvalidRequestContentError(
            f"The request content was invalid and could not be deserialized: {error}"
        ) from error


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"The request content was invalid: the property '{key[:100]}' appears more than once in one "
            "object; each property may be given once."
        )
        self.key = key[:100]


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One object, refused if a name repeats: two parsers reading one body differently (the first
    value or the last) is how a check is bypassed. Names differing only in case repeat too, since
    ARM reads property names case-insensitively."""
    document: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in pairs:
        folded = key.casefold()
        if folded in seen:
            raise DuplicateKeyError(key)
        seen.add(folded)
        document[key] = value
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON value")


@dataclass
class ApiResponse:
    status: int
    body: Any = None
    """JSON-serialisable body, or ``None`` for no body."""
    headers: dict[str, str] = field(default_factory=dict)

    def json_text(self) -> str | None:
        return None if self.body is None else json.dumps(self.body, separators=(",", ":"))

    def to_functions(self) -> func.HttpResponse:
        import azure.functions as func

        text = self.json_text()
        headers = {**SECURITY_HEADERS, **self.headers}
        if text is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        return func.HttpResponse(body=text, status_code=self.status, headers=headers)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, body, dict(headers or {}))


def url_with_query(base: str, params: Mapping[str, str]) -> str:
    """``base?name=value&...`` with values percent-encoded (spaces as ``%20``, as ARM does)."""
    return base + "?" + urlencode(dict(params), quote_via=quote, safe="")
