// @ts-check
// One backup instance: facts, the actions the caller's roles allow, the recovery-point
// timeline and table, and its recent jobs.

import { ApiError, findInstance, getPolicy, listJobs, listRecoveryPoints, listRoleAssignments, odata } from "./api.js";
import { backupAction, restoreAction } from "./actions.js";
import { h, loading, main, show } from "./dom.js";
import { armPart, lastSegment } from "./format.js";
import { diskOf, healthReason, isProtected, policyOf, summaryOf, vaultIdOf } from "./instances.js";
import { jobsTable } from "./jobs.js";
import { ageEl, badge, link, stateBadge, timeEl } from "./render.js";
import { failure } from "./signin.js";
import { can, route, state } from "./state.js";
import { pointsTable, timeline } from "./timeline.js";
import { HEALTH, jobKind } from "./words.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./types.js").Policy} Policy */
/** @typedef {import("./types.js").RecoveryPoint} RecoveryPoint */
/** @typedef {import("./types.js").RoleAssignment} RoleAssignment */
/** @typedef {import("./dom.js").Child} Child */

/**
 * One instance: its facts, the actions the caller's roles allow, its recovery points and jobs.
 * @param {string} id  the instance's ARM id
 */
export async function instanceView(id) {
  const generation = state.generation;
  loading("Loading the backup instance…");
  const vaultId = vaultIdOf(id);
  const vaultName = lastSegment(vaultId);
  const name = lastSegment(id);
  /** @type {BackupInstance | undefined} */
  let item;
  /** @type {Policy} */
  let policy;
  /** @type {RecoveryPoint[]} */
  let points;
  /** @type {Job[]} */
  let jobs;
  /** @type {RoleAssignment[]} */
  let assignments;
  try {
    const [found, pointList, jobList, assignmentList] = await Promise.all([
      findInstance(/** @type {string} */ (state.sub), vaultName, id),
      listRecoveryPoints(id),
      listJobs(vaultId, [`backupInstanceName eq ${odata(name)}`]),
      listRoleAssignments(vaultId),
    ]);
    assignments = assignmentList;
    item = found;
    if (!item) throw new ApiError(404, "ResourceNotFound", `The backup instance '${name}' was not found in vault '${vaultName}'.`);
    policy = await getPolicy(item.properties.policyInfo.policyId);
    points = pointList;
    jobs = jobList;
  } catch (error) {
    if (generation === state.generation) failure(/** @type {ApiError} */ (error));
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  const s = summaryOf(item);
  const disk = diskOf(item);
  document.title = `${disk} · Backup Center`;
  const onDemand = new Set(/** @type {string[]} */ (jobs.filter((j) => jobKind(j.properties) === "OnDemandBackup")
    .map((j) => j.properties.extendedInfo?.additionalDetails?.RecoveryPointId).filter(Boolean)));
  const rules = policy.properties?.policyRules || [];
  const backupRule = rules.find((r) => r.objectType === "AzureBackupRule");
  const retention = Object.fromEntries(rules.filter((r) => r.objectType === "AzureRetentionRule")
    .map((r) => [r.name, r.lifecycles?.[0]?.deleteAfter?.duration]));
  points.sort((a, b) => Date.parse(b.properties.recoveryPointTime) - Date.parse(a.properties.recoveryPointTime));

  const fact = (/** @type {string} */ label, /** @type {Child[]} */ ...value) => h("div", {}, h("dt", {}, label), h("dd", {}, ...value));
  const reason = healthReason(item);
  const facts = h("dl", { class: "facts" },
    fact("Disk", h("span", { class: "mono" }, item.properties.dataSourceInfo?.resourceID || "")),
    fact("Vault", s.vaultName, h("span", { class: "reason" }, `resource group ${armPart(vaultId, "resourceGroups")}`)),
    fact("Policy", policyOf(item), h("span", { class: "reason" }, s.policyDescription || "")),
    fact("Protection state", stateBadge(item.properties.currentProtectionState)),
    fact("Health", badge(s.health || "Unknown", HEALTH[s.health || ""]), reason ? h("span", { class: "reason" }, reason) : null),
    fact("Last successful backup", ageEl(s.lastBackupTime)),
    fact("Next scheduled backup", s.nextScheduledBackupTime ? timeEl(s.nextScheduledBackupTime) : "none scheduled"),
    fact("Recovery points", String(points.length)),
    fact("Restorable", points.length
      ? [timeEl(points[points.length - 1].properties.recoveryPointTime), " to ", timeEl(points[0].properties.recoveryPointTime)]
      : "no recovery point"));

  /** @type {HTMLElement[]} */
  const actions = [];
  if (can("BackupOperator", vaultId)) actions.push(backupAction(item, backupRule, Object.keys(retention)));
  if (can("RestoreOperator", vaultId)) actions.push(restoreAction(item, points));
  const reload = () => { if (generation === state.generation) route(); };

  show(
    h("p", { class: "sub" }, link("← Overview", { view: "overview" })),
    h("h1", {}, disk, " ", h("span", { class: "sub" }, `(${name})`)),
    facts,
    actions.length ? [h("h2", {}, "Actions"), h("div", { class: "actions", "data-testid": "actions" }, actions)] : null,
    h("h2", { id: "timeline-title" }, "Recovery points"),
    points.length ? timeline(points, retention, onDemand) : h("div", { class: "state" }, h("p", {}, "No recovery point yet. ",
      isProtected(item) ? "The first appears after the next scheduled backup" : "Protection is not active, so none will be taken",
      can("BackupOperator", vaultId) && isProtected(item) ? ", or take one now with “Back up now”." : ".")),
    points.length ? pointsTable(points, onDemand) : null,
    h("h2", { id: "jobs-title" }, "Recent jobs"),
    jobs.length ? jobsTable(jobs.slice(0, 20), { instanceColumn: false, labelledBy: "jobs-title" }) : h("div", { class: "state" }, h("p", {}, "No job yet for this instance.")),
    h("h2", { id: "access-title" }, "Access to this vault"),
    accessTable(assignments));
  state.reloadInstance = reload;
}

/**
 * Who holds which role on the vault: its role assignments and those above it (app roles from
 * the token hold everywhere and are not listed; whoever can sign in with one sees it in the header).
 * @param {RoleAssignment[]} assignments
 */
function accessTable(assignments) {
  if (!assignments.length) {
    return h("div", { class: "state", "data-testid": "access" },
      h("p", {}, "No role assignment on this vault or above it: only the app roles in Entra give access."));
  }
  const rows = assignments.map((a) => h("tr", {},
    h("td", {}, a.properties.roleDefinitionName || ""),
    h("td", { class: "mono" }, a.properties.principalId),
    h("td", {}, a.properties.principalType || ""),
    h("td", { class: "mono" }, a.properties.scope || "")));
  return h("table", { class: "access", "data-testid": "access", "aria-labelledby": "access-title" },
    h("thead", {}, h("tr", {}, h("th", {}, "Role"), h("th", {}, "Principal"), h("th", {}, "Type"), h("th", {}, "Scope"))),
    h("tbody", {}, ...rows));
}
