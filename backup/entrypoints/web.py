"""Backup Center: the web page served by the app itself, and the one data route it adds.

================================  =========  ======================================================
route (under ``api/``)            auth       answer
================================  =========  ======================================================
``GET backupcenter``              anonymous  the page (``backup/web/index.html``); it holds no data
``GET backupcenter/assets/{f}``   anonymous  a file of ``backup/web/assets`` (js, css, svg), cached
``GET backupcenter/whoami``       function   the caller and what the page needs to start (below)
================================  =========  ======================================================

The page's script is ES modules (``app.js`` imports the others), loaded as they are, without a
build step. The assets are the files listed in ``backup/web/assets`` on the first request
(:func:`asset_files`), and nothing else: a name is looked up in that listing, never joined to a path. The
page asks for ``app.js?v=<version>`` (a digest of every asset); served under the current
version, a module's own imports get the same ``?v=``, so that every module can be cached for
long and a new deployment still changes every URL.

The page calls the app's own ARM API from the browser (same origin, nothing from the
internet): with a Functions key, asked for once and kept in ``sessionStorage`` only, sent as
``x-functions-key``; or with the App Service Authentication session, whose app roles decide
which actions it shows (the API checks them again on every call).

``whoami`` answers ``{"principalName", "authenticated", "authEnabled", "roles": [...],
"subscriptions": [...], "now"}``: the caller as :func:`backup.api.auth.caller_from_headers`
sees it, the subscriptions that have backup vaults (for a caller with any app role; the page
takes ``?subscription=`` from its URL first), and the server's clock, against which the page
measures ages. Refusals are ARM error bodies (401 without an Easy Auth principal).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from backup.api.access import access_of
from backup.api.auth import API_AUTH_LEVEL, caller_from_headers
from backup.api.render import rfc3339
from backup.entrypoints.deferred import error_response, get_context
from backup.errors import BackupError

blueprint = func.Blueprint()

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
ASSETS = WEB_ROOT / "assets"
_MIMETYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@cache
def asset_files() -> dict[str, Path]:
    """Every file a request may name, listed once (on the first request, not at import): a name
    is only ever a key of this mapping."""
    return {
        path.name: path
        for path in sorted(ASSETS.iterdir())
        if path.is_file() and path.suffix in _MIMETYPES and not path.name.startswith(".")
    }


# A module's static import of a sibling (`} from "./jobs.js";`), to which the version is added.
_SIBLING_IMPORT = re.compile(rb'( from "\./[a-z0-9][a-z0-9-]*\.js)(";?)$', re.MULTILINE)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _asset(name: str) -> bytes:
    return asset_files()[name].read_bytes()


@cache
def _version() -> str:
    """Changes whenever an asset does, so the page can let browsers cache assets for long."""
    digest = hashlib.sha256()
    for name in asset_files():
        digest.update(name.encode() + b"\0" + _asset(name))
    return digest.hexdigest()[:12]


@cache
def _versioned_module(name: str) -> bytes:
    """The module with ``?v=<version>`` on its imports of siblings: the browser then asks for
    (and caches) every module under the version the page named."""
    return _SIBLING_IMPORT.sub(rb"\1?v=" + _version().encode() + rb"\2", _asset(name))


def _page_base(url: str) -> tuple[str, str]:
    """(``/api/backupcenter``, ``/api``) from the request URL, whatever the route prefix."""
    path = urlsplit(url).path.rstrip("/")
    base = path[: path.lower().rindex("backupcenter") + len("backupcenter")] if path else "/backupcenter"
    return base, base[: -len("/backupcenter")]


@blueprint.function_name("backup-center")
@blueprint.route(route="backupcenter", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def backup_center(req: func.HttpRequest) -> func.HttpResponse:
    base, api_base = _page_base(req.url)
    html = (WEB_ROOT / "index.html").read_text(encoding="utf-8")
    html = (
        html.replace("{{ASSETS}}", f"{base}/assets")
        .replace("{{API_BASE}}", api_base)
        .replace("{{VERSION}}", _version())
    )
    headers = {
        **_COMMON_HEADERS,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": "no-cache",
    }
    return func.HttpResponse(html, status_code=200, mimetype="text/html", charset="utf-8", headers=headers)


@blueprint.function_name("backup-center-assets")
@blueprint.route(route="backupcenter/assets/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def backup_center_asset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    path = asset_files().get(name)
    if path is None:
        return func.HttpResponse("Not found", status_code=404, mimetype="text/plain", headers=_COMMON_HEADERS)
    # Versioned by the page (?v=...): a new deployment changes the URL. A URL of another version
    # (a page older or newer than this instance) gets today's file, but not for keeps.
    current = req.params.get("v") == _version()
    body = _versioned_module(name) if current and path.suffix == ".js" else _asset(name)
    cache_control = "public, max-age=86400" if current else "no-cache"
    return func.HttpResponse(
        body,
        status_code=200,
        mimetype=_MIMETYPES[path.suffix],
        charset="utf-8",
        headers={**_COMMON_HEADERS, "Cache-Control": cache_control},
    )


@blueprint.function_name("backup-center-whoami")
@blueprint.route(route="backupcenter/whoami", methods=["GET"], auth_level=API_AUTH_LEVEL)
async def backup_center_whoami(req: func.HttpRequest) -> func.HttpResponse:
    context = get_context()
    try:
        caller = caller_from_headers(dict(req.headers), auth_enabled=context.auth_enabled)
        access = await access_of(caller, context.role_assignments)
        subscriptions: list[str] = []
        if access.grants:
            # Only the subscriptions of vaults the caller may see: another team's stay unnamed.
            vaults = access.visible(await context.store.list_vaults())
            subscriptions = sorted({vault.subscription_id.lower() for vault in vaults})
    except BackupError as error:
        return error_response(error).to_functions()
    body = {
        "principalName": caller.principal_name,
        "authenticated": caller.authenticated,
        "authEnabled": context.auth_enabled,
        "roles": sorted(role.value for role in access.roles),
        "grants": sorted(
            ({"role": grant.role.value, "scope": grant.scope.id} for grant in access.grants),
            key=lambda grant: (grant["scope"], grant["role"]),
        ),
        "subscriptions": subscriptions,
        "now": rfc3339(context.clock.now()),
    }
    return func.HttpResponse(
        json.dumps(body),
        status_code=200,
        mimetype="application/json",
        headers={**_COMMON_HEADERS, "Cache-Control": "no-store"},
    )
