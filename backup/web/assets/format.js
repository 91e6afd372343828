// @ts-check
// Text for times, ages, ISO 8601 durations, counts and ARM ids.

import { now } from "./state.js";

export const DAY = 86_400_000;

/**
 * The last segment of an ARM id (a resource's name).
 * @param {string | null | undefined} id
 */
export const lastSegment = (id) => String(id || "").split("/").filter(Boolean).pop() || "";
/** @param {unknown} value */
export const lower = (value) => String(value ?? "").toLowerCase();
/**
 * The segment after ``name`` in an ARM id: ``armPart(id, "resourceGroups")``.
 * @param {string | null | undefined} id
 * @param {string} name
 * @returns {string | undefined}
 */
export function armPart(id, name) {
  const parts = String(id || "").split("/");
  const index = parts.findIndex((p) => p.toLowerCase() === name.toLowerCase());
  return index >= 0 ? parts[index + 1] : undefined;
}
/**
 * "1 job", "2 jobs".
 * @param {number} n
 * @param {string} word
 */
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

/** @param {number} ms */
export function utcText(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}
/**
 * "3 hours ago", "in 2 days", against the server's clock.
 * @param {number} ms
 */
export function ageText(ms) {
  const diff = ms - now();
  const abs = Math.abs(diff);
  /** @type {[Intl.RelativeTimeFormatUnit, number][]} */
  const units = [["day", DAY], ["hour", 3_600_000], ["minute", 60_000]];
  for (const [unit, size] of units) {
    if (abs >= size) return relative.format(Math.round(diff / size), unit);
  }
  return relative.format(Math.round(diff / 1000), "second");
}
/**
 * ISO 8601 duration to milliseconds (months 30 days, years 365: only for drawing).
 * @param {string | null | undefined} text
 */
export function durationMs(text) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(text || "");
  if (!m) return 0;
  const [y, mo, w, d, hh, mm, ss] = m.slice(1).map((v) => Number(v || 0));
  return ((((y * 365 + mo * 30 + w * 7 + d) * 24 + hh) * 60 + mm) * 60 + ss) * 1000;
}
/**
 * ``P7D`` -> "7 days", ``P12W`` -> "12 weeks" (as a policy writes retention).
 * @param {string | null | undefined} text
 */
export function retentionText(text) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/.exec(text || "");
  if (!m) return text || "";
  const words = ["year", "month", "week", "day"].map((unit, i) => {
    const n = Number(m[i + 1] || 0);
    return n ? `${n} ${unit}${n === 1 ? "" : "s"}` : null;
  }).filter(Boolean);
  return words.join(" ") || text;
}
/**
 * A job's ISO 8601 duration as "4 min 2 s".
 * @param {string | null | undefined} text
 */
export function durationText(text) {
  const ms = durationMs(text);
  if (!text) return "—";
  if (ms < 1000) return "under 1 s";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
