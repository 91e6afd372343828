"""The demo history ``make run`` starts with, so Backup Center means something at first look.

Two vaults protect five disks of the seed; the engine then runs on a simulated clock through
the last few days (the emulator's clock moved in step), with one source disk deleted halfway
so one instance is failing, and one instance's backups suspended at the end. Everything goes
through the product's own services, exactly as the triggers and the API would.

The walkthrough's disks (``vm-web-01-data`` and ``vm-app-01-osdisk``) are left unprotected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from azure.mgmt.compute import ComputeManagementClient

from backup.api.app import build_router
from backup.api.http import ApiRequest
from backup.bootstrap import Runtime
from backup.cli import drain_backup_queue
from backup.config import Settings
from backup.credentials import StaticTokenCredential
from backup.domain.clock import ManualClock
from backup.domain.instance import VaultRef
from localdev.compute_emulator import AdminClient

DAYS = 3
STEP = timedelta(hours=4)
OWNER_TOKEN = "local-owner-token"


def _policy(interval: str, default: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    store = {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"}
    criteria: list[dict[str, Any]] = [
        {"tagInfo": {"tagName": "Default", "id": "Default_"}, "taggingPriority": 99, "isDefault": True}
    ]
    rules: list[dict[str, Any]] = [
        {
            "name": "Default",
            "objectType": "AzureRetentionRule",
            "isDefault": True,
            "lifecycles": [
                {
                    "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": default},
                    "sourceDataStore": store,
                }
            ],
        }
    ]
    for tag, duration in (tags or {}).items():
        marker, priority = {"Daily": ("FirstOfDay", 25), "Weekly": ("FirstOfWeek", 20)}[tag]
        criteria.append(
            {
                "tagInfo": {"tagName": tag, "id": f"{tag}_"},
                "taggingPriority": priority,
                "isDefault": False,
                "criteria": [{"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": [marker]}],
            }
        )
        rules.append(
            {
                "name": tag,
                "objectType": "AzureRetentionRule",
                "isDefault": False,
                "lifecycles": [
                    {
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": duration},
                        "sourceDataStore": store,
                    }
                ],
            }
        )
    return {
        "objectType": "BackupPolicy",
        "datasourceTypes": ["Microsoft.Compute/disks"],
        "policyRules": [
            {
                "name": "BackupHourly" if interval.startswith("PT") else "BackupDaily",
                "objectType": "AzureBackupRule",
                "backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
                "dataStore": store,
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {
                        "repeatingTimeIntervals": [f"R/2026-01-05T01:00:00+00:00/{interval}"],
                        "timeZone": "UTC",
                    },
                    "taggingCriteria": criteria,
                },
            },
            *rules,
        ],
    }


def _instance(vault: VaultRef, disk_id: str, location: str, policy: str, snapshots: str) -> dict[str, Any]:
    return {
        "objectType": "BackupInstance",
        "dataSourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": disk_id,
            "resourceName": disk_id.rsplit("/", 1)[-1],
            "resourceType": "Microsoft.Compute/disks",
            "resourceLocation": location,
        },
        "policyInfo": {
            "policyId": f"{vault.id}/backupPolicies/{policy}",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "objectType": "AzureOperationalStoreParameters",
                        "dataStoreType": "OperationalStore",
                        "resourceGroupId": snapshots,
                    }
                ]
            },
        },
    }


async def seed_demo(
    settings: Settings, admin: AdminClient, subscription_id: str, *, now: datetime | None = None
) -> None:
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    clock = ManualClock(end - timedelta(days=DAYS))

    def sync_emulator() -> None:
        admin.set_clock_offset((clock.now() - datetime.now(UTC)).total_seconds())

    sync_emulator()
    runtime = Runtime.from_settings(settings, clock=clock, arm_polling_interval=0)
    sub = f"/subscriptions/{subscription_id}/resourceGroups"
    prod = VaultRef(subscription_id, "rg-backup", "prod-vault")
    analytics = VaultRef(subscription_id, "rg-backup", "analytics-vault")
    plan = [
        (
            prod,
            "eastus",
            "every-4h",
            _policy("PT4H", "P7D", {"Daily": "P14D"}),
            [("rg-prod-vms", "vm-web-01-osdisk")],
        ),
        (prod, "eastus", "twice-daily", _policy("PT12H", "P7D"), [("rg-prod-vms", "vm-db-01-data")]),
        (
            analytics,
            "westus2",
            "daily",
            _policy("P1D", "P30D", {"Weekly": "P84D"}),
            [("rg-data", "archive-01"), ("rg-data", "reports-01"), ("rg-data", "analytics-scratch")],
        ),
    ]
    api = _Api(runtime)
    try:
        for vault, location, policy_name, policy, disks in plan:
            vault_path = vault.id
            await api.put(
                vault_path,
                {
                    "location": location,
                    "identity": {"type": "SystemAssigned"},
                    "properties": {
                        "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
                    },
                },
            )
            await api.put(f"{vault_path}/backupPolicies/{policy_name}", {"properties": policy})
            snapshots = f"{sub}/rg-backup-snapshots-{location}"
            for group, disk in disks:
                disk_id = f"{sub}/{group}/providers/Microsoft.Compute/disks/{disk}"
                body = _instance(vault, disk_id, location, policy_name, snapshots)
                await api.put(f"{vault_path}/backupInstances/{disk}", {"properties": body})

        deleted = False
        while clock.now() <= end:
            await runtime.planner.tick()
            await drain_backup_queue(runtime)
            await runtime.sweeper.sweep()
            if not deleted and clock.now() >= end - timedelta(days=DAYS / 2):
                _delete_disk(settings, subscription_id, "rg-data", "reports-01")
                deleted = True
            clock.advance(STEP)
            sync_emulator()
        await api.post(f"{analytics.id}/backupInstances/analytics-scratch/suspendBackups")
    finally:
        admin.set_clock_offset(0)
        await runtime.close()


class _Api:
    """The product's own HTTP API, called in-process through its router."""

    def __init__(self, runtime: Runtime) -> None:
        self._router = build_router()
        self._context = runtime.api

    async def put(self, path: str, body: dict[str, Any]) -> None:
        await self._call("PUT", path, body)

    async def post(self, path: str) -> None:
        await self._call("POST", path, {})

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> None:
        request = ApiRequest.build(method, f"http://demo/api{path}?api-version=2026-06-01", json_body=body)
        response = await self._router.handle(request, self._context)
        if response.status >= 400:
            raise RuntimeError(f"demo set-up failed: {method} {path}: {response.json_text()}")


def _delete_disk(settings: Settings, subscription_id: str, group: str, disk: str) -> None:
    """Someone deletes a protected disk: its instance fails once, then waits for the disk."""
    with ComputeManagementClient(
        StaticTokenCredential(OWNER_TOKEN),
        subscription_id,
        base_url=settings.arm_endpoint,
        connection_verify=settings.arm_ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=0,
    ) as owner:
        owner.disks.begin_delete(group, disk).result()
