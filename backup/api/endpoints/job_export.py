"""``exportBackupJobs`` and its operation result (ExportJobs_Trigger, ExportJobsOperationResult_Get).

==============================================================  ============  =======================
``POST backupVaults/{v}/exportBackupJobs``                      BackupReader  202 + operation
``GET  backupVaults/{v}/backupJobs/operations/{operationId}``   BackupReader  200 ExportJobsResult
==============================================================  ============  =======================

Azure's contract says where the export is (``blobUrl``, ``blobSasKey``), not where it must be
written. Here every job of the vault, newest first and rendered as ``jobs.list`` renders it, is
written as one JSON array to a blob of the app's own storage (container ``job-exports``), and
the result carries a read-only, HTTPS-only user-delegation SAS for that blob alone, valid 24 hours:
``blobUrl + "?" + blobSasKey`` downloads it. The "Excel file" (``excelFileBlobUrl``,
``excelFileBlobSasKey``) is the same jobs as a CSV sheet Excel opens (Azure's is an ``.xlsx``),
with its own SAS. The work is done before the answer, so the first poll of ``Location`` ends it.

A SAS is never signed with an account key: where the app reaches storage by a connection string
(Azurite under ``make run``) there is no identity to ask for a delegation key, and the export is
refused with 409 ``UserErrorJobsExportNeedsIdentityStorage``.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from backup.api import paths
from backup.api.auth import Role
from backup.api.endpoints._common import load_vault
from backup.api.endpoints.jobs import job_resource
from backup.api.http import ApiResponse, json_response
from backup.api.operations import (
    accepted,
    load_operation,
    save_operation,
    start_operation,
    vault_of_operation,
)
from backup.api.router import RequestContext, RouteTable, error_response
from backup.errors import BackupError, ConflictError, NotFoundError

routes = RouteTable()

EXPORT_BACKUP_JOBS = paths.VAULT + "/exportBackupJobs"
EXPORT_OPERATION_RESULT = paths.JOBS + "/operations/{operationId}"
_JSON = "application/json"
_CSV = "text/csv; charset=utf-8"
_PAGE = 500


@routes.post(EXPORT_BACKUP_JOBS, role=Role.READER)
async def export_backup_jobs(ctx: RequestContext) -> ApiResponse:
    vault, stored = await load_vault(ctx)
    publisher = ctx.api.services.exports
    if publisher is None:
        raise ConflictError(
            "Exporting jobs needs the app to reach Blob storage with its identity "
            "(AzureWebJobsStorage__blobServiceUri), so that the export's SAS is a user-delegation SAS; "
            "this app uses a storage connection string. List the jobs instead (GET backupJobs).",
            code="UserErrorJobsExportNeedsIdentityStorage",
        )
    now = ctx.now
    jobs = [job_resource(vault, job, now) async for job in ctx.api.store.jobs_page(vault, page_size=_PAGE)]
    operation = await start_operation(
        ctx, vault=vault, location=str(stored.value.get("location") or "westus"), name="ExportBackupJobs"
    )
    stem = (
        f"{vault.subscription_id}/{vault.resource_group}/{vault.name}/exportjobsreport{uuid.uuid4()}".lower()
    )
    try:
        published = await publisher.publish(f"{stem}.json", json.dumps(jobs).encode(), _JSON)
        sheet = await publisher.publish(f"{stem}_ExcelFile.csv", jobs_sheet(jobs), _CSV)
    except BackupError as error:
        await save_operation(ctx.api.store, operation.failed(ctx.now, error))
        raise
    result = {
        "blobUrl": published.url,
        "blobSasKey": published.sas_token,
        "excelFileBlobUrl": sheet.url,
        "excelFileBlobSasKey": sheet.sas_token,
    }
    await save_operation(ctx.api.store, operation.succeeded(ctx.now, result=result))
    location = ctx.url(EXPORT_OPERATION_RESULT.format(**ctx.params, operationId=operation.id))
    return accepted(ctx, operation, location_url=location)


@routes.get(EXPORT_OPERATION_RESULT, role=Role.READER)
async def export_operation_result(ctx: RequestContext) -> ApiResponse:
    operation_id = ctx.params["operationId"]
    owner = vault_of_operation(operation_id)
    if owner is None or owner.id.lower() != ctx.vault.id.lower():
        raise _not_found(operation_id)
    record = await load_operation(ctx.api.store, owner, operation_id)
    if record is None or record.name != "ExportBackupJobs":
        raise _not_found(operation_id)
    if not record.status.is_terminal:
        return accepted(ctx, record, location_url=ctx.url(EXPORT_OPERATION_RESULT.format(**ctx.params)))
    if record.error is not None:
        error = dict(record.error)
        failure = BackupError(str(error.get("message", "")), code=str(error.get("code")))
        failure.status = int(error.get("status") or 500)
        return error_response(failure)
    return json_response(200, dict(record.result or {}))


SHEET_COLUMNS = (
    ("Job id", "activityID"),
    ("Operation", "operation"),
    ("Status", "status"),
    ("Backup instance", "backupInstanceFriendlyName"),
    ("Datasource", "dataSourceName"),
    ("Datasource type", "dataSourceType"),
    ("Start time (UTC)", "startTime"),
    ("End time (UTC)", "endTime"),
    ("Duration", "duration"),
    ("User triggered", "isUserTriggered"),
    ("Policy", "policyName"),
)


def jobs_sheet(jobs: list[dict[str, Any]]) -> bytes:
    """The jobs as a spreadsheet Excel opens: CSV with a header row, UTF-8 with a BOM (so Excel
    reads non-ASCII names right), one row per job; an error adds its code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*(title for title, _ in SHEET_COLUMNS), "Error"])
    for job in jobs:
        properties = job["properties"]
        errors = properties.get("errorDetails") or [{}]
        row = [properties.get(key, "") for _, key in SHEET_COLUMNS]
        writer.writerow([*(_cell(value) for value in row), errors[0].get("code", "")])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    # A cell starting with =, +, - or @ is a formula to Excel: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _not_found(operation_id: str) -> NotFoundError:
    return NotFoundError(
        f"The export operation '{operation_id[:120]}' was not found.",
        code="OperationNotFound",
        target="operationId",
    )
