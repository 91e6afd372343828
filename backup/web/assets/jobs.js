// @ts-check
// Jobs: the table of jobs (the Jobs view's, and an instance's recent ones), one job in a line,
// and the Jobs view across every vault.

import { listJobs, listVaults, odata } from "./api.js";
import { h, loading, main, show } from "./dom.js";
import { DAY, durationText, lastSegment, plural } from "./format.js";
import { badge, field, link, timeEl } from "./render.js";
import { failure } from "./signin.js";
import { later, navigate, now, params, route, state } from "./state.js";
import { HINTS, JOB_STATUS, KIND_FILTERS, OPERATIONS, jobKind } from "./words.js";

/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./api.js").ApiError} ApiError */

/**
 * Jobs, newest first as given: when, what, how it went, and why it failed.
 * @param {Job[]} jobs
 * @param {{ instanceColumn?: boolean, labelledBy?: string }} [options]  instanceColumn: add instance and vault
 */
export function jobsTable(jobs, { instanceColumn = true, labelledBy } = {}) {
  const head = ["Started", instanceColumn ? "Instance" : null, instanceColumn ? "Vault" : null, "Operation", "Status", "Duration", "Details"].filter(Boolean);
  return h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": labelledBy, class: "jobs" },
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, jobs.map((job) => {
      const p = job.properties;
      const error = (p.errorDetails || [])[0];
      const progress = p.extendedInfo?.additionalDetails?.ProgressPercent;
      /** @type {(HTMLElement | string)[]} */
      const status = [badge(p.status, JOB_STATUS[p.status])];
      if (p.status === "InProgress") {
        status.push(" ", progress !== undefined
          ? h("progress", { max: "100", value: progress, "aria-label": `${progress}% done` })
          : h("span", { class: "small" }, "running"));
      }
      const details = error
        ? [h("strong", {}, error.code), h("span", { class: "reason" }, HINTS[error.code] || error.message)]
        : p.operation === "Restore" && p.extendedInfo?.recoveryDestination
          ? [h("span", { class: "small" }, "to "), h("span", { class: "mono" }, lastSegment(p.extendedInfo.recoveryDestination))]
          : [h("span", { class: "small" }, p.extendedInfo?.additionalDetails?.InitiatedBy ? `by ${p.extendedInfo.additionalDetails.InitiatedBy}` : "")];
      const kind = jobKind(p);
      return h("tr", { dataset: { job: job.name, status: p.status, operation: p.operation, kind } },
        h("td", {}, timeEl(p.startTime)),
        instanceColumn ? h("td", {}, link(p.dataSourceName || p.backupInstanceFriendlyName, { view: "instance", id: p.backupInstanceId })) : null,
        instanceColumn ? h("td", {}, p.vaultName) : null,
        h("td", {}, OPERATIONS[kind] || p.operation),
        h("td", {}, status),
        h("td", {}, durationText(p.duration)),
        h("td", {}, details));
    }))));
}

/**
 * A running or finished job in one line: status, progress, operation, duration.
 * @param {Job} job
 */
export function jobLine(job) {
  const p = job.properties;
  const progress = p.extendedInfo?.additionalDetails?.ProgressPercent;
  return h("span", {}, badge(p.status, JOB_STATUS[p.status]), " ",
    p.status === "InProgress" && progress !== undefined ? [h("progress", { max: "100", value: progress, "aria-label": `${progress}% done` }), ` ${progress}%`] : null,
    ` ${OPERATIONS[jobKind(p)] || p.operation} job, ${durationText(p.duration)}`);
}

/** @type {Record<string, [string, number]>} the Started filter: label and span (0: any time) */
const RANGES = { "24h": ["Last 24 hours", DAY], "7d": ["Last 7 days", 7 * DAY], "30d": ["Last 30 days", 30 * DAY], all: ["Any time", 0] };

/** Jobs of every vault of the subscription, filtered by type, status and start (the URL's query). */
export async function jobsView() {
  const generation = state.generation;
  const query = params();
  const asked = query.get("range") || "";
  const range = RANGES[asked] ? asked : "7d";
  const type = query.get("type") || "";
  const status = query.get("status") || "";
  const firstLoad = !main.querySelector("#jobs-view");
  if (firstLoad) loading("Loading jobs from every vault…");
  /** @type {Job[]} */
  let jobs;
  try {
    const clauses = [
      status ? `status eq ${odata(status)}` : null,
      ...(type ? KIND_FILTERS[type] || [`operation eq ${odata(type)}`] : []),
      RANGES[range][1] ? `startTime ge ${odata(new Date(now() - RANGES[range][1]).toISOString())}` : null,
    ];
    const vaults = await listVaults(/** @type {string} */ (state.sub));
    jobs = (await Promise.all(vaults.map((v) => listJobs(v.id, clauses)))).flat();
  } catch (error) {
    if (generation === state.generation) failure(/** @type {ApiError} */ (error));
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  document.title = "Jobs · Backup Center";
  jobs.sort((a, b) => Date.parse(b.properties.startTime) - Date.parse(a.properties.startTime));
  /**
   * @param {string} id
   * @param {string} label
   * @param {string} key
   * @param {[string, string][]} options  value and text
   * @param {string} value
   */
  const select = (id, label, key, options, value) => {
    /** @type {HTMLSelectElement} */
    const el = h("select", { id, name: key, onchange: () => navigate({ [key]: el.value }, { replace: true }) },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
    return field(id, label, el);
  };
  const running = jobs.filter((j) => j.properties.status === "InProgress").length;
  show(h("div", { id: "jobs-view" },
    h("h1", { id: "jobs-heading" }, "Jobs"),
    h("div", { class: "filters", role: "search", "aria-label": "Filter jobs" },
      select("j-type", "Type", "type", [["", "All"], ...Object.entries(OPERATIONS)], type),
      select("j-status", "Status", "status", [["", "All"], ["InProgress", "In progress"], ["Completed", "Completed"], ["CompletedWithWarnings", "Completed with warnings"], ["Failed", "Failed"]], status),
      select("j-range", "Started", "range", Object.entries(RANGES).map(([k, [text]]) => /** @type {[string, string]} */ ([k, text])), range),
      h("button", { type: "button", onclick: () => route() }, "Refresh")),
    h("p", { class: "count", role: "status", "data-testid": "row-count" }, `${plural(jobs.length, "job")}${running ? `, ${running} running (refreshing every 5 s)` : ""}`),
    jobs.length
      ? jobsTable(jobs, { labelledBy: "jobs-heading" })
      : h("div", { class: "state" }, h("p", {}, "No job matches these filters. Jobs appear when scheduled backups run, when someone backs up on demand or restores, and when retention deletes expired points. Widen the time range or clear the filters."))));
  if (running) later(() => { if (generation === state.generation) { state.generation += 1; jobsView(); } }, 5000);
}
