// @ts-check
// The overview's summary tiles: counts over the instances and the failed jobs, each a button
// that filters the instances table.

import { h } from "./dom.js";
import { lower, plural } from "./format.js";
import { diskOf, isProtected, summaryOf } from "./instances.js";
import { ageEl } from "./render.js";

/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */

/**
 * A tile: its key (``data-tile``, ``?tile=``), label, tone, and the table filter it applies.
 * @typedef {object} Tile
 * @property {string} key
 * @property {string} label
 * @property {string} tone
 * @property {Record<string, string>} filter
 */

/**
 * A tile's figure (a number, or an age element), an optional note under it, and for the
 * oldest backup its time (``data-value``).
 * @typedef {object} TileValue
 * @property {number | string | HTMLElement} value
 * @property {string} [note]
 * @property {string | null} [iso]
 */

/** @type {Tile[]} */
const TILES = [
  { key: "protected", label: "Protected instances", tone: "", filter: { state: "ProtectionConfigured" } },
  { key: "healthy", label: "Healthy", tone: "ok", filter: { health: "Healthy" } },
  { key: "unhealthy", label: "Unhealthy", tone: "bad", filter: { health: "Unhealthy" } },
  { key: "suspended", label: "Suspended", tone: "warn", filter: { state: "BackupSchedulesSuspended" } },
  { key: "stopped", label: "Stopped", tone: "idle", filter: { state: "ProtectionStopped" } },
  { key: "failed", label: "Failed jobs, last 24 h", tone: "bad", filter: { failed: "24h" } },
  { key: "points", label: "Recovery points held", tone: "", filter: { points: "1" } },
  { key: "oldest", label: "Oldest last backup", tone: "warn", filter: { state: "ProtectionConfigured", sort: "last", dir: "asc" } },
];

/**
 * @param {BackupInstance[]} instances
 * @param {Job[]} failedJobs  failed in the last 24 hours
 * @returns {Record<string, TileValue>}
 */
export function tileValues(instances, failedJobs) {
  const protectedOnes = instances.filter(isProtected);
  const lastBackup = (/** @type {BackupInstance} */ i) => Date.parse(summaryOf(i).lastBackupTime || "");
  const backed = protectedOnes.filter((i) => summaryOf(i).lastBackupTime)
    .sort((a, b) => lastBackup(a) - lastBackup(b));
  const never = protectedOnes.length - backed.length;
  const oldest = backed[0];
  return {
    protected: { value: protectedOnes.length },
    healthy: { value: instances.filter((i) => summaryOf(i).health === "Healthy").length },
    unhealthy: { value: instances.filter((i) => summaryOf(i).health === "Unhealthy").length },
    suspended: { value: instances.filter((i) => i.properties.currentProtectionState === "BackupSchedulesSuspended").length },
    stopped: { value: instances.filter((i) => i.properties.currentProtectionState === "ProtectionStopped").length },
    failed: { value: failedJobs.length, note: failedJobs.length ? `on ${plural(new Set(failedJobs.map((j) => lower(j.properties.backupInstanceId))).size, "instance")}` : "none" },
    points: { value: instances.reduce((sum, i) => sum + (summaryOf(i).recoveryPointCount || 0), 0) },
    oldest: oldest
      ? { value: ageEl(summaryOf(oldest).lastBackupTime), note: `${diskOf(oldest)}${never ? `; ${never} never backed up` : ""}`, iso: summaryOf(oldest).lastBackupTime }
      : { value: "—", note: never ? `${never} never backed up` : "no protected instance" },
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
      h("span", { class: "tile-value", "data-value": tile.key === "oldest" ? value.iso || "" : String(value.value) }, value.value),
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
