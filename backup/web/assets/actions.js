// @ts-check
// An instance's actions, as the caller's roles allow: an on-demand backup (BackupOperator)
// and a restore to a new disk (RestoreOperator), each followed to the end of its job.

import { ApiError, arm, getJob, operationResult } from "./api.js";
import { announce, h, outcome } from "./dom.js";
import { armPart, timeFormat } from "./format.js";
import { isProtected, vaultIdOf } from "./instances.js";
import { jobLine } from "./jobs.js";
import { errorWords, field } from "./render.js";
import { later, now, state } from "./state.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./types.js").PolicyRule} PolicyRule */
/** @typedef {import("./types.js").RecoveryPoint} RecoveryPoint */
/** @typedef {import("./types.js").UserFacingError} UserFacingError */

const POLL_MS = 1000;

/**
 * Poll a job until it ends; ``onUpdate(job)`` after each read. Null when the page has moved on.
 * @param {string} vaultId
 * @param {string | undefined} jobId
 * @param {(job: Job) => void} onUpdate
 * @param {number} generation  the view's; another means the page has navigated away
 * @returns {Promise<Job | null>}
 */
async function followJob(vaultId, jobId, onUpdate, generation) {
  for (;;) {
    const body = await getJob(vaultId, jobId);
    onUpdate(body);
    if (body.properties.status !== "InProgress") return body;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (generation !== state.generation) return null;
  }
}

/**
 * The on-demand backup form: a retention tag, then the job followed to its end.
 * @param {BackupInstance} item
 * @param {PolicyRule | undefined} backupRule  the policy's AzureBackupRule
 * @param {string[]} tags  the policy's retention tags
 */
export function backupAction(item, backupRule, tags) {
  const generation = state.generation;
  const tag = h("select", { id: "backup-tag", name: "retentionTag" }, (tags.length ? tags : ["Default"]).map((t) => h("option", { value: t }, t)));
  const button = h("button", { type: "submit", class: "primary" }, "Back up now");
  const box = h("div", { class: "outcome", hidden: true, "data-testid": "backup-outcome" });
  const vaultId = vaultIdOf(item.id);
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      outcome(box, "", "Asking for a backup…");
      try {
        const answer = await arm(`${item.id}/backup`, {
          method: "POST",
          body: { objectType: "TriggerBackupRequest", backupRuleOptions: { ruleName: backupRule?.name || "BackupHourly", triggerOption: { retentionTagOverride: tag.value } } },
        });
        const { jobId } = await operationResult(answer);
        const job = await followJob(vaultId, jobId, (j) => outcome(box, "", jobLine(j)), generation);
        if (!job) return;
        if (job.properties.status.startsWith("Completed")) {
          outcome(box, "ok", "Backup completed: a new recovery point was added.");
          announce("Backup completed.");
          later(() => state.reloadInstance && state.reloadInstance(), 800);
        } else {
          /** @type {Partial<UserFacingError>} */
          const error = (job.properties.errorDetails || [])[0] || {};
          outcome(box, "bad", errorWords(new ApiError(0, error.code || "BackupFailed", error.message || "The backup failed.")));
        }
      } catch (error) {
        outcome(box, "bad", errorWords(/** @type {ApiError} */ (error)));
      } finally {
        button.disabled = false;
      }
    },
  },
  h("p", { class: "small" }, isProtected(item) ? "Takes an incremental snapshot now, kept as long as the retention tag you choose." : "Backups are not active for this instance; the API will refuse."),
  field("backup-tag", "Keep it as (retention tag)", tag),
  h("div", {}, button));
  return h("section", { class: "action", "aria-labelledby": "backup-title" }, h("h3", { id: "backup-title" }, "On-demand backup"), form, box);
}

/**
 * The restore form: a point, a target resource group and a new disk name; validated first
 * (validateRestore), then the job followed to its end.
 * @param {BackupInstance} item
 * @param {RecoveryPoint[]} points  newest first
 */
