"""What the triggers need but indexing the app does not: imported on a trigger's first call.

Flex Consumption scales from zero, and the worker imports ``function_app`` before it can run
anything, so the blueprints import only ``azure.functions`` and light modules (setting
names, queue names, the auth-level decision). Everything that pulls in an Azure SDK, aiohttp
or OpenTelemetry (the runtime, the API's context and router, the services) is reached through
the functions below, each of which imports its module when first called. After that first
call the import is a lookup in ``sys.modules``; the state (the process runtime, the API
context) stays in the modules that own it, so tests that replace it there still take effect.

``tests/functions/test_cold_import.py`` holds the blueprints to this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backup.api.dependencies import ApiContext
    from backup.api.http import ApiResponse
    from backup.api.router import Router
    from backup.bootstrap import Runtime
    from backup.errors import BackupError
    from backup.services.health import HealthReport


def runtime() -> Runtime:
    """The process runtime (:func:`backup.bootstrap.runtime`)."""
    from backup.bootstrap import runtime

    return runtime()


def get_context() -> ApiContext:
    """The API's context: the services the composition root built for it."""
    return runtime().api


def router() -> Router:
    """The ARM API's router with every endpoint (built once per process by ``build_router``)."""
    from backup.api.app import build_router

    return build_router()


def error_response(error: BackupError) -> ApiResponse:
    """The ARM error body the API answers for ``error`` (:func:`backup.api.router.error_response`)."""
    from backup.api.router import error_response

    return error_response(error)


async def health_check() -> HealthReport:
    """Whether storage and ARM answer, through the process runtime."""
    return await runtime().check_health()


def health_report(problems: list[str]) -> HealthReport:
    """A report of ``problems`` found before the check could run."""
    from backup.services.health import HealthReport

    return HealthReport(problems)
