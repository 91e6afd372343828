"""One example per request body, published in the OpenAPI document (``requestBody`` ``examples``).

They are the README walkthrough's bodies with its shell variables filled in (subscription
``...0000aa``, vault ``rg-backup/demo-vault``, disk ``vm-web-01-data``); the request contract test
checks that each validates against its shape and that the README sends the same bodies.
"""

from __future__ import annotations

from typing import Any, Final

SUBSCRIPTION: Final = "00000000-0000-0000-0000-0000000000aa"
VAULT_ID: Final = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-backup/providers/Microsoft.DataProtection"
    "/backupVaults/demo-vault"
)
_GROUPS = f"/subscriptions/{SUBSCRIPTION}/resourceGroups"
DISK_ID: Final = f"{_GROUPS}/rg-prod-vms/providers/Microsoft.Compute/disks/vm-web-01-data"
SNAPSHOT_RESOURCE_GROUP: Final = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-backup-snapshots-eastus"
RECOVERY_POINT_ID: Final = "0123456789abcdef0123456789abcdef"
_DISK_TYPE = "Microsoft.Compute/disks"
_OPERATIONAL_STORE = {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"}

VAULT: Final[dict[str, Any]] = {
    "location": "eastus",
    "identity": {"type": "SystemAssigned"},
    "properties": {"storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]},
}
VAULT_PATCH: Final[dict[str, Any]] = {
    "tags": {"env": "prod"},
    "properties": {
        "monitoringSettings": {"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Disabled"}}
    },
}
POLICY: Final[dict[str, Any]] = {
    "properties": {
        "objectType": "BackupPolicy",
        "datasourceTypes": [_DISK_TYPE],
        "policyRules": [
            {
                "name": "BackupHourly",
                "objectType": "AzureBackupRule",
                "backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
                "dataStore": _OPERATIONAL_STORE,
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": {"repeatingTimeIntervals": ["R/2020-04-05T13:00:00+00:00/PT4H"]},
                    "taggingCriteria": [
                        {
                            "tagInfo": {"tagName": "Default", "id": "Default_"},
                            "taggingPriority": 99,
                            "isDefault": True,
                        }
                    ],
                },
            },
            {
                "name": "Default",
                "objectType": "AzureRetentionRule",
                "isDefault": True,
                "lifecycles": [
                    {
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P7D"},
                        "sourceDataStore": _OPERATIONAL_STORE,
                    }
                ],
            },
        ],
    }
}
INSTANCE_PROPERTIES: Final[dict[str, Any]] = {
    "objectType": "BackupInstance",
    "dataSourceInfo": {
        "objectType": "Datasource",
        "datasourceType": _DISK_TYPE,
        "resourceID": DISK_ID,
        "resourceName": "vm-web-01-data",
        "resourceType": _DISK_TYPE,
        "resourceLocation": "eastus",
        "resourceUri": "",
    },
    "policyInfo": {
        "policyId": f"{VAULT_ID}/backupPolicies/every-4h",
        "policyParameters": {
            "dataStoreParametersList": [
                {
                    "objectType": "AzureOperationalStoreParameters",
                    "dataStoreType": "OperationalStore",
                    "resourceGroupId": SNAPSHOT_RESOURCE_GROUP,
                }
            ]
        },
    },
}
INSTANCE: Final[dict[str, Any]] = {"properties": INSTANCE_PROPERTIES}
ON_DEMAND_BACKUP: Final[dict[str, Any]] = {
    "backupRuleOptions": {"ruleName": "BackupHourly", "triggerOption": {"retentionTagOverride": "Default"}}
}
RESTORE: Final[dict[str, Any]] = {
    "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
    "sourceDataStoreType": "OperationalStore",
    "recoveryPointId": RECOVERY_POINT_ID,
    "restoreTargetInfo": {
        "objectType": "RestoreTargetInfo",
        "recoveryOption": "FailIfExists",
        "restoreLocation": "eastus",
        "datasourceInfo": {
            "objectType": "Datasource",
            "datasourceType": _DISK_TYPE,
            "resourceID": f"{_GROUPS}/rg-restore/providers/Microsoft.Compute/disks/vm-web-01-data-restored",
            "resourceName": "vm-web-01-data-restored",
            "resourceType": _DISK_TYPE,
            "resourceLocation": "eastus",
            "resourceUri": "",
        },
    },
}

REQUEST_EXAMPLES: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "BackupVaultResource": ("A vault for disk backups", VAULT),
    "PatchResourceRequestInput": ("New tags, job-failure alerts off", VAULT_PATCH),
    "BaseBackupPolicyResource": (
        "Every 4 hours, kept 7 days (the az dataprotection AzureDisk default)",
        POLICY,
    ),
    "BackupInstanceResource": ("Protect a disk", INSTANCE),
    "ValidateForBackupRequest": ("Can this disk be protected?", {"backupInstance": INSTANCE_PROPERTIES}),
    "ResourceGuardOperationRequest": ("No resource guard", {}),
    "VaultScopeLimits": (
        "Disks from rg-workload only; restores into rg-restore only",
        {
            "datasourceScopes": [f"{_GROUPS}/rg-workload"],
            "restoreTargetScopes": [f"{_GROUPS}/rg-restore"],
        },
    ),
    "RoleAssignmentCreateParameters": (
        "Make a principal BackupOperator of this vault",
        {
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                "37b09aef-9445-5726-a29a-30f6dabff511",
                "principalId": "11111111-2222-4333-8444-555555555555",
                "principalType": "User",
            }
        },
    ),
    "TriggerBackupRequest": ("Back up now, kept by the Default retention rule", ON_DEMAND_BACKUP),
    "AzureBackupRecoveryPointBasedRestoreRequest": ("Restore as a new disk in rg-restore", RESTORE),
    "ValidateRestoreRequestObject": (
        "Would this restore be accepted?",
        {"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": RESTORE},
    ),
    "SyncBackupInstanceRequest": ("Sync an instance in error", {"syncType": "Default"}),
    "ValidateForModifyBackupRequest": (
        "Would this update be accepted?",
        {"backupInstance": INSTANCE_PROPERTIES},
    ),
    "AzureBackupFindRestorableTimeRangesRequest": (
        "The restorable moments of November 2026",
        {
            "sourceDataStoreType": "OperationalStore",
            "startTime": "2026-11-01T00:00:00Z",
            "endTime": "2026-12-01T00:00:00Z",
        },
    ),
    "CheckNameAvailabilityRequest": (
        "Is demo-vault free?",
        {"name": "demo-vault", "type": "Microsoft.DataProtection/BackupVaults"},
    ),
    "FeatureValidationRequest": (
        "Are managed disks supported?",
        {
            "objectType": "FeatureValidationRequest",
            "featureType": "DataSourceType",
            "featureName": _DISK_TYPE,
        },
    ),
    "ResourceGuardResource": (
        "A resource guard that protects every critical operation",
        {"location": "westus"},
    ),
    "ResourceGuardProxyBaseResource": (
        "Link the vault to a resource guard",
        {
            "properties": {
                "resourceGuardResourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/"
                "resourceGroups/"
                "rg-security/providers/Microsoft.DataProtection/resourceGuards/guard"
            }
        },
    ),
    "PatchResourceGuardInput": ("Tag the guard", {"tags": {"owner": "security"}}),
    "UnlockDeleteRequest": ("Before deleting a backup instance", {"resourceGuardOperationRequests": []}),
    "GuardApprovalRequest": (
        "Approve another operator for one hour",
        {"principalName": "operator@contoso.com", "durationInMinutes": 60},
    ),
}
"""Request body schema name -> (summary, example)."""
