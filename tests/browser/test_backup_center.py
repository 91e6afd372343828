"""Backup Center in headless Chromium against the local host, Azurite and the Compute emulator."""

from __future__ import annotations

import asyncio
import copy
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips, or fails under CI, and says why
    expect = None

from backup.domain.models import BackupInstanceHealth, JobStatus
from backup.domain.records import PlanState
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


async def _ready(page: Any) -> None:
    """The overview's tiles show their numbers and its first rows are in the table."""
    await page.locator("html[data-ready]").wait_for(state="attached")


def _oldest_point(summaries: list[dict[str, Any]]) -> str:
    """The oldest restorable point the cross-vault list reports ("" while it reports none)."""
    known = [s["oldestRecoveryPointTime"] for s in summaries if s.get("oldestRecoveryPointTime")]
    return min(known, default="")


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
    await _ready(page)
    assert await page.evaluate("sessionStorage.getItem('backupcenter.functionsKey')") == HOST_KEY
    assert await page.evaluate("localStorage.length") == 0

    for key, value in expected.items():
        assert await _tile(page, key) == str(value), key
    assert await _tile(page, "failed") == str(failed_count) == "1"
    assert await _tile(page, "oldest") == oldest
    assert await _tile(page, "restorable") == _oldest_point(summaries)
    all_disks = ["disk-a", "disk-b", "disk-c", "disk-fast"]
    assert await _rows(page) == all_disks
    # The policy's name, in words on hover; health with its reason; times in the browser's
    # zone with UTC on hover.
    row_b = page.locator('#instances tr:has(a:text-is("disk-b"))')
    policy = row_b.locator("[data-policy]")
    assert await policy.inner_text() == "every-4h"
    assert "Every 4 hours from 00:00 UTC; keep 7 days" in str(await policy.get_attribute("title"))
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
    # The failed-jobs tile shows what failed and why: the Jobs view, failed, last 24 hours.
    await page.locator('[data-tile="failed"]').click()
    await expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    assert "UserErrorDiskNotFound" in await page.locator("table.jobs tbody tr").inner_text()
    assert "status=Failed" in page.url
    assert "range=24h" in page.url
    await page.go_back()
    await _ready(page)
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
    await _ready(page)
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
    assert await jobs.first.get_attribute("data-operation") == "Backup"  # Azure's value
    assert await jobs.first.get_attribute("data-kind") == "OnDemandBackup"
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


async def test_a_principal_with_a_role_on_one_vault_sees_that_vault_alone_and_its_access(
    center_with_easy_auth: Center, browser: Any
) -> None:
    center = center_with_easy_auth
    object_id = "0b0b0b0b-0000-4000-8000-00000000000b"
    grant = (
        vault_path(VAULT)
        + "/providers/Microsoft.Authorization/roleAssignments/1c1c1c1c-0000-4000-8000-00000000000c"
    )
    operator = "/providers/Microsoft.Authorization/roleDefinitions/37b09aef-9445-5726-a29a-30f6dabff511"
    granted = await center.call(
        "PUT", grant, {"properties": {"roleDefinitionId": operator, "principalId": object_id}}
    )
    assert granted.status == 201, granted.body
    olga = principal("olga@example.com")
    olga["claims"].append({"typ": "oid", "val": object_id})
    page = await center.page(browser, principal=olga)
    await page.goto(center.url + "&view=instance&id=" + VAULT.id + "/backupInstances/disk-a-instance")
    await page.get_by_test_id("timeline").wait_for()
    assert await page.get_by_test_id("roles").inner_text() == "(BackupOperator)"
    # Her role holds on this vault: the backup action shows, the restore action does not.
    await page.get_by_role("button", name="Back up now").wait_for()
    assert await page.get_by_role("button", name="Validate and restore").count() == 0
    access = page.get_by_test_id("access")
    assert "BackupOperator" in await access.inner_text()
    assert object_id in await access.inner_text()
    # The overview counts her vault only; the other vault's instances are not listed.
    await page.goto(center.url)
    await page.get_by_role("link", name="disk-a", exact=True).wait_for()
    listed = await page.locator("body").inner_text()
    assert SECOND_VAULT.name not in listed
    # disk-c is protected in the other vault: an owner's overview lists it, hers does not.
    assert await page.get_by_role("link", name="disk-c", exact=True).count() == 0
    owner = await center.page(browser, principal=principal("owner@example.com", "BackupOwner"))
    await owner.goto(center.url)
    await owner.get_by_role("link", name="disk-c", exact=True).wait_for()
    assert page.js_errors == owner.js_errors == []


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
    # Azure names every backup "Backup": the Type filter tells scheduled ones by isUserTriggered.
    scheduled = [
        j["name"]
        for j in everything
        if (j["properties"]["operation"], j["properties"]["isUserTriggered"]) == ("Backup", False)
    ]
    assert scheduled
    await page.get_by_label("Type").select_option("ScheduledBackup")
    await expect(rows).to_have_count(len(scheduled))
    assert {await row.get_attribute("data-kind") for row in await rows.all()} == {"ScheduledBackup"}
    assert "Scheduled backup" in await rows.first.inner_text()
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


