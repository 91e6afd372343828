"""Backup Center in headless Chromium against the local host, Azurite and the Compute emulator."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips, or fails under CI, and says why
    expect = None

from backup.domain.models import JobStatus
from tests.browser.conftest import SECOND_VAULT, Center, principal, vault_path
from tests.integration.api.test_through_host_and_sdk import HOST_KEY
from tests.integration.engine.conftest import SUB, VAULT
from tests.markdown import sections
from tests.paths import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PROVIDER = f"/subscriptions/{SUB}/providers/Microsoft.DataProtection"
EMPTY_SUB = "00000000-0000-4000-8000-0000000000ff"


async def _summaries(center: Center) -> list[dict[str, Any]]:
    answer = await center.call("GET", PROVIDER + "/backupInstances")
    assert answer.status == 200, answer.body
    return list(answer.body["value"])


async def _tile(page: Any, key: str) -> str:
    return str(await page.locator(f'[data-tile="{key}"] .tile-value').get_attribute("data-value"))


async def _rows(page: Any) -> list[str]:
    return [
        str(name)
        for name in await page.locator("#instances tbody tr td:first-child a.disk").all_inner_texts()
    ]


async def _wait_rows(page: Any, expected: list[str]) -> None:
    for _ in range(50):
        if await _rows(page) == expected:
            return
        await page.wait_for_timeout(50)
    assert await _rows(page) == expected


async def test_the_overview_asks_for_the_key_and_its_tiles_match_the_api_then_filters_and_sorts(
    center: Center, browser: Any, screenshots: Path
) -> None:
    items = await _summaries(center)
    summaries = [item["properties"]["backupSummary"] for item in items]
    protected = [i for i in items if i["properties"]["currentProtectionState"] == "ProtectionConfigured"]
    expected = {
        "protected": len(protected),
        "healthy": sum(s["health"] == "Healthy" for s in summaries),
        "unhealthy": sum(s["health"] == "Unhealthy" for s in summaries),
        "suspended": sum(
            i["properties"]["currentProtectionState"] == "BackupSchedulesSuspended" for i in items
        ),
        "stopped": sum(i["properties"]["currentProtectionState"] == "ProtectionStopped" for i in items),
        "points": sum(s["recoveryPointCount"] for s in summaries),
    }
    assert expected == {
        "protected": 2,
        "healthy": 1,
        "unhealthy": 1,
        "suspended": 1,
        "stopped": 1,
        "points": 8,
    }
    failed = await center.call("GET", vault_path(VAULT) + "/backupJobs", None)
    failed_count = sum(job["properties"]["status"] == "Failed" for job in failed.body["value"])
    oldest = min(i["properties"]["backupSummary"]["lastBackupTime"] for i in protected)

    page = await center.page(browser, key=None)
    await page.goto(center.url)
    # Keys are enforced: the page asks for one, and keeps it in sessionStorage only.
    await page.get_by_label("Function key").fill(HOST_KEY)
    await page.get_by_role("button", name="Use this key").click()
    await page.locator('[data-tile="protected"]').wait_for()
    assert await page.evaluate("sessionStorage.getItem('backupcenter.functionsKey')") == HOST_KEY
    assert await page.evaluate("localStorage.length") == 0

    for key, value in expected.items():
        assert await _tile(page, key) == str(value), key
    assert await _tile(page, "failed") == str(failed_count) == "1"
    assert await _tile(page, "oldest") == oldest
    all_disks = ["disk-a", "disk-b", "disk-c", "disk-fast"]
    assert await _rows(page) == all_disks
    # Policy in words, health with its reason, times in the browser's zone with UTC on hover.
    row_b = page.locator('#instances tr:has(a:text-is("disk-b"))')
    assert "Every 4 hours from 00:00 UTC; keep 7 days" in await row_b.inner_text()
    assert "not found" in await row_b.locator("[data-health]").inner_text()
    hover = await page.locator('#instances tr:has(a:text-is("disk-a")) time').first.get_attribute("title")
    assert hover is not None
    assert hover.endswith(" UTC")
    await page.screenshot(path=str(screenshots / "overview.png"))

    # Tiles filter the table, and the URL says so.
    await page.locator('[data-tile="unhealthy"]').click()
    await _wait_rows(page, ["disk-b"])
    assert "health=Unhealthy" in page.url
    assert await page.locator('[data-tile="unhealthy"]').get_attribute("aria-pressed") == "true"
    await page.locator('[data-tile="failed"]').click()
    await _wait_rows(page, ["disk-b"])
    await page.locator('[data-tile="suspended"]').click()
    await _wait_rows(page, ["disk-c"])
    await page.locator('[data-tile="suspended"]').click()  # pressed again: no filter
    await _wait_rows(page, all_disks)

    # Filters: vault, health, state and free text, by their labels.
    await page.get_by_label("Vault").select_option(SECOND_VAULT.name)
    await _wait_rows(page, ["disk-c", "disk-fast"])
    await page.get_by_label("Protection state").select_option("ProtectionStopped")
    await _wait_rows(page, ["disk-fast"])
    await page.get_by_role("button", name="Clear filters").click()
    await _wait_rows(page, all_disks)
    await page.get_by_label("Search").fill("DiskNotFound")
    await _wait_rows(page, ["disk-b"])
    await page.get_by_label("Search").fill("")
    await page.get_by_label("Health").select_option("Healthy")
    await _wait_rows(page, ["disk-a"])
    await page.get_by_role("button", name="Clear filters").click()

    # Sorting by any column, both ways; the state survives a reload (it is all in the URL).
    await page.get_by_role("button", name="Recovery points", exact=True).click()
    await _wait_rows(page, ["disk-c", "disk-fast", "disk-a", "disk-b"])  # ties keep the disk order
    await page.get_by_role("button", name="Recovery points", exact=True).click()
    await _wait_rows(page, ["disk-a", "disk-b", "disk-c", "disk-fast"])
    header = page.locator('th[data-col="points"]')
    assert await header.get_attribute("aria-sort") == "descending"
    await page.get_by_role("button", name="Vault", exact=True).click()
    assert (await _rows(page))[:2] == ["disk-a", "disk-b"]
    await page.get_by_label("Search").fill("disk-")
    await page.reload()
    await page.locator('[data-tile="protected"]').wait_for()
    assert await page.locator('th[data-col="vault"]').get_attribute("aria-sort") == "ascending"
    assert await page.get_by_label("Search").input_value() == "disk-"
    assert page.js_errors == []


async def test_an_instance_shows_one_timeline_point_per_recovery_point_and_a_backup_adds_one(
    center: Center, browser: Any, screenshots: Path
) -> None:
    instance = vault_path(VAULT) + "/backupInstances/disk-a-instance"
    points = (await center.call("GET", instance + "/recoveryPoints")).body["value"]
    assert len(points) == 3
    page = await center.page(browser)
    await page.goto(center.url)
    await page.get_by_role("link", name="disk-a", exact=True).click()
    timeline = page.get_by_test_id("timeline")
    await timeline.wait_for()
    marks = timeline.locator(".rp")
    assert await marks.count() == 3
    assert sorted(await marks.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(
        p["name"] for p in points
    )
    tags = sorted(await marks.evaluate_all("els => els.map(e => e.dataset.tag)"))
    assert (
        tags
        == sorted(p["properties"]["retentionTagName"] for p in points)
        == ["Default", "Default", "Weekly"]
    )
    assert "view=instance" in page.url
    assert "disk-a-instance" in page.url

    # On-demand backup, kept as Daily: the job runs (the test plays the queue trigger), the page
    # follows it to completion and the timeline gains a point in the on-demand lane.
    await page.get_by_label("Keep it as (retention tag)").select_option("Daily")
    await page.get_by_role("button", name="Back up now").click()
    outcome = page.get_by_test_id("backup-outcome")
    await outcome.get_by_text("InProgress").wait_for()
    await center.drain_backups()
    await outcome.get_by_text("Backup completed").wait_for()
    await expect(page.locator("[data-testid=timeline] .rp")).to_have_count(4)
    on_demand = page.locator('[data-testid=timeline] .rp[data-tag="On-demand"]')
    assert await on_demand.count() == 1
    assert "kept as Daily" in str(await on_demand.get_attribute("aria-label"))
    jobs = page.locator("table.jobs tbody tr")
    assert await jobs.first.get_attribute("data-operation") == "OnDemandBackup"
    assert await jobs.first.get_attribute("data-status") == "Completed"
    await page.screenshot(path=str(screenshots / "instance.png"), full_page=True)
    assert page.js_errors == []


async def test_a_restore_from_the_page_creates_the_disk_and_an_existing_name_is_refused_in_words(
    center: Center, browser: Any
) -> None:
    world = center.world
    page = await center.page(browser)
    await page.goto(center.url + "&view=instance&id=" + VAULT.id + "/backupInstances/disk-a-instance")
    await page.get_by_label("Recovery point", exact=True).wait_for()
    await page.get_by_label("Target resource group").fill("rg-restore")
    await page.get_by_label("New disk name").fill("restored-from-page")
    await page.get_by_role("button", name="Validate and restore").click()
    outcome = page.get_by_test_id("restore-outcome")
    await outcome.get_by_text("InProgress").wait_for()
    await center.drain_restores()
    await outcome.get_by_text("Restore completed").wait_for()
    assert "restored-from-page" in world.disks()
    newest = (
        await center.call("GET", vault_path(VAULT) + "/backupInstances/disk-a-instance/recoveryPoints")
    ).body["value"]
    newest.sort(key=lambda p: p["properties"]["recoveryPointTime"])
    target = world.disks()["restored-from-page"]
    assert target["location"] == "eastus"
    assert (
        world.sim.admin.read_content(
            f"/subscriptions/{SUB}/resourceGroups/rg-restore/providers/Microsoft.Compute/disks/restored-from-page"
        )
        == "disk-a-v0"
    )

    # Same name again: validateRestore refuses, and the page says why in words; no job starts.
    jobs_before = len(await world.store.list_jobs(VAULT))
    await page.get_by_role("button", name="Validate and restore").click()
    await outcome.get_by_text("A disk with this name already exists").wait_for()
    text = await outcome.inner_text()
    assert "The restore cannot start" in text
    assert "UserErrorSameNameDiskAlreadyExists" in text
    assert await outcome.get_attribute("role") == "alert"
    assert len(await world.store.list_jobs(VAULT)) == jobs_before
    assert page.js_errors == []


async def test_a_reader_sees_no_actions_and_the_api_refuses_them_anyway(
    center_with_easy_auth: Center, browser: Any
) -> None:
    center = center_with_easy_auth
    reader = principal("rita@example.com", "BackupReader")
    page = await center.page(browser, principal=reader)
    await page.goto(center.url + "&view=instance&id=" + VAULT.id + "/backupInstances/disk-a-instance")
    await page.get_by_test_id("timeline").wait_for()
    assert await page.get_by_test_id("roles").inner_text() == "(BackupReader)"
    assert await page.get_by_test_id("principal").inner_text() == "rita@example.com"
    assert await page.get_by_test_id("actions").count() == 0
    assert await page.get_by_role("button", name="Back up now").count() == 0
    assert await page.get_by_role("button", name="Validate and restore").count() == 0

    # Attempted anyway, from the page's own origin with its credentials: 403.
    answer = await page.evaluate(
        """async (path) => {
            const response = await fetch(path, {method: "POST", headers: {
                "Content-Type": "application/json",
                "x-functions-key": sessionStorage.getItem("backupcenter.functionsKey")},
                body: JSON.stringify({backupRuleOptions: {ruleName: "BackupHourly", triggerOption: {}}})});
            return {status: response.status, body: await response.json()};
        }""",
        f"/api{vault_path(VAULT)}/backupInstances/disk-a-instance/backup?api-version=2026-06-01",
    )
    assert answer["status"] == 403
    assert answer["body"]["error"]["code"] == "AuthorizationFailed"
    assert "BackupOperator" in answer["body"]["error"]["message"]

    # An operator sees the backup action; a restore operator the restore; neither both.
    operator = await center.page(browser, principal=principal("olga@example.com", "BackupOperator"))
    await operator.goto(center.url + "&view=instance&id=" + VAULT.id + "/backupInstances/disk-a-instance")
    await operator.get_by_role("button", name="Back up now").wait_for()
    assert await operator.get_by_role("button", name="Validate and restore").count() == 0

    # Without a principal, Easy Auth's 401 makes the page ask for sign-in rather than fail.
    anonymous = await center.page(browser)
    await anonymous.goto(center.url)
    await anonymous.get_by_role("heading", name="Sign in to Backup Center").wait_for()
    assert await anonymous.get_by_role("link", name=re.compile("sign in with your organisation")).count() == 1
    # Signed in without any app role: told what to ask for, shown no data.
    nobody = await center.page(browser, principal=principal("nora@example.com"))
    await nobody.goto(center.url)
    await nobody.get_by_text("Signed in as nora@example.com, without an app role.").wait_for()
    assert await nobody.locator("[data-tile]").count() == 0
    assert page.js_errors == operator.js_errors == anonymous.js_errors == nobody.js_errors == []


async def test_jobs_across_vaults_filter_by_type_status_and_time_and_the_page_works_narrow(
    center: Center, browser: Any
) -> None:
    world = center.world
    everything = []
    for vault in (VAULT, SECOND_VAULT):
        everything += (await center.call("GET", vault_path(vault) + "/backupJobs")).body["value"]
    page = await center.page(browser, width=390, height=844)
    await page.goto(center.url + "&view=jobs&range=all")
    await page.locator("table.jobs").wait_for()
    rows = page.locator("table.jobs tbody tr")
    assert await rows.count() == len(everything) == 9
    await page.get_by_label("Status").select_option("Failed")
    await expect(rows).to_have_count(1)
    failed = rows.first
    assert "UserErrorDiskNotFound" in await failed.inner_text()
    assert "status=Failed" in page.url
    await page.get_by_label("Status").select_option("")
    await page.get_by_label("Type").select_option("Restore")
    await page.get_by_text("No job matches these filters").wait_for()

    # A running job shows progress; the view refreshes itself until it ends.
    world.sim.advance(timedelta(minutes=1))
    answer = await center.call(
        "POST",
        vault_path(VAULT) + "/backupInstances/disk-a-instance/backup",
        {"backupRuleOptions": {"ruleName": "BackupHourly", "triggerOption": {}}},
    )
    assert answer.status == 202
    await page.get_by_label("Type").select_option("OnDemandBackup")
    await page.locator('table.jobs tr[data-status="InProgress"]').wait_for()
    await center.drain_backups()
    await page.locator('table.jobs tr[data-status="Completed"]').wait_for(timeout=8_000)
    assert (await world.store.list_jobs(VAULT))[0].status is JobStatus.COMPLETED

    # Narrow: nothing wider than the screen but the tables' own scroll boxes.
    await page.get_by_role("link", name="Overview").click()
    await page.locator('[data-tile="protected"]').wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    # Keyboard: a tile is reachable with Tab and works with Enter.
    await page.locator('[data-tile="stopped"]').focus()
    await page.keyboard.press("Enter")
    await _wait_rows(page, ["disk-fast"])

    # A subscription without instances: the empty state points at the README's walkthrough.
    await page.goto(f"{center.host.api_base_url}/backupcenter?subscription={EMPTY_SUB}")
    how = page.get_by_test_id("how-to-protect")
    await how.wait_for()
    assert "“Walk through the API” in the README (README.md#walk-through-the-api)" in await how.inner_text()
    assert sections(REPO_ROOT / "README.md")["walk-through-the-api"] == "Walk through the API"
    assert page.js_errors == []


async def test_the_page_and_its_assets_are_served_anonymously_with_a_strict_policy(center: Center) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{center.host.api_base_url}/backupcenter") as response:
            assert response.status == 200
            html = await response.text()
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        scripts = re.findall(r'src="([^"]+)"', html) + re.findall(r'href="(/[^"]+)"', html)
        assert scripts
        total = len(html.encode())
        # The cold load: the page, what it links, and every module app.js imports, transitively.
        loaded: set[str] = set()
        while scripts:
            path = scripts.pop()
            if path in loaded:
                continue
            loaded.add(path)
            async with session.get(center.host.url + path) as response:
                assert response.status == 200, path
                body = await response.read()
                total += len(body)
            folder = path.split("?", 1)[0].rsplit("/", 1)[0]
            imports = re.findall(r' from "\./([^"]+)";$', body.decode(), re.MULTILINE)
            scripts += [f"{folder}/{name}" for name in imports]
        assert sum(".js?" in path for path in loaded) > 10
        async with session.get(f"{center.host.api_base_url}/backupcenter/whoami") as response:
            assert response.status == 401  # data needs the key
    assert total < 300 * 1024
