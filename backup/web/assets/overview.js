// @ts-check
// The overview: tiles from the overview call (one summary row per vault) and the instances
// table from the first page of the cross-vault list, both asked for at once. The page is
// meaningful (``data-ready`` on the root) once the tiles show their numbers and the first
// page is in the table: two API requests after whoami, whatever the number of instances. The
// rest of the list is loaded page by page, when the user asks for it. The filters, the order
// and the tile pressed live in the URL's query.

import { firstInstancesPage, getOverview, nextInstancesPage } from "./api.js";
import { h, loading, main, show } from "./dom.js";
import { plural, utcText } from "./format.js";
import {
  clearedFilters, FILTER_KEYS, filterControls, filtersLoadedOnly, instancesTable, matchingInstances, PAGE_ROWS,
  serverFilter, sortInstances, syncFilterControls,
} from "./instances-table.js";
import { readmeSection, WALKTHROUGH } from "./render.js";
import { failure } from "./signin.js";
import { hrefWith, navigate, params, route, state } from "./state.js";
import { pressTile, tilesGroup, tileValues } from "./tiles.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").SubscriptionOverview} SubscriptionOverview */
/** @typedef {import("./api.js").InstancePage} InstancePage */
/** @typedef {import("./api.js").ApiError} ApiError */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */

/** Marks the page meaningful: tiles final, the first rows in the table (benchmarks wait for it). */
export const markReady = () => { document.documentElement.dataset.ready = "true"; };