async def _add_instances(center: Center, count: int) -> None:
    """``count`` more instances of disk-a's kind in VAULT, written straight to the store (a few
    hundred rows: the page's cost must not depend on how many there are)."""
    store = center.world.store
    template = (await store.get_instance(VAULT, "disk-a-instance")).value
    now = center.world.sim.now

    async def one(index: int) -> None:
        disk = f"bulk-{index:03d}"
        disk_id = template.disk_id.rsplit("/", 1)[0] + "/" + disk
        document = copy.deepcopy(dict(template.document))
        document["dataSourceInfo"] = {
            **document["dataSourceInfo"],
            "resourceID": disk_id,
            "resourceName": disk,
        }
        document["friendlyName"] = disk
        instance = replace(
            template,
            name=f"{disk}-instance",
            disk_id=disk_id,
            document=document,
            live_recovery_points=1,
            health=BackupInstanceHealth(last_successful_backup=now - timedelta(minutes=index + 1)),
        )
        await store.create_instance(instance, PlanState(instance.name, instance.policy_document, active=True))

    gate = asyncio.Semaphore(16)

    async def gated(index: int) -> None:
        async with gate:
            await one(index)

    await asyncio.gather(*(gated(index) for index in range(count)))


async def _walk(center: Center) -> list[dict[str, Any]]:
    """Every item of the cross-vault list, following nextLink as a client does."""
    items: list[dict[str, Any]] = []
    path, query = PROVIDER + "/backupInstances", ""
    while True:
        answer = await center.world.api.call("GET", path, query=query)
        assert answer.status == 200, answer.body
        items += answer.body["value"]
        link = answer.body.get("nextLink")
        if not link:
            return items
        parts = urlsplit(link)
        path = parts.path.removeprefix("/api")
        query = "&".join(part for part in parts.query.split("&") if not part.startswith("api-version="))


