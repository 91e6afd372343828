"""Backup Center's cold load: the bytes and requests a browser with an empty cache fetches for the
page itself, before any API call.

Measured through the app's own handlers, in process: the page as ``GET backupcenter`` answers
it, then every asset it links and every module ``app.js`` imports, transitively, each as
``GET backupcenter/assets/{name}`` answers it (versioned imports included). Bodies only; no
compression (the Functions host does not compress), no headers.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

import azure.functions as func

PAGE_URL = "https://app.example/api/backupcenter"
_LINKED = re.compile(r'(?:src|href)="(/api/backupcenter/assets/[^"]+)"')
_IMPORTED = re.compile(r' from "\./([^"]+)";?$', re.MULTILINE)

Handler = Callable[[func.HttpRequest], func.HttpResponse]


def _handlers() -> dict[str, Handler]:
    """The app's functions by name (a process may index ``function_app`` only once)."""
    import function_app

    return {fn.get_function_name(): fn.get_user_function() for fn in function_app.app.get_functions()}


def _get(handler: Handler, url: str, **route_params: str) -> bytes:
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    response = handler(func.HttpRequest("GET", url, body=b"", params=query, route_params=route_params))
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response.get_body()


def measure(handlers: Mapping[str, Handler] | None = None) -> dict[str, float | int]:
    handlers = handlers or _handlers()
    page = _get(handlers["backup-center"], PAGE_URL)
    total, requests = len(page), 1
    pending = _LINKED.findall(page.decode())
    fetched: set[str] = set()
    while pending:
        path = pending.pop()
        if path in fetched:
            continue
        fetched.add(path)
        name = urlsplit(path).path.rsplit("/", 1)[1]
        body = _get(handlers["backup-center-assets"], "https://app.example" + path, name=name)
        total, requests = total + len(body), requests + 1
        if name.endswith(".js"):
            folder = path.split("?", 1)[0].rsplit("/", 1)[0]
            pending += [f"{folder}/{module}" for module in _IMPORTED.findall(body.decode())]
    return {"backup_center_cold_load_kb": total / 1024, "backup_center_cold_load_requests": requests}


def main() -> int:
    """``python -m bench.page_weight``: just these figures (``make bench`` prints them too)."""
    from bench.output import format_figure

    for name, value in measure().items():
        print(format_figure(name, value), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
