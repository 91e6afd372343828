"""ARM path templates of the routes served, with ARM's own parameter names."""

from __future__ import annotations

SUBSCRIPTION = "/subscriptions/{subscriptionId}"
RESOURCE_GROUP = SUBSCRIPTION + "/resourceGroups/{resourceGroupName}"
PROVIDER = "/providers/Microsoft.DataProtection"

VAULTS_IN_SUBSCRIPTION = SUBSCRIPTION + PROVIDER + "/backupVaults"
VAULTS = RESOURCE_GROUP + PROVIDER + "/backupVaults"
VAULT = VAULTS + "/{vaultName}"
VAULT_OPERATION_STATUS = VAULT + "/operationStatus/{operationId}"
VAULT_OPERATION_RESULT = VAULT + "/operationResults/{operationId}"

POLICIES = VAULT + "/backupPolicies"
POLICY = POLICIES + "/{backupPolicyName}"

BACKUP_INSTANCES = VAULT + "/backupInstances"
BACKUP_INSTANCE = BACKUP_INSTANCES + "/{backupInstanceName}"
BACKUP_INSTANCE_OPERATION_RESULT = BACKUP_INSTANCE + "/operationResults/{operationId}"
RECOVERY_POINTS = BACKUP_INSTANCE + "/recoveryPoints"
RECOVERY_POINT = RECOVERY_POINTS + "/{recoveryPointId}"

JOBS = VAULT + "/backupJobs"
JOB = JOBS + "/{jobId}"

LOCATION_OPERATION_STATUS = SUBSCRIPTION + PROVIDER + "/locations/{location}/operationStatus/{operationId}"
LOCATION_OPERATION_RESULT = SUBSCRIPTION + PROVIDER + "/locations/{location}/operationResults/{operationId}"
RESOURCE_GROUP_OPERATION_STATUS = RESOURCE_GROUP + PROVIDER + "/operationStatus/{operationId}"

VAULT_TYPE = "Microsoft.DataProtection/backupVaults"
POLICY_TYPE = "Microsoft.DataProtection/backupVaults/backupPolicies"
JOB_TYPE = "Microsoft.DataProtection/backupVaults/backupJobs"
RECOVERY_POINT_TYPE = "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints"
