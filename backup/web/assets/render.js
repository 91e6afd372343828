// @ts-check
// Small pieces every view uses: form fields, badges, times and ages, in-page links, and the
// words for an API error.

import { h } from "./dom.js";
import { ageText, timeFormat, utcText } from "./format.js";
import { hrefWith, navigate } from "./state.js";
import { HINTS, STATES } from "./words.js";

/** @typedef {import("./dom.js").Attrs} Attrs */
/** @typedef {import("./dom.js").Child} Child */
/** @typedef {import("./state.js").QueryChanges} QueryChanges */
/** @typedef {import("./api.js").ApiError} ApiError */

/**
 * A label and its control, side by side in the DOM so the label alone names the control.
 * @param {string} id
 * @param {string} text
 * @param {HTMLElement} control
 */
export function field(id, text, control) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

/**
 * @param {string} text
 * @param {string | undefined} tone
 */
export function badge(text, tone) {
  return h("span", { class: `badge ${tone || "idle"}` }, text);
}
/** @param {string | undefined} value  a currentProtectionState */
export function stateBadge(value) {
  const [text, tone] = STATES[value || ""] || [value || "Unknown", "idle"];
  return badge(text, tone);
}

/**
 * A <time> in the browser's zone, UTC on hover.
 * @param {string | null | undefined} iso
 * @param {string} [text]
 */
export function timeEl(iso, text) {
  if (!iso) return h("span", { class: "small" }, "—");
  const ms = Date.parse(iso);
  return h("time", { datetime: iso, title: utcText(ms) }, text ?? timeFormat.format(ms));
}
/** @param {string | null | undefined} iso */
export function ageEl(iso) {
  if (!iso) return h("span", { class: "small" }, "never");
  return timeEl(iso, ageText(Date.parse(iso)));
}

/**
 * A link to another view of this page (the changes on an empty query), followed without a reload.
 * @param {Child} text
 * @param {QueryChanges} changes
 * @param {Attrs} [attrs]
 */
export function link(text, changes, attrs = {}) {
  const href = hrefWith(changes, new URLSearchParams());
  return h("a", {
    href,
    ...attrs,
    onclick: (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      navigate(changes, { fresh: true });
    },
  }, text);
}

/**
 * A section of the README: its heading, and the anchor GitHub gives it (tests/web checks both).
 * @typedef {{ heading: string, anchor: string }} ReadmeSection
 */

/** @type {ReadmeSection} the walkthrough: a vault, a policy, then disks protected */
export const WALKTHROUGH = { heading: "Walk through the API", anchor: "walk-through-the-api" };

/**
 * Names a README section: its heading in quotes, then its anchor.
 * @param {ReadmeSection} section
 */
export function readmeSection(section) {
  return h("span", {}, `“${section.heading}” in the README (`, h("span", { class: "mono" }, `README.md#${section.anchor}`), ")");
}

/**
 * What went wrong and what to do: the hint for the code (else the API's recommended action),
 * the API's message, the code.
 * @param {ApiError} error
 */
export function errorWords(error) {
  const hint = HINTS[error.code] || (error.recommendedAction || []).join(" ");
  return h("div", {},
    hint ? h("p", {}, h("strong", {}, hint)) : null,
    h("p", {}, error.message),
    h("p", { class: "small" }, `Code: ${error.code}${error.status ? ` (HTTP ${error.status})` : ""}`));
}
