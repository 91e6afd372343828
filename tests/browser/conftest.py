"""Backup Center in a real browser: Debian's Chromium driven by Playwright, against the local
Functions host serving the app on Azurite and the Compute emulator (the ``world`` of
``tests/integration/engine/test_restore.py``: a ManualClock runtime, restore roles on
``rg-restore``).

Playwright from PyPI is only the driver: it never downloads a browser (no ``playwright
install``); it starts ``/usr/bin/chromium``. Without that file the tests fail under CI
(``CI=true``) and are skipped elsewhere. The host's queue triggers are disabled so each test
runs backups and restores itself, when it chooses (``drain``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backup.bootstrap import use_runtime
from backup.cli import drain_backup_queue
from backup.domain.instance import VaultRef
from backup.domain.jobs import Job, job_id
from backup.domain.models import JobOperation, JobStatus
from localdev.functions_host import FunctionsHost
from tests.hosting import HOST_KEY, project_host
from tests.integration.api.conftest import Answer
from tests.integration.engine import conftest as engine
from tests.integration.engine import test_restore
from tests.integration.engine.conftest import SNAP_RG, SRC_RG, SUB, VAULT, policy_document
from tests.integration.engine.test_restore import World
from tests.paths import REPO_ROOT as PROJECT_ROOT
from tests.tooling import missing_tool

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots go to an ignored folder so that a test run changes no tracked file; `make screenshots`
# points SCREENSHOTS_DIR at docs/screenshots to refresh the README's pictures on purpose.
SCREENSHOTS_DIR_VARIABLE = "SCREENSHOTS_DIR"
DEFAULT_SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
KEY_STORAGE = "backupcenter.functionsKey"
SECOND_VAULT = VaultRef(SUB, "rg-backup-two", "vault-two")

# The engine's fixtures, as tests/integration/api/test_actions.py takes them.
sim = engine.sim
world = test_restore.world


def require_chromium() -> None:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("the Python package 'playwright' is not installed (pip install -r requirements-dev.txt)")


def _missing(reason: str) -> None:
    missing_tool(f"Browser tests need Chromium and Playwright: {reason}")


@pytest.fixture
def screenshots() -> Path:
    """The folder the screenshots go to (relative values are taken from the project root)."""
    configured = os.environ.get(SCREENSHOTS_DIR_VARIABLE)
    folder = PROJECT_ROOT / configured if configured else DEFAULT_SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Center:
    """The seeded world behind a running host, and what tests need to reach it."""

    world: World
    host: FunctionsHost

    @property
    def url(self) -> str:
        return f"{self.host.api_base_url}/backupcenter?subscription={SUB}"

    async def page(
        self,
        browser: Any,
        *,
        key: str | None = HOST_KEY,
        principal: dict[str, Any] | None = None,
        width: int = 1280,
        height: int = 800,
    ) -> Any:
        headers = {}
        if principal is not None:
            encoded = base64.b64encode(json.dumps(principal).encode()).decode()
            headers["X-MS-CLIENT-PRINCIPAL"] = encoded
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            extra_http_headers=headers,
            timezone_id="Europe/Berlin",
            locale="en-GB",
        )
        context.set_default_timeout(10_000)
        if key is not None:
            await context.add_init_script(f"sessionStorage.setItem({KEY_STORAGE!r}, {key!r})")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        return page

    async def call(self, method: str, path: str, body: Any = None) -> Answer:
        return await self.world.api.call(method, path, body)

    async def drain_backups(self) -> None:
        await drain_backup_queue(self.world.sim.runtime)

    async def drain_restores(self) -> None:
        await self.world.drain_restores()


def vault_path(vault: VaultRef) -> str:
    return (
        f"/subscriptions/{vault.subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.DataProtection/backupVaults/{vault.name}"
    )


async def _protect(world: World, vault: VaultRef, disk: str, policy: str) -> None:
    body = {
        "properties": {
            "objectType": "BackupInstance",
            "dataSourceInfo": {
                "objectType": "Datasource",
                "datasourceType": "Microsoft.Compute/disks",
                "resourceID": f"{SRC_RG}/providers/Microsoft.Compute/disks/{disk}",
                "resourceLocation": "eastus",
                "resourceType": "Microsoft.Compute/disks",
            },
            "policyInfo": {
                "policyId": f"{vault.id}/backupPolicies/{policy}",
                "policyParameters": {
                    "dataStoreParametersList": [
                        {
                            "objectType": "AzureOperationalStoreParameters",
                            "dataStoreType": "OperationalStore",
                            "resourceGroupId": SNAP_RG,
                        }
                    ]
                },
            },
        }
    }
    answer = await world.api.call("PUT", vault_path(vault) + f"/backupInstances/{disk}-instance", body)
    assert answer.status == 201, answer.body


async def seed_world(world: World) -> None:
    """Two vaults, four disks: healthy with scheduled points, unhealthy with a failed job,
    suspended, stopped."""
    api = world.api
    sim = world.sim
    vault_body = {
        "location": "eastus",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
        },
    }
    for vault, policies in (
        (VAULT, {"every-4h": policy_document("PT4H", "P7D", {"Daily": "P14D", "Weekly": "P28D"})}),
        (SECOND_VAULT, {"daily": policy_document("P1D", "P30D")}),
    ):
        answer = await api.call("PUT", vault_path(vault), vault_body)
        assert answer.status in (200, 201), answer.body
        for name, document in policies.items():
            answer = await api.call(
                "PUT", vault_path(vault) + f"/backupPolicies/{name}", {"properties": document}
            )
            assert answer.status in (200, 201), answer.body
    await _protect(world, VAULT, "disk-a", "every-4h")
    await _protect(world, VAULT, "disk-b", "every-4h")
    await _protect(world, SECOND_VAULT, "disk-c", "daily")
    await _protect(world, SECOND_VAULT, "disk-fast", "daily")
    for _ in range(3):  # 00:00, 04:00, 08:00 on Monday: a Weekly-tagged point, then Default ones
        await sim.tick()
        sim.advance(timedelta(hours=4))
    sim.advance(timedelta(minutes=-3 * 60 - 30))  # 08:30

    # disk-b: its last backup failed (as the runner records it: health and a failed job).
    store = world.store
    current = await store.get_instance(VAULT, "disk-b-instance")
    failed_at = sim.now - timedelta(minutes=20)
    message = "The disk 'disk-b' was not found; it may have been deleted or moved."
    job = Job(
        id=job_id(failed_at, "disk-b", "failed"),
        vault_id=VAULT.id,
        instance="disk-b-instance",
        operation=JobOperation.SCHEDULED_BACKUP,
        status=JobStatus.FAILED,
        start_time=failed_at,
        end_time=failed_at + timedelta(seconds=7),
        datasource_id=current.value.disk_id,
        datasource_name="disk-b",
        datasource_location="eastus",
        policy_name="every-4h",
        error_code="UserErrorDiskNotFound",
        error_message=message,
    )
    failing = replace(
        current.value, health=current.value.health.after_failure("UserErrorDiskNotFound", message)
    )
    await store.record_failure(current, failing, job)

    instances = vault_path(SECOND_VAULT) + "/backupInstances"
    assert (await api.call("POST", instances + "/disk-c-instance/suspendBackups")).status == 202
    assert (await api.call("POST", instances + "/disk-fast-instance/stopProtection")).status == 202


async def serve(world: World, *, auth_enabled: bool) -> AsyncIterator[Center]:
    use_runtime(world.api.runtime.replacing(auth_enabled=auth_enabled))
    # The tests drain the queues themselves, so that what happens when is theirs to decide.
    settings = {"AzureWebJobs.run-backup.Disabled": "true", "AzureWebJobs.run-restore.Disabled": "true"}
    if auth_enabled:
        settings["WEBSITE_AUTH_ENABLED"] = "true"
    host = project_host(world.sim.azurite.connection_string, **settings)
    try:
        async with host:
            yield Center(world, host)
    finally:
        use_runtime(None)


@pytest.fixture
async def center(world: World) -> AsyncIterator[Center]:
    await seed_world(world)
    async for served in serve(world, auth_enabled=False):
        yield served


@pytest.fixture
async def center_with_easy_auth(world: World) -> AsyncIterator[Center]:
    await seed_world(world)
    async for served in serve(world, auth_enabled=True):
        yield served


def principal(name: str, *roles: str) -> dict[str, Any]:
    """An Easy Auth ``X-MS-CLIENT-PRINCIPAL`` as App Service sends it."""
    return {
        "auth_typ": "aad",
        "name_typ": "name",
        "role_typ": "roles",
        "claims": [{"typ": "name", "val": name}, *({"typ": "roles", "val": role} for role in roles)],
    }
