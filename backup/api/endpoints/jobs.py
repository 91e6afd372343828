"""``backupJobs``: list (newest first, ``$filter``, paging) and get, as AzureBackupJobResource.

``$filter`` (the SDK sends none; pass ``params={"$filter": ...}`` or use REST):
``status eq 'Failed'``, ``operation eq 'Backup'`` (``Restore``, ``RetentionDeletion``; the
stored kinds ``ScheduledBackup`` and ``OnDemandBackup`` too), ``operationCategory eq 'Backup'``,
``backupInstanceName eq '...'``, ``isUserTriggered eq true``, ``startTime ge|gt|le|lt '<ISO>'``,
``endTime ge|gt|le|lt '<ISO>'``, joined with ``and``. Pages hold ``ApiContext.page_size`` jobs;
``nextLink`` carries ``$skipToken`` (the last job id served) and the filter. A filter on status,
operation (category, user-triggered) or instance reads that index range (``job_filter.py``), so a
page costs O(page), however rare the matches. No ``$top``: Azure's backupJobs list has none.
"""

from __future__ import annotations

import uuid
from typing import Any

from backup.api import paths
from backup.api.endpoints._common import load_vault
from backup.api.http import ApiResponse, json_response
from backup.api.job_filter import FILTER_FIELDS as FILTER_FIELDS  # the OpenAPI document names it here
from backup.api.job_filter import index_for, matches
from backup.api.odata import decode_skip_token, encode_skip_token, parse_filter, parse_time
from backup.api.render import iso_duration, rfc3339
from backup.api.router import RequestContext, RouteTable
from backup.domain.instance import VaultRef
from backup.domain.jobs import RESTORE_TYPE, Job
from backup.domain.models import JobOperation
from backup.domain.policy import DISK_DATASOURCE_TYPE, OPERATIONAL_STORE
from backup.domain.resource_ids import GUID, ComputeResourceId
from backup.errors import NotFoundError, ValidationError

routes = RouteTable()


def job_resource(vault: VaultRef, job: Job, now: Any) -> dict[str, Any]:
    """AzureBackupJobResource for one job (``now`` gives running jobs their duration so far)."""
    source_group = source_subscription = None
    if job.datasource_id:
        try:
            disk = ComputeResourceId.disk(job.datasource_id)
            source_group, source_subscription = disk.resource_group, disk.subscription_id
        except ValidationError:
            pass
    # TaskId: Azure's names the job's one task by a GUID; here the job is that task.
    additional = {"InitiatedBy": job.initiated_by, "TaskId": job.id}
    if job.policy_rule_name:
        additional["PolicyRuleName"] = job.policy_rule_name
    if job.retention_tag:
        additional["RetentionTag"] = job.retention_tag
    if job.recovery_point_id:
        additional["RecoveryPointId"] = job.recovery_point_id
    if job.progress_percent is not None:
        additional["ProgressPercent"] = str(job.progress_percent)
    extended: dict[str, Any] = {
        "additionalDetails": additional,
        "subTasks": [
            {
                "taskId": 1,
                "taskName": _TASK_NAMES[job.operation],
                "taskStatus": job.status.value,
                **({"taskProgress": f"{job.progress_percent}%"} if job.progress_percent is not None else {}),
            }
        ],
    }
    if job.warnings:
        extended["warningDetails"] = [
            {"resourceIds": [job.datasource_id] if job.datasource_id else [], "warning": [{"message": w}]}
            for w in job.warnings
        ]
    end = job.end_time if job.end_time is not None else now
    errors = (
        [{"code": job.error_code, "message": job.error_message or job.error_code, "isRetryable": False}]
        if job.error_code is not None
        else None
    )
    properties: dict[str, Any] = {
        "activityID": job.id,
        "backupInstanceFriendlyName": job.instance,
        "backupInstanceId": f"{vault.id}/backupInstances/{job.instance}",
        "dataSourceId": job.datasource_id,
        "dataSourceLocation": job.datasource_location,
        "dataSourceName": job.datasource_name,
        "dataSourceSetName": job.datasource_name,
        "dataSourceType": DISK_DATASOURCE_TYPE,
        "duration": iso_duration(end - job.start_time),
        "startTime": rfc3339(job.start_time),
        "endTime": rfc3339(job.end_time),
        "extendedInfo": extended,
        "errorDetails": errors,
        "isUserTriggered": job.operation.is_user_triggered,
        "operation": job.operation.rest_value,
        "operationCategory": job.operation.operation_category,
        "policyId": f"{vault.id}/backupPolicies/{job.policy_name}" if job.policy_name else None,
        "policyName": job.policy_name,
        "progressEnabled": False,
        "sourceResourceGroup": source_group,
        "sourceSubscriptionID": source_subscription,
        "status": job.status.value,
        "subscriptionId": vault.subscription_id,
        "supportedActions": [],
        "vaultName": vault.name,
        "etag": job_etag(job),
    }
    properties = {key: value for key, value in properties.items() if value is not None}
    if job.operation is JobOperation.RESTORE:
        _add_restore_fields(job, properties, extended, errors)
    return {
        "id": f"{vault.id}/backupJobs/{job.id}",
        "name": job.id,
        "type": paths.JOB_TYPE,
        "properties": properties,
    }


