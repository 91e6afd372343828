"""The project's own ``function_app.py`` served by the local Functions host, as tests use it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from localdev.functions_host import FunctionsHost
from localdev.functions_host.easy_auth import EasyAuthStandIn
from tests.paths import REPO_ROOT

HOST_KEY = "test-host-key"
# Timers that do not fire during a test: tests drive planning and retention themselves.
QUIET_SCHEDULES = {
    "PLAN_BACKUPS_SCHEDULE": "0 0 0 1 1 *",
    "APPLY_RETENTION_SCHEDULE": "0 0 0 1 1 *",
    "COUNT_OVERVIEW_SCHEDULE": "0 0 0 1 1 *",
}


def project_host(
    storage_connection_string: str,
    *,
    project_dir: Path = REPO_ROOT,
    host_keys: Sequence[str] = (HOST_KEY,),
    easy_auth: EasyAuthStandIn | None = None,
    **settings: str,
) -> FunctionsHost:
    """The app on a free port, on Azurite, with quiet timers; ``settings`` add or override;
    ``easy_auth`` puts App Service Authentication's stand-in in front."""
    return FunctionsHost(
        "function_app",
        project_dir,
        settings={"AzureWebJobsStorage": storage_connection_string, **QUIET_SCHEDULES, **settings},
        local_settings=None,
        host_keys=list(host_keys),
        easy_auth=easy_auth,
    )