export function restoreAction(item, points) {
  const generation = state.generation;
  const source = item.properties.dataSourceInfo || {};
  const sourceId = source.resourceID || "";
  const subscription = armPart(sourceId, "subscriptions") || state.sub;
  const location = source.resourceLocation;
  const stamp = new Date(now()).toISOString().slice(0, 16).replace(/[-:T]/g, "");
  const point = h("select", { id: "restore-point", name: "recoveryPoint", required: true },
    points.map((p) => h("option", { value: p.name }, `${timeFormat.format(Date.parse(p.properties.recoveryPointTime))} · ${p.properties.retentionTagName}`)));
  const group = h("input", { id: "restore-group", name: "resourceGroup", required: true, value: armPart(sourceId, "resourceGroups") || "", autocomplete: "off" });
  const diskName = h("input", { id: "restore-disk", name: "diskName", required: true, maxlength: 80, value: `${source.resourceName || "disk"}-restored-${stamp}`.slice(0, 80), autocomplete: "off" });
  const button = h("button", { type: "submit", class: "primary", disabled: !points.length }, "Validate and restore");
  const box = h("div", { class: "outcome", hidden: true, "data-testid": "restore-outcome" });
  const vaultId = vaultIdOf(item.id);
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const rg = group.value.trim(), name = diskName.value.trim();
      const target = `/subscriptions/${subscription}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${name}`;
      const body = {
        objectType: "AzureBackupRecoveryPointBasedRestoreRequest",
        recoveryPointId: point.value,
        sourceDataStoreType: "OperationalStore",
        restoreTargetInfo: {
          objectType: "RestoreTargetInfo",
          recoveryOption: "FailIfExists",
          restoreLocation: location,
          datasourceInfo: { objectType: "Datasource", datasourceType: "Microsoft.Compute/disks", resourceID: target, resourceName: name, resourceType: "Microsoft.Compute/disks", resourceLocation: location },
        },
      };
      button.disabled = true;
      outcome(box, "", "Checking the restore (validateRestore)…");
      try {
        await arm(`${item.id}/validateRestore`, { method: "POST", body: { objectType: "ValidateRestoreRequestObject", restoreRequestObject: body } });
      } catch (error) {
        outcome(box, "bad", h("p", {}, h("strong", {}, "The restore cannot start.")), errorWords(/** @type {ApiError} */ (error)));
        button.disabled = false;
        return;
      }
      try {
        outcome(box, "", "Valid. Starting the restore…");
        const answer = await arm(`${item.id}/restore`, { method: "POST", body });
        const { jobId } = await operationResult(answer);
        const job = await followJob(vaultId, jobId, (j) => outcome(box, "", jobLine(j)), generation);
        if (!job) return;
        if (job.properties.status.startsWith("Completed")) {
          outcome(box, "ok", h("p", {}, h("strong", {}, `Restore completed: disk ${name} created in resource group ${rg}.`)), h("p", { class: "mono" }, target));
          announce(`Restore completed: disk ${name} created.`);
        } else {
          /** @type {Partial<UserFacingError>} */
          const error = (job.properties.errorDetails || [])[0] || {};
          outcome(box, "bad", h("p", {}, h("strong", {}, "The restore failed.")), errorWords(new ApiError(0, error.code || "RestoreFailed", error.message || "The restore job failed.")));
        }
      } catch (error) {
        outcome(box, "bad", errorWords(/** @type {ApiError} */ (error)));
      } finally {
        button.disabled = false;
      }
    },
  },
  h("p", { class: "small" }, `Creates a new disk from a recovery point, in ${location || "the source disk's region"}. An existing disk is never overwritten.`),
  field("restore-point", "Recovery point", point),
  field("restore-group", "Target resource group", group),
  field("restore-disk", "New disk name", diskName),
  h("div", {}, button));
  return h("section", { class: "action", "aria-labelledby": "restore-title" }, h("h3", { id: "restore-title" }, "Restore to a new disk"), form, box);
}
