"""sync and the jobs export over the fakes: what sync clears and when, and the export's blob,
token and failure, through the router."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.domain.models import ProtectionState
from backup.errors import TransientError
from backup.services.protection import ProtectionCheckError
from tests.fakes._types import PlanState
from tests.fakes.compute import APP_PRINCIPAL
from tests.fakes.file_publisher import FakeFilePublisher
from tests.service.conftest import POLICY_NAME, SNAP_RG, VAULT, Env, policy_document

BASE = "https://backup.example.net/api"


async def failing(env: Env, **changes: Any) -> None:
    """The protected disk's instance after a failed backup (and ``changes``), its policy stored."""
    await env.store.put_policy(VAULT, POLICY_NAME, policy_document())
    instance = await env.protect()
    current = await env.store.get_instance(VAULT, instance.name)
    assert current is not None
    failed = replace(current.value.after_failure("UserErrorMissingRequiredPermissions", "no role"), **changes)
    plan = PlanState(
        failed.name, failed.policy_document, active=failed.protection_state.takes_scheduled_backups
    )
    await env.store.update_instance(current, failed, plan=plan)


async def test_sync_clears_a_protection_error_once_the_checks_pass(env: Env) -> None:
    await failing(env)
    service = env.protection
    env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    before = await env.store.get_instance(VAULT, "disk-a-instance")
    with pytest.raises(ProtectionCheckError) as refused:
        await service.sync(VAULT, "eastus", "disk-a-instance", force=False)
    assert refused.value.code == "UserErrorMissingRequiredPermissions"
    assert await env.store.get_instance(VAULT, "disk-a-instance") == before

    env.arm.grant(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    synced = await service.sync(VAULT, "eastus", "disk-a-instance", force=False)
    assert synced.protection_state is ProtectionState.PROTECTION_CONFIGURED
    assert synced.health.consecutive_failures == 0
    assert synced.disk_facts is not None
    assert synced.disk_facts_refreshed_at == env.now


async def test_default_sync_leaves_a_healthy_instance_and_force_keeps_a_stopped_one_stopped(env: Env) -> None:
    await env.store.put_policy(VAULT, POLICY_NAME, policy_document())
    await env.protect()
    before = await env.store.get_instance(VAULT, "disk-a-instance")
    assert before is not None
    env.arm.revoke(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)  # Default does not even look
    assert await env.protection.sync(VAULT, "eastus", "disk-a-instance", force=False) == before.value
    with pytest.raises(ProtectionCheckError):
        await env.protection.sync(VAULT, "eastus", "disk-a-instance", force=True)
    env.arm.grant(APP_PRINCIPAL, "Disk Snapshot Contributor", SNAP_RG)
    await env.protection.stop_protection(VAULT, "disk-a-instance")
    synced = await env.protection.sync(VAULT, "eastus", "disk-a-instance", force=True)
    assert synced.protection_state is ProtectionState.PROTECTION_STOPPED


async def call(env: Env, files: FakeFilePublisher, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
    runtime = env.runtime.replacing(files=files)
    sep = "&" if "?" in path else "?"
    request = ApiRequest.build(method, f"{BASE}{path}{sep}api-version=2026-06-01")
    response = await build_router().handle(request, runtime.api)
    text = response.json_text()
    return response.status, json.loads(text) if text else None, response.headers


async def test_the_export_writes_every_job_and_answers_where_it_is(env: Env) -> None:
    await env.protect()
    await env.run_slots(4)
    files = FakeFilePublisher()
    status, _, headers = await call(env, files, "POST", f"{VAULT.id}/exportBackupJobs")
    assert status == 202
    status, result, _ = await call(env, files, "GET", urlsplit(headers["Location"]).path.removeprefix("/api"))
    assert status == 200
    exported = json.loads(files.read(result["blobUrl"], result["blobSasKey"]) or b"null")
    stored = [job.id async for job in env.store.jobs_page(VAULT)]
    assert len(stored) == 4
    assert [job["name"] for job in exported] == stored
    sheet = files.read(result["excelFileBlobUrl"], result["excelFileBlobSasKey"])
    assert sheet is not None
    assert len(sheet.decode("utf-8-sig").strip().splitlines()) == 1 + len(stored)


async def test_an_export_that_cannot_be_written_is_a_503_and_the_next_one_works(env: Env) -> None:
    await env.protect()
    files = FakeFilePublisher()
    files.fail_next(TransientError("The app's storage did not answer."))
    status, body, _ = await call(env, files, "POST", f"{VAULT.id}/exportBackupJobs")
    assert (status, body["error"]["code"]) == (503, "ServiceUnavailable")
    assert files.files == {}
    status, _, _ = await call(env, files, "POST", f"{VAULT.id}/exportBackupJobs")
    assert status == 202