export async function overviewView() {
  const generation = state.generation;
  const sub = /** @type {string} */ (state.sub);
  loading("Loading the overview…");
  /** @type {SubscriptionOverview} */
  let overview;
  /** @type {InstancePage} */
  let first;
  let filter = serverFilter(params());
  try {
    [overview, first] = await Promise.all([getOverview(sub), firstInstancesPage(sub, filter)]);
  } catch (error) {
    if (generation === state.generation) failure(/** @type {ApiError} */ (error));
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  document.title = "Overview · Backup Center";
  const totals = overview.totals;

  if (!totals.instances && !first.items.length) {
    show(h("h1", {}, "Overview"), h("div", { class: "state", role: "status" },
      h("p", {}, h("strong", {}, "No disk is protected in this subscription yet.")),
      h("p", { "data-testid": "how-to-protect" }, "Create a backup vault and a policy, then a backup instance for each disk (PUT .../backupInstances/{name}); ",
        readmeSection(WALKTHROUGH), " shows how. They appear here as soon as they exist."),
      h("p", {}, h("button", { type: "button", onclick: () => route() }, "Reload"))));
    markReady();
    return;
  }

  /** What the table holds: the rows loaded under the current server filter, and the next page. */
  const loaded = { items: first.items, next: first.next, page: 0, busy: false };
  const query = params();
  const tiles = tilesGroup(tileValues(totals), query.get("tile"), (pressed, tile) => {
    if (tile.opens) { navigate(tile.opens, { fresh: true }); return; }
    const clear = clearedFilters();
    updateFilters(pressed ? clear : { ...clear, ...tile.filter, tile: tile.key });
  });
  const vaults = overview.vaults.map((v) => v.vaultName);
  const states = Object.keys(totals.byProtectionState);
  const { filters, search } = filterControls(vaults, states, query, updateFilters);
  const tableBox = h("div", {});
  show(h("h1", {}, "Overview"), exactness(overview), tiles, h("h2", { id: "instances-title" }, "Backup instances"), filters, tableBox);

  /**
   * @param {QueryChanges} changes
   * @param {boolean} [typing]  replace the history entry instead of adding one
   */
  function updateFilters(changes, typing = false) {
    history[typing ? "replaceState" : "pushState"](null, "", hrefWith(changes));
    syncControls();
    loaded.page = 0;
    const wanted = serverFilter(params());
    if (wanted === filter) { renderTable(); return; }
    filter = wanted;
    reload(wanted);
  }

  /** The first page under another server filter (one request); rows of the old one go. */
  async function reload(/** @type {string} */ wanted) {
    setBusy(true);
    try {
      const page = await firstInstancesPage(sub, wanted);
      if (generation !== state.generation || wanted !== filter) return;
      loaded.items = page.items;
      loaded.next = page.next;
    } catch (error) {
      if (generation === state.generation) failure(/** @type {ApiError} */ (error));
      return;
    } finally {
      setBusy(false);
    }
    renderTable();
  }

  /** One more page from the API; false when there was none or the view moved on. */
  async function loadMore() {
    if (!loaded.next) return false;
    const asked = filter;
    const page = await nextInstancesPage(loaded.next);
    if (generation !== state.generation || asked !== filter) return false;
    loaded.items = loaded.items.concat(page.items);
    loaded.next = page.next;
    return true;
  }

  /** @param {number} step  -1 or 1: the table's previous or next page (loading it if needed) */
  async function turnPage(step) {
    const target = loaded.page + step;
    if (target < 0) return;
    setBusy(true);
    try {
      // A page needs its rows loaded: with loaded-only filters that may take several API pages.
      while ((target + 1) * PAGE_ROWS > matchingInstances(loaded.items, params()).length && loaded.next) {
        if (!(await loadMore())) break;
      }
    } catch (error) {
      if (generation === state.generation) failure(/** @type {ApiError} */ (error));
      return;
    } finally {
      setBusy(false);
    }
    if (generation !== state.generation) return;
    if (target * PAGE_ROWS < Math.max(1, matchingInstances(loaded.items, params()).length)) loaded.page = target;
    renderTable();
  }

  async function loadAll() {
    setBusy(true);
    try {
      while (loaded.next) {
        if (!(await loadMore())) break;
        setBusy(true, `Loading instances: ${loaded.items.length} so far…`);
      }
    } catch (error) {
      if (generation === state.generation) failure(/** @type {ApiError} */ (error));
      return;
    } finally {
      setBusy(false);
    }
    if (generation === state.generation) renderTable();
  }

  /**
   * @param {boolean} busy
   * @param {string} [text]
   */
  function setBusy(busy, text) {
    loaded.busy = busy;
    tableBox.setAttribute("aria-busy", String(busy));
    const status = /** @type {HTMLElement | null} */ (tableBox.querySelector("[data-testid=row-count]"));
    if (busy && status) status.textContent = text || "Loading…";
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (tableBox.querySelectorAll(".pager button"))) {
      if (busy) button.disabled = true;
    }
  }

  /** Tiles, selects, search box and the extra filter chips as the URL says. */
  function syncControls() {
    const q = params();
    pressTile(tiles, q.get("tile"));
    syncFilterControls(filters, search, q, updateFilters);
  }

  /** Every instance the server's filter matches, when the overview's counts say exactly. */
  function exactTotal(/** @type {URLSearchParams} */ q) {
    if (!overview.exact) return null;
    const set = ["vault", "health", "state"].filter((key) => q.get(key));
    if (!set.length) return totals.instances;
    if (set.length > 1) return null;
    const value = String(q.get(set[0]));
    if (set[0] === "health") return totals.byHealth[value] || 0;
    if (set[0] === "state") return totals.byProtectionState[value] || 0;
    return overview.vaults.find((v) => v.vaultName.toLowerCase() === value.toLowerCase())?.instances ?? null;
  }

  function renderTable() {
    const q = params();
    const { rows, column, dir } = sortInstances(matchingInstances(loaded.items, q), q);
    loaded.page = Math.min(loaded.page, Math.max(0, Math.ceil(rows.length / PAGE_ROWS) - 1));
    const first = loaded.page * PAGE_ROWS;
    const pageRows = rows.slice(first, first + PAGE_ROWS);
    const sortedLoadedOnly = Boolean(loaded.next) && (q.get("sort") || "disk") !== "disk";
    const count = {
      first,
      shown: pageRows.length,
      matching: rows.length,
      loaded: loaded.items.length,
      total: filtersLoadedOnly(q) ? null : exactTotal(q),
      more: Boolean(loaded.next),
      loadedOnly: filtersLoadedOnly(q) || sortedLoadedOnly,
    };
    tableBox.replaceChildren(...instancesTable(pageRows, count, { column, dir }, {
      onSort: (c, nextDir) => {
        updateFilters({ sort: c.key, dir: nextDir });
        /** @type {HTMLElement | null} */ (tableBox.querySelector(`th[data-col="${c.key}"] button`))?.focus();
      },
      onClear: () => updateFilters(Object.fromEntries(FILTER_KEYS.map((k) => [k, null]))),
      onPage: (step) => { turnPage(step); },
      onLoadAll: () => { loadAll(); },
    }));
  }
  syncControls();
  renderTable();
  markReady();
}

/**
 * A note when the counts are not exact now (a vault's are missing or older than 15 minutes).
 * @param {SubscriptionOverview} overview
 */
function exactness(overview) {
  if (overview.exact) return null;
  const asOf = overview.asOf ? ` as of ${utcText(Date.parse(overview.asOf))}` : "";
  return h("div", { class: "state", role: "status", "data-testid": "counts-inexact" },
    h("p", {}, h("strong", {}, `These counts may be out of date${asOf}.`), ` ${plural(overview.inexactReasons.length, "reason")}:`),
    h("ul", {}, overview.inexactReasons.map((reason) => h("li", {}, reason))));
}
