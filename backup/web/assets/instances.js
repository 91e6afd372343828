// @ts-check
// What the views read off a backup instance of the cross-vault list.

import { lastSegment } from "./format.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").BackupSummary} BackupSummary */

/**
 * @param {BackupInstance} item
 * @returns {BackupSummary}
 */
export const summaryOf = (item) => item.properties.backupSummary || {};
/** @param {BackupInstance} item  the disk's name */
export const diskOf = (item) => item.properties.dataSourceInfo?.resourceName || item.properties.friendlyName || item.name;
/** @param {BackupInstance} item  the policy's name */
export const policyOf = (item) => lastSegment(item.properties.policyInfo?.policyId);
/** @param {BackupInstance} item */
export const isProtected = (item) => item.properties.currentProtectionState === "ProtectionConfigured";
/** @param {string} instanceId */
export const vaultIdOf = (instanceId) => instanceId.split("/backupInstances/")[0];

/**
 * Why an instance is not simply healthy, in words ("" when it is).
 * @param {BackupInstance} item
 */
export function healthReason(item) {
  const summary = summaryOf(item);
  const error = item.properties.protectionErrorDetails;
  if (summary.health === "Unhealthy") {
    const failures = summary.consecutiveFailures;
    return `${error?.message || summary.lastErrorCode || "Backups are failing."}${failures ? ` (${failures} failed in a row; ${summary.lastErrorCode})` : ""}`;
  }
  if (summary.health === "Inactive") {
    /** @type {Record<string, string>} */
    const inactive = { ProtectionStopped: "Protection stopped: no new backups.", BackupSchedulesSuspended: "Backups suspended: retention goes on." };
    return inactive[item.properties.currentProtectionState] || "No scheduled backups.";
  }
  if (!summary.lastBackupTime) return "No backup yet.";
  return "";
}
