// @ts-check
// The overview's instances table: its filter controls, the filtering and sorting the URL's
// query asks for, and the table itself, one page of rows at a time, with sortable headers.
//
// Vault, health and state filter on the server ($filter: exact, paged by the API); the search
// box and the tile-only filters (protected, holding points) and every sort apply to the rows
// loaded so far, and the count line says so while more are left to load.

import { h } from "./dom.js";
import { armPart, lower, shortDate } from "./format.js";
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
 * A column: its key (``?sort=``), header, the value it sorts by (null sorts last), and whether
 * it is left out on a narrow screen (``wide``).
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {boolean} [num]
 * @property {boolean} [wide]
 * @property {(item: BackupInstance) => string | number | null} value
 */

/** Rows drawn at once: the table stays as quick at 10,000 loaded instances as at 100. */
export const PAGE_ROWS = 100;

/** The query keys that filter the table (``sort`` and ``dir`` order it). */
export const FILTER_KEYS = ["vault", "health", "state", "q", "protected", "points", "tile"];
/** The filters the API applies ($filter), exactly and over every instance. */
export const SERVER_KEYS = ["vault", "health", "state"];
/** The filters applied to the loaded rows only. */
const LOADED_KEYS = ["q", "protected", "points"];

/**
 * Every filter and the order cleared.
 * @returns {QueryChanges}
 */
export const clearedFilters = () => Object.fromEntries([...FILTER_KEYS, "sort", "dir"].map((k) => [k, null]));

/**
 * An OData string literal.
 * @param {string} value
 */
const literal = (value) => `'${value.replace(/'/g, "''")}'`;

/**
 * The $filter for the query's server-side filters ("" for none).
 * @param {URLSearchParams} q
 */
export function serverFilter(q) {
  /** @type {Record<string, string>} */
  const fields = { vault: "vaultName", health: "health", state: "currentProtectionState" };
  return SERVER_KEYS.filter((key) => q.get(key)).map((key) => `${fields[key]} eq ${literal(String(q.get(key)))}`).join(" and ");
}
/** @param {URLSearchParams} q  whether a filter applies to the loaded rows only */
export const filtersLoadedOnly = (q) => LOADED_KEYS.some((key) => q.get(key));

/** @param {BackupInstance} item */
const oldestPoint = (item) => summaryOf(item).oldestRecoveryPointTime || null;
/** @param {BackupInstance} item  the newest point: the last successful backup until the API says */
const newestPoint = (item) => summaryOf(item).newestRecoveryPointTime || summaryOf(item).lastBackupTime || null;
/** @param {string | null | undefined} iso */
const timeValue = (iso) => (iso ? Date.parse(iso) : null);

/** @type {Column[]} */
const COLUMNS = [
  { key: "disk", label: "Disk", value: (i) => lower(diskOf(i)) },
  { key: "health", label: "Health", value: (i) => summaryOf(i).health || null },
  { key: "last", label: "Last backup", value: (i) => timeValue(summaryOf(i).lastBackupTime) },
  { key: "restorable", label: "Restorable from", wide: true, value: (i) => timeValue(oldestPoint(i)) },
  { key: "state", label: "State", wide: true, value: (i) => (STATES[i.properties.currentProtectionState] || [i.properties.currentProtectionState])[0] },
  { key: "vault", label: "Vault", wide: true, value: (i) => lower(summaryOf(i).vaultName) },
  { key: "policy", label: "Policy", wide: true, value: (i) => lower(policyOf(i)) },
  { key: "next", label: "Next backup", wide: true, value: (i) => timeValue(summaryOf(i).nextScheduledBackupTime) },
  { key: "points", label: "Recovery points", num: true, wide: true, value: (i) => summaryOf(i).recoveryPointCount ?? 0 },
];

/**
 * The selects (vault, health, state), the search box and the chips of the filters that only
 * tiles set.
 * @param {string[]} vaults  every vault's name (from the overview, not from the loaded rows)
 * @param {string[]} states  every protection state present
 * @param {URLSearchParams} query
 * @param {UpdateFilters} updateFilters
 */
export function filterControls(vaults, states, query, updateFilters) {
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
    select("f-vault", "Vault", [...vaults].sort().map((v) => [v, v]), "vault"),
    select("f-health", "Health", ["Healthy", "Unhealthy", "Inactive"].map((v) => [v, v]), "health"),
    select("f-state", "Protection state", [...states].sort().map((s) => [s, (STATES[s] || [s])[0]]), "state"),
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
  for (const key of SERVER_KEYS) {
    const el = /** @type {HTMLSelectElement | null} */ (filters.querySelector(`select[name="${key}"]`));
    if (el) el.value = q.get(key) || "";
  }
  if (search.value !== (q.get("q") || "")) search.value = q.get("q") || "";
  /** @type {[string, string][]} */
  const chips = [];
  if (q.get("protected")) chips.push(["protected", "taking scheduled backups"]);
  if (q.get("points")) chips.push(["points", "holding recovery points"]);
  /** @type {HTMLElement} */ (filters.querySelector("#extra-filters")).replaceChildren(...chips.map(([key, text]) =>
    h("button", { type: "button", "aria-label": `Remove filter: only instances ${text}`, onclick: () => updateFilters({ [key]: null, tile: null }) }, `Only ${text} ✕`)));
}

