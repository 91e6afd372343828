// @ts-check
// The overview's summary tiles: the counts of the overview call (one summary row per vault),
// each a button that filters or orders the instances table, or opens the failed jobs.

import { h } from "./dom.js";
import { lastSegment, plural, shortDate } from "./format.js";
import { ageEl, timeEl } from "./render.js";

/** @typedef {import("./types.js").OverviewCounts} OverviewCounts */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */

/**
 * A tile: its key (``data-tile``, ``?tile=``), label, tone, and what pressing it does: the
 * table filter (and order) it applies, or the view it opens.
 * @typedef {object} Tile
 * @property {string} key
 * @property {string} label
 * @property {string} tone
 * @property {Record<string, string>} filter
 * @property {Record<string, string>} [opens]  another view's query (the tile is then a link)
 */

/**
 * A tile's figure (a number, or a time element), an optional note under it, and for the times
 * their ISO value (``data-value``).
 * @typedef {object} TileValue
 * @property {number | string | HTMLElement} value
 * @property {string} [note]
 * @property {string | null} [iso]
 */

/** @type {Tile[]} */
const TILES = [
  { key: "protected", label: "Protected instances", tone: "", filter: { protected: "1" } },
  { key: "healthy", label: "Healthy", tone: "ok", filter: { health: "Healthy" } },
  { key: "unhealthy", label: "Unhealthy", tone: "bad", filter: { health: "Unhealthy" } },
  { key: "suspended", label: "Suspended", tone: "warn", filter: { state: "BackupSchedulesSuspended" } },
  { key: "stopped", label: "Stopped", tone: "idle", filter: { state: "ProtectionStopped" } },
  { key: "failed", label: "Failed jobs, last 24 h", tone: "bad", filter: {}, opens: { view: "jobs", status: "Failed", range: "24h" } },
  { key: "points", label: "Recovery points held", tone: "", filter: { points: "1" } },
  { key: "restorable", label: "Oldest restorable point", tone: "", filter: { points: "1", sort: "restorable", dir: "asc" } },
  { key: "oldest", label: "Oldest last backup", tone: "warn", filter: { protected: "1", sort: "last", dir: "asc" } },
];

/**
 * The tiles' figures from the overview's totals: exact counts, not counts of what is loaded.
 * @param {OverviewCounts} counts
 * @returns {Record<string, TileValue>}
 */
export function tileValues(counts) {
  const never = counts.neverBackedUp;
  const oldestOf = counts.oldestLastBackupInstanceId ? lastSegment(counts.oldestLastBackupInstanceId) : "";
  const oldestPoint = counts.oldestRecoveryPointTime;
  return {
    protected: { value: counts.protected, note: plural(counts.instances, "instance") + " in all" },
    healthy: { value: counts.byHealth.Healthy || 0 },
    unhealthy: { value: counts.byHealth.Unhealthy || 0 },
    suspended: { value: counts.byProtectionState.BackupSchedulesSuspended || 0 },
    stopped: { value: counts.byProtectionState.ProtectionStopped || 0 },
    failed: { value: counts.failedJobsLast24Hours, note: counts.failedJobsLast24Hours ? "see what failed and why" : "none" },
    points: { value: counts.recoveryPoints },
    restorable: oldestPoint
      ? { value: timeEl(oldestPoint, shortDate.format(Date.parse(oldestPoint))), note: counts.oldestRecoveryPointExact ? "across every instance" : "or older: some instances predate this count", iso: oldestPoint }
      : { value: "—", note: counts.recoveryPoints ? "not known yet" : "no recovery point", iso: null },
    oldest: counts.oldestLastBackupTime
      ? { value: ageEl(counts.oldestLastBackupTime), note: `${oldestOf}${never ? `; ${never} never backed up` : ""}`, iso: counts.oldestLastBackupTime }
      : { value: "—", note: never ? `${never} never backed up` : "no protected instance", iso: null },
  };
}

/**
 * The tiles as toggle buttons: pressing one applies its filter, pressing it again clears it.
 * @param {Record<string, TileValue>} values
 * @param {string | null} active  the tile pressed (``?tile=``)
 * @param {(pressed: boolean, tile: Tile) => void} onPress  ``pressed``: it was pressed before the click
 */
export function tilesGroup(values, active, onPress) {
  return h("div", { class: "tiles", role: "group", "aria-label": "Summary; each tile filters the table" },
    TILES.map((tile) => {
      const value = values[tile.key];
      return h("button", {
        type: "button",
        class: `tile ${tile.tone}`,
        "aria-pressed": String(active === tile.key),
        dataset: { tile: tile.key },
        onclick: (event) => {
          const button = /** @type {HTMLElement} */ (event.currentTarget);
          onPress(button.getAttribute("aria-pressed") === "true", tile);
        },
      },
      h("span", { class: "tile-label" }, tile.label),
      h("span", { class: "tile-value", "data-value": value.iso !== undefined ? value.iso || "" : String(value.value) }, value.value),
      value.note ? h("span", { class: "tile-note" }, value.note) : null);
    }));
}

/**
 * Presses the tile the URL names, releases the others.
 * @param {HTMLElement} group
 * @param {string | null} active
 */
export function pressTile(group, active) {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (group.querySelectorAll(".tile"))) {
    el.setAttribute("aria-pressed", String(active === el.dataset.tile));
  }
}
