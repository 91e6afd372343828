// @ts-check
// An instance's recovery points: the timeline (hand-written SVG, one lane per retention tag,
// each point with a line to its expiry) and the same points as a table.

import { h, main } from "./dom.js";
import { DAY, durationMs, retentionText, shortDate, timeFormat, utcText } from "./format.js";
import { timeEl } from "./render.js";
import { now } from "./state.js";

/** @typedef {import("./types.js").RecoveryPoint} RecoveryPoint */

/**
 * A point's lane: On-demand, or its retention tag.
 * @param {RecoveryPoint} point
 * @param {Set<string>} onDemand  names of the points taken on demand
 */
function tagOf(point, onDemand) {
  return onDemand.has(point.name) ? "On-demand" : point.properties.retentionTagName || "Default";
}
/** Lanes, top to bottom. */
const LANES = ["Weekly", "Daily", "Default", "On-demand"];
/** @type {Record<string, string>} */
const COLORS = { Weekly: "#6b2fa3", Daily: "#0b6e69", Default: "#0b5cad", "On-demand": "#a4461a" };
/**
 * A lane's marker, a different shape per lane (colour is not the only cue).
 * @param {string} tag
 * @param {number} x
 * @param {number} y
 * @param {number} [r]
 */
function marker(tag, x, y, r = 6) {
  const fill = COLORS[tag];
  if (tag === "Daily") return h("svg:rect", { class: "mark", x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill });
  if (tag === "Weekly") return h("svg:path", { class: "mark", d: `M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}Z`, fill });
  if (tag === "On-demand") return h("svg:path", { class: "mark", d: `M${x} ${y - r - 1}L${x + r + 1} ${y + r}L${x - r - 1} ${y + r}Z`, fill });
  return h("svg:circle", { class: "mark", cx: x, cy: y, r, fill });
}

/**
 * Recovery points on a time axis, one lane per retention tag, each with a line to its expiry.
 * @param {RecoveryPoint[]} points  newest first
 * @param {Record<string, string | undefined>} retention  the policy's retention duration per tag
 * @param {Set<string>} onDemand  names of the points taken on demand
 */
export function timeline(points, retention, onDemand) {
  const current = now();
  const longest = Math.max(DAY, ...Object.values(retention).map(durationMs));
  const times = points.map((p) => Date.parse(p.properties.recoveryPointTime));
  const expiries = points.map((p) => Date.parse(p.properties.expiryTime ?? "")).filter(Number.isFinite);
  let start = Math.min(current - longest, ...times);
  let end = Math.max(current + DAY / 4, ...expiries);
  const pad = (end - start) * 0.02;
  start -= pad; end += pad;
  const lanes = LANES.filter((lane) => lane === "Default" || retention[lane] || points.some((p) => tagOf(p, onDemand) === lane));
  // Drawn at the width it is shown at, so its 12 px labels stay 12 px on a phone too.
  const W = Math.round(Math.min(960, Math.max(320, main.clientWidth - 28 || 960)));
  const left = W < 600 ? 78 : 92, right = 16, top = 14, laneH = 34, axisH = 34;
  const H = top + laneH * lanes.length + axisH;
  const x = (/** @type {number} */ ms) => left + ((ms - start) / (end - start)) * (W - left - right);
  const y = (/** @type {string} */ lane) => top + laneH * lanes.indexOf(lane) + laneH / 2;

  /** @type {number[]} */
  const ticks = [];
  const span = end - start;
  const step = [DAY / 4, DAY / 2, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY, 91 * DAY].find((s) => span / s <= Math.max(3, Math.floor(W / 120))) || 182 * DAY;
  const zone = new Date(start).getTimezoneOffset() * 60_000;
  for (let t = Math.ceil((start - zone) / step) * step + zone; t <= end; t += step) ticks.push(t);
  const tickText = (/** @type {number} */ t) => (step < DAY ? timeFormat.format(t) : shortDate.format(t));

  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "timeline-desc", "data-testid": "timeline" },
    h("svg:g", { class: "lane" }, lanes.map((lane) => [
      h("svg:line", { x1: left, x2: W - right, y1: y(lane), y2: y(lane), stroke: "#e3e7ec" }),
      h("svg:text", { x: 4, y: y(lane) + 4 }, lane),
    ])),
    h("svg:g", { class: "axis" }, ticks.map((t) => [
      h("svg:line", { x1: x(t), x2: x(t), y1: top, y2: H - axisH + 4 }),
      h("svg:text", { x: x(t), y: H - 10, "text-anchor": "middle" }, tickText(t)),
    ])),
    h("svg:g", { class: "now" },
      h("svg:line", { x1: x(current), x2: x(current), y1: 2, y2: H - axisH + 6 }),
      h("svg:text", { x: x(current) + 4, y: 11 }, "now")),
    h("svg:g", {}, points.map((p) => {
      const tag = tagOf(p, onDemand);
      const at = Date.parse(p.properties.recoveryPointTime);
      const expires = Date.parse(p.properties.expiryTime ?? "");
      const label = `${tag} recovery point of ${timeFormat.format(at)} (${utcText(at)})${Number.isFinite(expires) ? `, expires ${timeFormat.format(expires)}` : ""}${tag === "On-demand" ? `, kept as ${p.properties.retentionTagName}` : ""}`;
      return h("svg:g", { class: "rp", tabindex: "0", "data-id": p.name, "data-tag": tag, "aria-label": label },
        h("svg:title", {}, label),
        Number.isFinite(expires) ? [
          h("svg:line", { class: "life", x1: x(at), x2: x(expires), y1: y(tag), y2: y(tag), stroke: COLORS[tag] }),
          h("svg:line", { x1: x(expires), x2: x(expires), y1: y(tag) - 5, y2: y(tag) + 5, stroke: COLORS[tag], "stroke-width": 2 }),
        ] : null,
        marker(tag, x(at), y(tag)));
    })));
  const legend = h("ul", { class: "legend" }, lanes.map((lane) => h("li", {},
    h("svg:svg", { viewBox: "0 0 16 16", "aria-hidden": "true" }, marker(lane, 8, 8, 5)),
    `${lane}${retention[lane] ? ` (kept ${retentionText(retention[lane])})` : lane === "On-demand" ? " (kept as the tag chosen)" : ""}`)));
  return h("figure", { class: "timeline" }, legend, svg,
    h("figcaption", { id: "timeline-desc" }, `${points.length} recovery points from ${shortDate.format(Math.min(...times))} to ${shortDate.format(Math.max(...times))}; each line runs to the point's expiry (the tick at its end). The table below lists them.`));
}

/**
 * The points as a table: the timeline's text alternative.
 * @param {RecoveryPoint[]} points
 * @param {Set<string>} onDemand
 */
export function pointsTable(points, onDemand) {
  return h("details", {},
    h("summary", {}, `List of the ${points.length} recovery points`),
    h("div", { class: "table-wrap" }, h("table", { id: "points" },
      h("thead", {}, h("tr", {}, ["Taken", "Kind", "Retention tag", "Expires", "Id"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, points.map((p) => h("tr", { dataset: { id: p.name } },
        h("td", {}, timeEl(p.properties.recoveryPointTime)),
        h("td", {}, onDemand.has(p.name) ? "On-demand" : "Scheduled"),
        h("td", {}, p.properties.retentionTagName),
        h("td", {}, timeEl(p.properties.expiryTime)),
        h("td", { class: "mono" }, p.properties.friendlyName)))))));
}