/**
 * The loaded instances the query's filters keep (the server's filters again, so rows loaded
 * under another filter never show).
 * @param {BackupInstance[]} instances
 * @param {URLSearchParams} q
 */
export function matchingInstances(instances, q) {
  const text = lower(q.get("q")).trim();
  return instances.filter((item) => {
    const s = summaryOf(item);
    if (q.get("vault") && lower(s.vaultName) !== lower(q.get("vault"))) return false;
    if (q.get("health") && s.health !== q.get("health")) return false;
    if (q.get("state") && item.properties.currentProtectionState !== q.get("state")) return false;
    if (q.get("protected") && !(s.health === "Healthy" || s.health === "Unhealthy")) return false;
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
 * What the count line says about the rows: which are shown, of how many, and whether that
 * total is exact.
 * @typedef {object} TableCount
 * @property {number} first  index of the first row shown
 * @property {number} shown  rows on this page
 * @property {number} matching  loaded rows that match
 * @property {number} loaded  rows loaded from the API
 * @property {number | null} total  every instance matching, when known exactly
 * @property {boolean} more  the API has more rows to load
 * @property {boolean} loadedOnly  a filter or the order applies to the loaded rows only
 */

/**
 * The count line.
 * @param {TableCount} count
 */
function countText({ first, shown, matching, loaded, total, more, loadedOnly }) {
  const range = shown ? `Rows ${first + 1} to ${first + shown}` : "No rows";
  if (!more) return `${range} of ${matching} instances`;
  if (loadedOnly) return `${range} of the ${matching} matching among ${loaded} loaded; more are not loaded yet, so the search and the order cover only those`;
  if (total !== null) return `${range} of ${total} instances (${loaded} loaded)`;
  return `${range} of at least ${loaded} instances (more to load)`;
}

/**
 * The row count, the pager and the table (or what to do when no row matches).
 * @param {BackupInstance[]} rows  the page's rows
 * @param {TableCount} count
 * @param {{ column: Column, dir: number }} order
 * @param {{ onSort: (column: Column, dir: string) => void, onClear: () => void, onPage: (step: number) => void, onLoadAll: () => void }} handlers
 */
export function instancesTable(rows, count, { column, dir }, { onSort, onClear, onPage, onLoadAll }) {
  const head = h("tr", {}, COLUMNS.map((c) => h("th", {
    scope: "col",
    class: [c.num ? "num" : "", c.wide ? "wide" : ""].join(" ").trim() || null,
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
    const group = item.properties.dataSourceInfo?.resourceID ? armPart(item.properties.dataSourceInfo.resourceID, "resourceGroups") : "";
    const oldest = oldestPoint(item), newest = newestPoint(item);
    return h("tr", { dataset: { instance: item.id } },
      h("td", {}, link(diskOf(item), { view: "instance", id: item.id }, { class: "disk", title: group ? `resource group ${group}` : null })),
      h("td", { dataset: { health: s.health || "" }, title: reason || null }, badge(s.health || "Unknown", HEALTH[s.health || ""]), reason ? h("span", { class: "reason" }, reason) : null),
      h("td", {}, ageEl(s.lastBackupTime)),
      h("td", { class: "wide", dataset: { oldest: oldest || "", newest: newest || "" } },
        oldest ? timeEl(oldest, shortDate.format(Date.parse(oldest))) : h("span", { class: "small" }, newest ? "—" : "no point"),
        newest ? [" → ", timeEl(newest, shortDate.format(Date.parse(newest)))] : null),
      h("td", { class: "wide" }, stateBadge(item.properties.currentProtectionState)),
      h("td", { class: "wide" }, s.vaultName),
      h("td", { class: "wide", title: s.policyDescription || null, dataset: { policy: policyOf(item) } }, policyOf(item)),
      h("td", { class: "wide" }, s.nextScheduledBackupTime ? timeEl(s.nextScheduledBackupTime) : h("span", { class: "small" }, "none")),
      h("td", { class: "num wide" }, String(s.recoveryPointCount ?? 0)));
  });
  const last = count.first + count.shown >= count.matching;
  const pager = h("div", { class: "pager", role: "group", "aria-label": "Pages of the table" },
    h("button", { type: "button", disabled: count.first === 0, onclick: () => onPage(-1) }, "Previous page"),
    h("button", { type: "button", disabled: last && !count.more, onclick: () => onPage(1) }, "Next page"),
    count.more ? h("button", { type: "button", onclick: onLoadAll }, "Load all") : null);
  return [
    h("p", { class: "count", role: "status", "data-testid": "row-count", dataset: { total: count.total === null ? "" : String(count.total), more: String(count.more) } }, countText(count)),
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "instances-title", id: "instances" }, h("thead", {}, head), h("tbody", {}, body)))
      : h("div", { class: "state" }, h("p", {}, count.more ? "No loaded instance matches these filters; load the rest to search them too. " : "No instance matches these filters. "), h("button", { type: "button", onclick: onClear }, "Clear filters")),
    pager,
  ];
}
