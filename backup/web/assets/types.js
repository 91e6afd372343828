// @ts-check
// The API's JSON as the page reads it: Microsoft.DataProtection's resources (the fields the page
// uses), the app's backupSummary and whoami. Types only: modules import them inside JSDoc, so
// the browser never fetches this file.

/**
 * `GET backupcenter/whoami`: the caller and what the page needs to start.
 * @typedef {object} WhoAmI
 * @property {string} principalName
 * @property {boolean} authenticated
 * @property {boolean} authEnabled
 * @property {string[]} roles  the roles held somewhere: BackupReader, BackupOperator, RestoreOperator, BackupOwner
 * @property {Grant[]} [grants]  each role with the scope it holds at
 * @property {string[]} subscriptions  lower-case ids of subscriptions that have backup vaults
 * @property {string} now  the server's clock (RFC 3339), against which ages are measured
 */

/**
 * A role held at a scope (``/``, a subscription, a resource group or a vault).
 * @typedef {object} Grant
 * @property {string} role
 * @property {string} scope
 */

/**
 * One of the app's role assignments (Microsoft.Authorization's RoleAssignment shape).
 * @typedef {object} RoleAssignment
 * @property {string} id
 * @property {string} name
 * @property {{ roleDefinitionName?: string, principalId: string, principalType?: string, scope?: string, createdBy?: string }} properties
 */

/**
 * An ARM resource: `id`, `name` and the type's `properties`.
 * @template P
 * @typedef {object} ArmResource
 * @property {string} id
 * @property {string} name
 * @property {string} [type]
 * @property {P} properties
 */

/**
 * A page of an ARM list; `nextLink` (absolute URL) while more follow.
 * @typedef {object} ArmList
 * @property {unknown[]} [value]
 * @property {string | null} [nextLink]
 */

/**
 * The `error` of an ARM error body; `additionalInfo` carries Azure Backup's UserFacingError.
 * @typedef {object} ArmErrorDetail
 * @property {string} [code]
 * @property {string} [message]
 * @property {string} [target]
 * @property {ArmErrorDetail[]} [details]
 * @property {{type?: string, info?: {recommendedAction?: string[]}}[]} [additionalInfo]
 */

/**
 * An ARM error body: `{"error": {...}}`.
 * @typedef {object} ArmErrorBody
 * @property {ArmErrorDetail} [error]
 */

/** @typedef {ArmResource<Record<string, unknown>>} Vault */

/**
 * A backup instance's `dataSourceInfo`.
 * @typedef {object} Datasource
 * @property {string} [objectType]
 * @property {string} [datasourceType]
 * @property {string} [resourceID]
 * @property {string} [resourceName]
 * @property {string} [resourceLocation]
 * @property {string} [resourceType]
 */

/** @typedef {"Healthy" | "Unhealthy" | "Inactive"} Health */

/**
 * The app's `backupSummary`, added to each instance of the cross-vault list.
 * @typedef {object} BackupSummary
 * @property {string} [vaultId]
 * @property {string} [vaultName]
 * @property {Health} [health]
 * @property {number} [consecutiveFailures]
 * @property {string | null} [lastErrorCode]
 * @property {string | null} [lastBackupTime]
 * @property {string | null} [nextScheduledBackupTime]
 * @property {number} [recoveryPointCount]
 * @property {string} [policyDescription]
 * @property {string | null} [oldestRecoveryPointTime]  the oldest live recovery point
 * @property {string | null} [newestRecoveryPointTime]  the newest live recovery point
 */

/**
 * Counts over the instances and jobs of some vaults (`GET /api/x/subscriptions/{s}/overview`).
 * @typedef {object} OverviewCounts
 * @property {number} instances
 * @property {number} protected  instances that take scheduled backups, failing ones included
 * @property {Record<string, number>} byHealth
 * @property {Record<string, number>} byProtectionState
 * @property {number} recoveryPoints
 * @property {string | null} oldestRecoveryPointTime
 * @property {boolean} oldestRecoveryPointExact
 * @property {string | null} oldestLastBackupTime
 * @property {string | null} oldestLastBackupInstanceId
 * @property {number} neverBackedUp
 * @property {number} failedJobsLast24Hours
 */

/**
 * One vault's counts.
 * @typedef {OverviewCounts & { vaultId: string, vaultName: string, computedAt: string }} VaultOverviewCounts
 */

/**
 * The overview's answer: totals, each vault's counts, and whether they are exact.
 * @typedef {object} SubscriptionOverview
 * @property {string} scope
 * @property {string | null} asOf
 * @property {boolean} exact
 * @property {string[]} inexactReasons
 * @property {OverviewCounts} totals
 * @property {VaultOverviewCounts[]} vaults
 */

/**
 * Azure's UserFacingError (an instance's `protectionErrorDetails`, a job's `errorDetails`).
 * @typedef {object} UserFacingError
 * @property {string} code
 * @property {string} message
 * @property {string} [target]
 * @property {boolean} [isRetryable]
 */

/**
 * @typedef {object} BackupInstanceProperties
 * @property {string} [friendlyName]
 * @property {Datasource} [dataSourceInfo]
 * @property {{ policyId: string }} policyInfo
 * @property {string} currentProtectionState  ProtectionConfigured, BackupSchedulesSuspended, ...
 * @property {UserFacingError} [protectionErrorDetails]
 * @property {BackupSummary} [backupSummary]
 */

/** @typedef {ArmResource<BackupInstanceProperties>} BackupInstance */

/**
 * @typedef {object} RecoveryPointProperties
 * @property {string} recoveryPointTime
 * @property {string} [expiryTime]
 * @property {string} retentionTagName
 * @property {string} friendlyName
 */

/** @typedef {ArmResource<RecoveryPointProperties>} RecoveryPoint */

/**
 * A job's `extendedInfo`; ProgressPercent is a string of digits, as Azure's.
 * @typedef {object} JobExtendedInfo
 * @property {{ InitiatedBy?: string, RecoveryPointId?: string, ProgressPercent?: string }} [additionalDetails]
 * @property {string} [recoveryDestination]  the restored disk's id
 */

/**
 * @typedef {object} JobProperties
 * @property {string} backupInstanceId
 * @property {string} [backupInstanceFriendlyName]
 * @property {string} [dataSourceName]
 * @property {string} [vaultName]
 * @property {string} operation  Azure's: Backup (scheduled or on-demand, see isUserTriggered), Restore, RetentionDeletion
 * @property {boolean} [isUserTriggered]  true for on-demand backups and restores
 * @property {string} status  InProgress, Completed, CompletedWithWarnings, Failed
 * @property {string} startTime
 * @property {string} [endTime]
 * @property {string} [duration]  ISO 8601 (so far, while in progress)
 * @property {JobExtendedInfo} [extendedInfo]
 * @property {UserFacingError[] | null} [errorDetails]  null on a restore job without error, as Azure's
 */

/** @typedef {ArmResource<JobProperties>} Job */

/**
 * A backup policy's rule: the one AzureBackupRule, and one AzureRetentionRule per tag.
 * @typedef {object} PolicyRule
 * @property {string} name
 * @property {string} objectType
 * @property {{ deleteAfter?: { duration?: string } }[]} [lifecycles]
 */

/** @typedef {ArmResource<{ policyRules?: PolicyRule[] }>} Policy */

/**
 * What `Location` of an accepted action (202) answers once it is read.
 * @typedef {object} OperationResult
 * @property {string} [jobId]
 */

export {};