async def test_the_overview_is_ready_after_three_requests_whatever_the_count_and_pages_the_rest(
    center: Center, browser: Any
) -> None:
    await _add_instances(center, 246)
    items = await _walk(center)
    assert len(items) == 250
    summaries = [item["properties"]["backupSummary"] for item in items]

    page = await center.page(browser, width=1366, height=900)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.resource_type in ("fetch", "xhr") else None)
    await page.goto(center.url)
    await _ready(page)
    # whoami, the overview's counts and the first page of the list: nothing walks every page.
    assert len(requests) <= 3, requests
    assert any("/api/x/subscriptions/" in url and "/overview" in url for url in requests)
    assert sum("/backupInstances" in url for url in requests) == 1

    # Tiles exact over all 250 instances, though only the first page is loaded.
    assert await _tile(page, "protected") == "248"
    assert await _tile(page, "healthy") == str(sum(s["health"] == "Healthy" for s in summaries))
    assert await _tile(page, "points") == str(sum(s["recoveryPointCount"] for s in summaries))
    count = page.get_by_test_id("row-count")
    assert await count.get_attribute("data-total") == "250"
    assert await count.get_attribute("data-more") == "true"
    assert await page.locator("#instances tbody tr").count() == 100
    assert (await count.inner_text()).startswith("Rows 1 to 100 of 250 instances")

    # Pages: the next one is asked for only when the table reaches it.
    await page.get_by_role("button", name="Next page").click()
    await expect(count).to_contain_text("Rows 101 to 200 of 250")
    assert len(requests) == 4
    await page.get_by_role("button", name="Next page").click()
    await expect(count).to_contain_text("Rows 201 to 250 of 250")
    assert await page.locator("#instances tbody tr").count() == 50
    assert await page.get_by_role("button", name="Next page").is_disabled()
    await page.get_by_role("button", name="Previous page").click()
    await expect(count).to_contain_text("Rows 101 to 200 of 250")

    # With every row loaded, a sort covers them all: the oldest last backup first.
    await page.get_by_role("button", name="Last backup", exact=True).click()
    await expect(count).to_contain_text("Rows 1 to 100 of 250")
    last = sorted(
        (s["lastBackupTime"], item["properties"]["dataSourceInfo"]["resourceName"])
        for s, item in zip(summaries, items, strict=True)
        if s["lastBackupTime"]
    )
    assert (await _rows(page))[:3] == [name for _, name in last[:3]]

    # A filter the API applies: exact, over every instance, and a fresh first page.
    await page.get_by_label("Health").select_option("Unhealthy")
    await _wait_rows(page, ["disk-b"])
    assert await count.get_attribute("data-total") == "1"
    assert page.js_errors == []


async def test_rows_stay_one_line_wide_and_the_narrow_page_keeps_disk_health_and_last_backup(
    center: Center, browser: Any
) -> None:
    wide = await center.page(browser, width=1366, height=900)
    await wide.goto(center.url)
    await _ready(wide)
    heights = await wide.locator("#instances tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert len(heights) == 4
    assert max(heights) <= 56, heights
    # Oldest and newest restorable point of each instance, in its row.
    row_a = wide.locator('#instances tr:has(a:text-is("disk-a")) td[data-newest]')
    assert await row_a.get_attribute("data-newest")

    # The instance page does not overflow at 1366 px, and says how far back it can restore.
    await wide.get_by_role("link", name="disk-a", exact=True).click()
    await wide.get_by_test_id("timeline").wait_for()
    restorable = wide.locator("dl.facts div:has(dt:text-is('Restorable')) time")
    points = (
        await center.call("GET", vault_path(VAULT) + "/backupInstances/disk-a-instance/recoveryPoints")
    ).body
    times = sorted(p["properties"]["recoveryPointTime"] for p in points["value"])
    assert await restorable.evaluate_all("els => els.map(e => e.getAttribute('datetime'))") == [
        times[0],
        times[-1],
    ]
    assert await wide.evaluate("document.documentElement.scrollWidth") <= 1366

    narrow = await center.page(browser, width=390, height=844)
    await narrow.goto(center.url)
    await _ready(narrow)
    assert await narrow.evaluate("document.documentElement.scrollWidth") <= 390
    row = narrow.locator('#instances tr:has(a:text-is("disk-b"))')
    for cell in ("a.disk", "td[data-health] .badge", "td:nth-child(3) time"):
        box = await row.locator(cell).bounding_box()
        assert box is not None, cell
        assert box["x"] >= 0, (cell, box)
        assert box["x"] + box["width"] <= 390, (cell, box)
    # Timeline labels stay readable on a phone: drawn at about their CSS size.
    await narrow.get_by_role("link", name="disk-a", exact=True).click()
    await narrow.get_by_test_id("timeline").wait_for()
    label_heights = await narrow.locator("[data-testid=timeline] .axis text").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert label_heights
    assert min(label_heights) >= 10, label_heights
    assert wide.js_errors == narrow.js_errors == []
