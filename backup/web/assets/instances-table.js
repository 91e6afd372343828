// @ts-check
// The overview's instances table: its filter controls, the filtering and sorting the URL's
// query asks for, and the table itself with sortable column headers.

import { h } from "./dom.js";
import { armPart, lower } from "./format.js";
import { diskOf, healthReason, policyOf, summaryOf } from "./instances.js";
import { ageEl, badge, field, link, stateBadge, timeEl } from "./render.js";
import { HEALTH, STATES } from "./words.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */

/**
 * Applies changes to the URL's query and redraws; ``typing``: replace the history entry.
 * @callback UpdateFilters
 * @param {QueryChanges} changes
 * @param {boolean} [typing]
 * @returns {void}
 */

/**
 * A column: its key (``?sort=``), header, and the value it sorts by (null sorts last).
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {boolean} [num]
 * @property {(item: BackupInstance) => string | number | null} value
 */

/** The query keys that filter the table (``sort`` and ``dir`` order it). */
export const FILTER_KEYS = ["vault", "health", "state", "q", "failed", "points", "tile"];

/**
 * Every filter and the order cleared.
 * @returns {QueryChanges}
 */
export const clearedFilters = () => Object.fromEntries([...FILTER_KEYS, "sort", "dir"].map((k) => [k, null]));

/** @type {Column[]} */
const COLUMNS = [
  { key: "disk", label: "Disk", value: (i) => lower(diskOf(i)) },
  { key: "vault", label: "Vault", value: (i) => lower(summaryOf(i).vaultName) },
  { key: "policy", label: "Policy", value: (i) => lower(policyOf(i)) },
  { key: "state", label: "Protection state", value: (i) => (STATES[i.properties.currentProtectionState] || [i.properties.currentProtectionState])[0] },
  { key: "health", label: "Health", value: (i) => summaryOf(i).health || null },
  { key: "last", label: "Last successful backup", value: (i) => (summaryOf(i).lastBackupTime ? Date.parse(summaryOf(i).lastBackupTime || "") : null) },
  { key: "next", label: "Next backup", value: (i) => (summaryOf(i).nextScheduledBackupTime ? Date.parse(summaryOf(i).nextScheduledBackupTime || "") : null) },
  { key: "points", label: "Recovery points", num: true, value: (i) => summaryOf(i).recoveryPointCount ?? 0 },
];

/**
 * The selects (vault, health, state), the search box and the chips of the filters that only
 * tiles set.
 * @param {BackupInstance[]} instances
 * @param {URLSearchParams} query
 * @param {UpdateFilters} updateFilters
 */
export function filterControls(instances, query, updateFilters) {
  const vaults = [...new Set(instances.map((i) => summaryOf(i).vaultName))].sort();
  const states = [...new Set(instances.map((i) => i.properties.currentProtectionState))].sort();
  /**
   * @param {string} id
   * @param {string} label
   * @param {[string | undefined, string | undefined][]} options  value and text
   * @param {string} key
   */
  const select = (id, label, options, key) => {
    /** @type {HTMLSelectElement} */
    const el = h("select", { id, name: key, onchange: () => updateFilters({ [key]: el.value, tile: null }) },
      h("option", { value: "" }, "All"),
      options.map(([value, text]) => h("option", { value, selected: query.get(key) === value }, text)));
    return field(id, label, el);
  };
  /** @type {HTMLInputElement} */
  const search = h("input", { id: "q", type: "search", name: "q", value: query.get("q") || "", placeholder: "Disk, vault, policy, error…", oninput: () => updateFilters({ q: search.value, tile: null }, true) });
  const filters = h("div", { class: "filters", role: "search", "aria-label": "Filter instances" },
    select("f-vault", "Vault", vaults.map((v) => [v, v]), "vault"),
    select("f-health", "Health", ["Healthy", "Unhealthy", "Inactive"].map((v) => [v, v]), "health"),
    select("f-state", "Protection state", states.map((s) => [s, (STATES[s] || [s])[0]]), "state"),
    field("q", "Search", search),
    h("span", { id: "extra-filters" }),
    h("button", { type: "button", onclick: () => updateFilters(clearedFilters()) }, "Clear filters"));
  return { filters, search };
}

/**
 * Selects, search box and chips as the URL says.
 * @param {HTMLElement} filters
 * @param {HTMLInputElement} search
 * @param {URLSearchParams} q
 * @param {UpdateFilters} updateFilters
 */
export function syncFilterControls(filters, search, q, updateFilters) {
  for (const key of ["vault", "health", "state"]) {
    const el = /** @type {HTMLSelectElement | null} */ (filters.querySelector(`select[name="${key}"]`));
    if (el) el.value = q.get(key) || "";
  }
  if (search.value !== (q.get("q") || "")) search.value = q.get("q") || "";
  /** @type {[string, string][]} */
  const chips = [];
  if (q.get("failed")) chips.push(["failed", "with a failed job in the last 24 hours"]);
  if (q.get("points")) chips.push(["points", "holding recovery points"]);
  /** @type {HTMLElement} */ (filters.querySelector("#extra-filters")).replaceChildren(...chips.map(([key, text]) =>
    h("button", { type: "button", "aria-label": `Remove filter: only instances ${text}`, onclick: () => updateFilters({ [key]: null, tile: null }) }, `Only ${text} ✕`)));
}