def _add_restore_fields(
    job: Job, properties: dict[str, Any], extended: dict[str, Any], errors: list[dict[str, Any]] | None
) -> None:
    """Every field of the REST docs' restore job, null where a disk restore has no value (as
    Azure's are): no rehydration, no progress URL, no target point; the point is read from the
    snapshot in place, so no bytes pass through the vault."""
    properties.update(
        {
            "errorDetails": errors,
            "progressUrl": None,
            "rehydrationPriority": None,
            "restoreType": RESTORE_TYPE,
            "sourceDataStoreName": OPERATIONAL_STORE,
            "destinationDataStoreName": None,
        }
    )
    extended["backupInstanceState"] = job.instance_state
    # The REST docs spell it ``dataTransferedInBytes``; the SDKs' model reads
    # ``dataTransferredInBytes``: both are sent, so each reader finds its name.
    extended["dataTransferedInBytes"] = 0
    extended["dataTransferredInBytes"] = 0
    extended["recoveryDestination"] = job.restore_target_id
    extended["sourceRecoverPoint"] = {
        "recoveryPointID": job.recovery_point_id,
        "recoveryPointTime": rfc3339(job.recovery_point_time),
    }
    extended["targetRecoverPoint"] = None


def job_etag(job: Job) -> str:
    """Changes whenever what the job shows changes (its status, end and progress), like Azure's."""
    end = rfc3339(job.end_time) or ""
    state = "|".join((job.id, job.status.value, end, str(job.progress_percent), job.error_code or ""))
    return str(uuid.uuid5(_ETAG_NAMESPACE, state))


_ETAG_NAMESPACE = uuid.UUID("6b1f3c2e-8d4a-4e7b-9c1d-2a5f6e7d8c9b")

_TASK_NAMES = {
    JobOperation.SCHEDULED_BACKUP: "Take Snapshot",
    JobOperation.ON_DEMAND_BACKUP: "Take Snapshot",
    JobOperation.RESTORE: "Trigger Restore",
    JobOperation.RETENTION_DELETION: "Delete Snapshot",
}


@routes.get(paths.JOB)
async def get_job(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    job = await ctx.api.store.get_job(vault, ctx.params["jobId"])
    if job is None:
        raise NotFoundError(
            f"The job '{ctx.params['jobId']}' was not found in vault '{vault.name}'.",
            code="ResourceNotFound",
            target="jobId",
        )
    return json_response(200, job_resource(vault, job, ctx.now))


@routes.get(paths.JOBS)
async def list_jobs(ctx: RequestContext) -> ApiResponse:
    vault, _ = await load_vault(ctx)
    filter_text = ctx.query("$filter")
    clauses = parse_filter(filter_text, FILTER_FIELDS)
    times = {
        (clause.field, clause.op): parse_time(clause.value)
        for clause in clauses
        if clause.field in ("startTime", "endTime")
    }
    for clause in clauses:
        if clause.field == "isUserTriggered" and clause.value.lower() not in ("true", "false"):
            raise ValidationError(
                "isUserTriggered takes true or false.", code="InvalidQueryParameterValue", target="$filter"
            )
    started_from = times.get(("startTime", "ge")) or times.get(("startTime", "gt"))
    started_to = times.get(("startTime", "le")) or times.get(("startTime", "lt"))
    after = decode_skip_token(ctx.query("$skipToken"))
    if after is not None and not (GUID.fullmatch(after) and after == after.lower()):
        raise ValidationError(
            "The $skipToken is not one this API issued.",
            code="InvalidQueryParameterValue",
            target="$skipToken",
        )
    size = ctx.api.page_size
    page: list[Job] = []
    more = False
    async for job in ctx.api.store.jobs_page(
        vault,
        after_id=after,
        started_from=started_from,
        started_to=started_to,
        index=index_for(clauses),
        page_size=size + 1,
    ):
        if not all(matches(job, clause) for clause in clauses):
            continue
        if len(page) == size:
            more = True
            break
        page.append(job)
    body: dict[str, Any] = {"value": [job_resource(vault, job, ctx.now) for job in page]}
    if more:
        query = {"$skipToken": encode_skip_token(page[-1].id)}
        if filter_text:
            query["$filter"] = filter_text
        body["nextLink"] = ctx.url(paths.JOBS.format(**ctx.params), query)
    return json_response(200, body)
