// @ts-check
// Words for the API's codes: protection states, health, job statuses and operations, and what
// to do about each error code. A tone is a badge's colour: ok, warn, bad or idle.

/** @typedef {"ok" | "warn" | "bad" | "idle"} Tone */

/** @type {Record<string, [string, Tone]>} */
export const STATES = {
  ProtectionConfigured: ["Protected", "ok"],
  BackupSchedulesSuspended: ["Suspended", "warn"],
  ProtectionStopped: ["Stopped", "idle"],
  ConfiguringProtection: ["Configuring", "idle"],
  ConfiguringProtectionFailed: ["Configuration failed", "bad"],
  ProtectionError: ["Protection error", "bad"],
  RetentionSchedulesSuspended: ["Retention suspended", "warn"],
  UpdatingProtection: ["Updating", "idle"],
  SoftDeleting: ["Deleting", "idle"],
  SoftDeleted: ["Deleted", "idle"],
};
/** @type {Record<string, Tone>} */
export const HEALTH = { Healthy: "ok", Unhealthy: "bad", Inactive: "idle" };
/** @type {Record<string, Tone>} */
export const JOB_STATUS = { Completed: "ok", CompletedWithWarnings: "warn", Failed: "bad", InProgress: "idle" };
/** @type {Record<string, string>} the kinds of job (see jobKind) */
export const OPERATIONS = {
  ScheduledBackup: "Scheduled backup",
  OnDemandBackup: "On-demand backup",
  Restore: "Restore",
  RetentionDeletion: "Retention deletion",
};
/** @type {Record<string, string[]>} each kind as a $filter: Azure's operation, and who started it */
export const KIND_FILTERS = {
  ScheduledBackup: ["operation eq 'Backup'", "isUserTriggered eq false"],
  OnDemandBackup: ["operation eq 'Backup'", "isUserTriggered eq true"],
  Restore: ["operation eq 'Restore'"],
  RetentionDeletion: ["operation eq 'RetentionDeletion'"],
};

/**
 * The kind of a job: Azure names every backup "Backup" and tells on-demand ones by isUserTriggered.
 * @param {{ operation: string, isUserTriggered?: boolean }} p  a job's properties
 */
export function jobKind(p) {
  if (p.operation === "Backup") return p.isUserTriggered ? "OnDemandBackup" : "ScheduledBackup";
  return p.operation;
}
/** @type {Record<string, string>} */
export const HINTS = {
  UserErrorSameNameDiskAlreadyExists: "A disk with this name already exists in the target resource group. Choose another disk name (restores never overwrite a disk).",
  UserErrorRestoreTargetRGNotFound: "The target resource group does not exist. Create it first or pick an existing one.",
  UserErrorNotEnoughPermissionOnTargetRG: "The app's identity may not create disks in the target resource group: give it the 'Disk Restore Operator' role there.",
  UserErrorNotEnoughPermissionOnSnapshotRG: "The app's identity lost its role on the snapshot resource group: give it 'Disk Snapshot Contributor' there.",
  UserErrorRecoveryPointNotFound: "That recovery point no longer exists (it may have expired). Pick another one.",
  UserErrorDiskSnapshotNotFound: "The snapshot behind this recovery point is gone from Azure. Pick another recovery point.",
  UserErrorRestoreLocationMismatch: "A disk can only be restored in the region of its snapshot.",
  UserErrorSnapshotCopyInProgress: "The snapshot is still being copied in Azure. Try again in a few minutes.",
  UserErrorSubscriptionDiskQuotaLimitReached: "The subscription's disk quota is reached. Free some quota or ask for more.",
  RestoreDailyLimitReached: "This instance already had 10 restores in the last 24 hours.",
  OnDemandBackupDailyLimitReached: "This instance already had 10 on-demand backups in the last 24 hours.",
  OnDemandRecoveryPointLimitReached: "This instance holds 50 on-demand recovery points, the most allowed. Wait for some to expire.",
  UserErrorBackupInstanceNotProtected: "Backups are stopped or suspended for this instance. Resume protection first.",
  AuthorizationFailed: "Your account does not have the app role this needs. Ask an administrator of the app registration.",
  InvalidResourceName: "Check the name: letters, digits, '_', '-' and '.', at most 80 characters.",
  InvalidResourceGroupName: "Check the resource group name.",
};