/**
 * The instances the query's filters keep.
 * @param {BackupInstance[]} instances
 * @param {URLSearchParams} q
 * @param {Set<string>} failedIds  lower-case ids of instances with a failed job in 24 hours
 */
export function matchingInstances(instances, q, failedIds) {
  const text = lower(q.get("q")).trim();
  return instances.filter((item) => {
    const s = summaryOf(item);
    if (q.get("vault") && s.vaultName !== q.get("vault")) return false;
    if (q.get("health") && s.health !== q.get("health")) return false;
    if (q.get("state") && item.properties.currentProtectionState !== q.get("state")) return false;
    if (q.get("failed") && !failedIds.has(lower(item.id))) return false;
    if (q.get("points") && !((s.recoveryPointCount ?? 0) > 0)) return false;
    if (text) {
      const hay = lower([diskOf(item), item.name, s.vaultName, policyOf(item), s.policyDescription, s.lastErrorCode, item.properties.dataSourceInfo?.resourceID].join(" "));
      if (!hay.includes(text)) return false;
    }
    return true;
  });
}

/**
 * Rows in the query's order (``sort``, ``dir``); ties keep the disk order and unknown values
 * sort last either way. Sorts ``rows`` in place.
 * @param {BackupInstance[]} rows
 * @param {URLSearchParams} q
 * @returns {{ rows: BackupInstance[], column: Column, dir: number }}
 */
export function sortInstances(rows, q) {
  const sort = q.get("sort") || "disk";
  const dir = q.get("dir") === "desc" ? -1 : 1;
  const column = COLUMNS.find((c) => c.key === sort) || COLUMNS[0];
  const byDisk = (/** @type {BackupInstance} */ item) => String(COLUMNS[0].value(item));
  /** @type {[BackupInstance, number][]} */
  const indexed = rows.sort((a, b) => byDisk(a).localeCompare(byDisk(b))).map((item, index) => [item, index]);
  const sorted = indexed.sort(([a, ia], [b, ib]) => {
    const va = column.value(a), vb = column.value(b);
    if (va === null && vb === null) return ia - ib;
    if (va === null) return 1; // nothing known sorts last either way
    if (vb === null) return -1;
    return va < vb ? -dir : va > vb ? dir : ia - ib; // ties keep the disk order
  }).map(([item]) => item);
  return { rows: sorted, column, dir };
}

/**
 * The row count and the table (or what to do when no row matches).
 * @param {BackupInstance[]} rows
 * @param {number} total  instances before filtering
 * @param {{ column: Column, dir: number }} order
 * @param {{ onSort: (column: Column, dir: string) => void, onClear: () => void }} handlers
 */
export function instancesTable(rows, total, { column, dir }, { onSort, onClear }) {
  const head = h("tr", {}, COLUMNS.map((c) => h("th", {
    scope: "col",
    class: c.num ? "num" : null,
    "aria-sort": c.key === column.key ? (dir === 1 ? "ascending" : "descending") : null,
    dataset: { col: c.key },
  }, h("button", {
    type: "button",
    class: "sort",
    onclick: () => onSort(c, c.key === column.key && dir === 1 ? "desc" : "asc"),
  }, c.label, h("span", { class: "arrow", "aria-hidden": "true" })))));
  const body = rows.map((item) => {
    const s = summaryOf(item);
    const reason = healthReason(item);
    return h("tr", { dataset: { instance: item.id } },
      h("td", {}, link(diskOf(item), { view: "instance", id: item.id }, { class: "disk" }),
        h("span", { class: "reason" }, item.properties.dataSourceInfo?.resourceID ? armPart(item.properties.dataSourceInfo.resourceID, "resourceGroups") : "")),
      h("td", { class: "nowrap" }, s.vaultName),
      h("td", {}, policyOf(item), h("span", { class: "reason" }, s.policyDescription || "")),
      h("td", {}, stateBadge(item.properties.currentProtectionState)),
      h("td", { dataset: { health: s.health || "" } }, badge(s.health || "Unknown", HEALTH[s.health || ""]), reason ? h("span", { class: "reason" }, reason) : null),
      h("td", {}, ageEl(s.lastBackupTime)),
      h("td", {}, s.nextScheduledBackupTime ? timeEl(s.nextScheduledBackupTime) : h("span", { class: "small" }, "none scheduled")),
      h("td", { class: "num" }, String(s.recoveryPointCount ?? 0)));
  });
  return [
    h("p", { class: "count", role: "status", "data-testid": "row-count" }, `${rows.length} of ${total} instances`),
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "instances-title", id: "instances" }, h("thead", {}, head), h("tbody", {}, body)))
      : h("div", { class: "state" }, h("p", {}, "No instance matches these filters. "), h("button", { type: "button", onclick: onClear }, "Clear filters")),
  ];
}
