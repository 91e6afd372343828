"""Every answer the API tests see, checked against the OpenAPI document (``docs/openapi.json``).

:func:`check_answer` finds the documented operation of a request, then requires the status to
be documented (a success status explicitly; an error at least by ``default``), the body to
match the response's schema (the ARM error body for every error) and a 202 to carry the LRO
headers. Requests the document does not describe (unknown paths, unsupported methods) are
the router's 404 and 405, checked by the router's own tests; they are skipped here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from openapi_schema_validator import OAS30ReadValidator

from backup.api.openapi import build_document

_LRO_HEADERS = ("Azure-AsyncOperation", "Location", "Retry-After")


@cache
def _document() -> dict[str, Any]:
    return build_document()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = _document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    segments = path.split("?", 1)[0].strip("/").split("/")
    for template, item in _document()["paths"].items():
        expected = template.strip("/").split("/")
        if len(expected) != len(segments):
            continue
        if all(
            (want.startswith("{") and bool(got)) or want.casefold() == got.casefold()
            for want, got in zip(expected, segments, strict=True)
        ):
            operation = item.get(method.lower())
            return (template, operation) if operation is not None else None
    return None


def _validate(body: Any, schema: dict[str, Any], where: str) -> None:
    root = {**schema, "components": _document()["components"]}
    errors = sorted(OAS30ReadValidator(root).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: the body does not match the OpenAPI document:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]
    )


def check_answer(method: str, path: str, status: int, body: Any, headers: dict[str, str]) -> None:
    found = _operation(method, path)
    if found is None:
        return
    template, operation = found
    where = f"{method} {template} -> {status}"
    responses = operation["responses"]
    if str(status) in responses:
        response = _resolve(responses[str(status)])
    else:
        assert status >= 400, f"{where}: a success status the document does not list"
        response = _resolve(responses["default"])
    content = response.get("content")
    if content is None:
        assert body is None, f"{where}: documented without a body, answered {str(body)[:200]}"
    else:
        _validate(body, content["application/json"]["schema"], where)
    lowered = {name.lower() for name in headers}
    for name, header in response.get("headers", {}).items():
        if _resolve(header).get("required"):
            assert name.lower() in lowered, f"{where}: the {name} header is missing"
    if status == 202:
        assert all(name.lower() in lowered for name in _LRO_HEADERS), where
