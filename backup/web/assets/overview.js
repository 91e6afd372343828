// @ts-check
// The overview: tiles over every instance of the subscription, and the instances table they
// filter. The filters and the order live in the URL's query.

import { listInstances, listJobs, listVaults, odata } from "./api.js";
import { h, loading, main, show } from "./dom.js";
import { DAY, lower } from "./format.js";
import {
  clearedFilters, FILTER_KEYS, filterControls, instancesTable, matchingInstances, sortInstances, syncFilterControls,
} from "./instances-table.js";
import { readmeSection, WALKTHROUGH } from "./render.js";
import { failure } from "./signin.js";
import { hrefWith, now, params, route, state } from "./state.js";
import { pressTile, tilesGroup, tileValues } from "./tiles.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */

export async function overviewView() {
  const generation = state.generation;
  const sub = /** @type {string} */ (state.sub);
  loading("Loading backup instances…");
  /** @type {BackupInstance[]} */
  let instances;
  /** @type {Job[]} */
  let failedJobs;
  try {
    const since = new Date(now() - DAY).toISOString();
    const vaultsPromise = listVaults(sub);
    [instances, failedJobs] = await Promise.all([
      listInstances(sub),
      vaultsPromise.then((vaults) => Promise.all(vaults.map((v) => listJobs(v.id, ["status eq 'Failed'", `startTime ge ${odata(since)}`])))).then((lists) => lists.flat()),
    ]);
  } catch (error) {
    if (generation === state.generation) failure(/** @type {import("./api.js").ApiError} */ (error));
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  document.title = "Overview · Backup Center";
  const failedIds = new Set(failedJobs.map((job) => lower(job.properties.backupInstanceId)));
  const values = tileValues(instances, failedJobs);

  if (!instances.length) {
    show(h("h1", {}, "Overview"), h("div", { class: "state", role: "status" },
      h("p", {}, h("strong", {}, "No disk is protected in this subscription yet.")),
      h("p", { "data-testid": "how-to-protect" }, "Create a backup vault and a policy, then a backup instance for each disk (PUT .../backupInstances/{name}); ",
        readmeSection(WALKTHROUGH), " shows how. They appear here as soon as they exist."),
      h("p", {}, h("button", { type: "button", onclick: () => route() }, "Reload"))));
    return;
  }
  const all = instances;

  const query = params();
  const tiles = tilesGroup(values, query.get("tile"), (pressed, tile) => {
    const clear = clearedFilters();
    updateFilters(pressed ? clear : { ...clear, ...tile.filter, tile: tile.key });
  });
  const { filters, search } = filterControls(all, query, updateFilters);
  const tableBox = h("div", {});
  show(h("h1", {}, "Overview"), tiles, h("h2", { id: "instances-title" }, "Backup instances"), filters, tableBox);

  /**
   * @param {QueryChanges} changes
   * @param {boolean} [typing]  replace the history entry instead of adding one
   */
  function updateFilters(changes, typing = false) {
    const href = hrefWith(changes);
    history[typing ? "replaceState" : "pushState"](null, "", href);
    syncControls();
    renderTable();
  }

  /** Tiles, selects, search box and the extra filter chips as the URL says. */
  function syncControls() {
    const q = params();
    pressTile(tiles, q.get("tile"));
    syncFilterControls(filters, search, q, updateFilters);
  }

  function renderTable() {
    const q = params();
    const { rows, column, dir } = sortInstances(matchingInstances(all, q, failedIds), q);
    tableBox.replaceChildren(...instancesTable(rows, all.length, { column, dir }, {
      onSort: (c, nextDir) => {
        updateFilters({ sort: c.key, dir: nextDir });
        /** @type {HTMLElement | null} */ (tableBox.querySelector(`th[data-col="${c.key}"] button`))?.focus();
      },
      onClear: () => updateFilters(Object.fromEntries(FILTER_KEYS.map((k) => [k, null]))),
    }));
  }
  syncControls();
  renderTable();
}
