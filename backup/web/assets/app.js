// Backup Center: a page over the app's own Microsoft.DataProtection API (same origin).
// No framework and no build step: DOM built with h(), the one chart is hand-written SVG.
// Everything shown comes from the API; the page itself holds no data.

const API_VERSION = "2026-06-01";
const API_BASE = document.querySelector('meta[name="api-base"]')?.content ?? "/api";
const KEY_STORAGE = "backupcenter.functionsKey";
const PROVIDER = "/providers/Microsoft.DataProtection";
const MAX_PAGES = 50;
const POLL_MS = 1000;
const DAY = 86_400_000;

const main = document.getElementById("main");
const live = document.getElementById("live");

const state = {
  who: null, // whoami answer
  offset: 0, // server clock minus browser clock, ms
  sub: null,
  generation: 0, // bumps on every navigation, so late answers of an old view are dropped
  timers: new Set(),
};

// ---------------------------------------------------------------------------------------------
// small helpers

function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (!svg && key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const now = () => Date.now() + state.offset;
const lastSegment = (id) => String(id || "").split("/").filter(Boolean).pop() || "";
const lower = (value) => String(value ?? "").toLowerCase();
function armPart(id, name) {
  const parts = String(id || "").split("/");
  const index = parts.findIndex((p) => p.toLowerCase() === name.toLowerCase());
  return index >= 0 ? parts[index + 1] : undefined;
}
function announce(text) {
  live.textContent = "";
  setTimeout(() => { live.textContent = text; }, 30);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

function utcText(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}
/** A <time> in the browser's zone, UTC on hover. */
function timeEl(iso, text) {
  if (!iso) return h("span", { class: "small" }, "—");
  const ms = Date.parse(iso);
  return h("time", { datetime: iso, title: utcText(ms) }, text ?? timeFormat.format(ms));
}
function ageText(ms) {
  const diff = ms - now();
  const abs = Math.abs(diff);
  const units = [["day", DAY], ["hour", 3_600_000], ["minute", 60_000]];
  for (const [unit, size] of units) {
    if (abs >= size) return relative.format(Math.round(diff / size), unit);
  }
  return relative.format(Math.round(diff / 1000), "second");
}
function ageEl(iso) {
  if (!iso) return h("span", { class: "small" }, "never");
  return timeEl(iso, ageText(Date.parse(iso)));
}
/** ISO 8601 duration to milliseconds (months 30 days, years 365: only for drawing). */
function durationMs(text) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(text || "");
  if (!m) return 0;
  const [y, mo, w, d, hh, mm, ss] = m.slice(1).map((v) => Number(v || 0));
  return ((((y * 365 + mo * 30 + w * 7 + d) * 24 + hh) * 60 + mm) * 60 + ss) * 1000;
}
/** ``P7D`` -> "7 days", ``P12W`` -> "12 weeks" (as a policy writes retention). */
function retentionText(text) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/.exec(text || "");
  if (!m) return text || "";
  const words = ["year", "month", "week", "day"].map((unit, i) => {
    const n = Number(m[i + 1] || 0);
    return n ? `${n} ${unit}${n === 1 ? "" : "s"}` : null;
  }).filter(Boolean);
  return words.join(" ") || text;
}
function durationText(text) {
  const ms = durationMs(text);
  if (!text) return "—";
  if (ms < 1000) return "under 1 s";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// ---------------------------------------------------------------------------------------------
// the API

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

function functionsKey() {
  try { return sessionStorage.getItem(KEY_STORAGE); } catch { return null; }
}

/** fetch a path of this origin (``/api/...``); throws ApiError with the ARM error body. */
async function request(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const key = functionsKey();
  if (key) headers["x-functions-key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "NetworkError", `The app did not answer (${error.message}). Check that the function app is running and reachable, then retry.`);
  }
  const text = await response.text();
  let json = null;
  if (text) { try { json = JSON.parse(text); } catch { json = null; } }
  if (!response.ok) {
    const error = json && json.error ? json.error : {};
    const code = error.code || `HTTP${response.status}`;
    const message = error.message || (response.status === 401
      ? "The app wants a function key or a signed-in session."
      : `The app answered ${response.status} ${response.statusText}.`);
    throw new ApiError(response.status, code, message, error.details);
  }
  return { status: response.status, headers: response.headers, body: json };
}

/** An ARM path (``/subscriptions/...``) with the api-version and optional query. */
function armUrl(path, query = {}) {
  const params = new URLSearchParams({ "api-version": API_VERSION, ...query });
  return `${API_BASE}${path}?${params}`;
}
const arm = (path, options) => request(armUrl(path, options?.query), options);
/** Same-origin path and query of an absolute URL the API gave (nextLink, Location). */
function localPath(url) {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}
async function listAll(path, query) {
  const items = [];
  let next = armUrl(path, query);
  for (let page = 0; next && page < MAX_PAGES; page += 1) {
    const { body } = await request(next);
    items.push(...(body?.value || []));
    next = body?.nextLink ? localPath(body.nextLink) : null;
  }
  return items;
}
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const odata = (value) => `'${String(value).replace(/'/g, "''")}'`;

async function listVaults() {
  return listAll(`/subscriptions/${state.sub}${PROVIDER}/backupVaults`);
}
async function listJobs(vaultId, clauses) {
  const filter = clauses.filter(Boolean).join(" and ");
  return listAll(`${vaultId}/backupJobs`, filter ? { $filter: filter } : {});
}
async function listInstances(filter) {
  return listAll(`/subscriptions/${state.sub}${PROVIDER}/backupInstances`, filter ? { $filter: filter } : {});
}

/** After a 202: the operation's result (``{jobId}``), read where ``Location`` points. */
async function operationResult(answer) {
  const location = answer.headers.get("Location");
  if (!location) return {};
  const { body } = await request(localPath(location));
  return body || {};
}

// ---------------------------------------------------------------------------------------------
// words for codes

const STATES = {
  ProtectionConfigured: ["Protected", "ok"],
  BackupSchedulesSuspended: ["Suspended", "warn"],
  ProtectionStopped: ["Stopped", "idle"],
  ConfiguringProtection: ["Configuring", "idle"],
  ConfiguringProtectionFailed: ["Configuration failed", "bad"],
  ProtectionError: ["Protection error", "bad"],
  RetentionSchedulesSuspended: ["Retention suspended", "warn"],
  UpdatingProtection: ["Updating", "idle"],
  SoftDeleting: ["Deleting", "idle"],
  SoftDeleted: ["Deleted", "idle"],
};
const HEALTH = { Healthy: "ok", Unhealthy: "bad", Inactive: "idle" };
const JOB_STATUS = { Completed: "ok", CompletedWithWarnings: "warn", Failed: "bad", InProgress: "idle" };
const OPERATIONS = {
  ScheduledBackup: "Scheduled backup",
  OnDemandBackup: "On-demand backup",
  Restore: "Restore",
  RetentionDeletion: "Retention deletion",
};
const HINTS = {
  UserErrorSameNameDiskAlreadyExists: "A disk with this name already exists in the target resource group. Choose another disk name (restores never overwrite a disk).",
  UserErrorRestoreTargetRGNotFound: "The target resource group does not exist. Create it first or pick an existing one.",
  UserErrorNotEnoughPermissionOnTargetRG: "The app's identity may not create disks in the target resource group: give it the 'Disk Restore Operator' role there.",
  UserErrorNotEnoughPermissionOnSnapshotRG: "The app's identity lost its role on the snapshot resource group: give it 'Disk Snapshot Contributor' there.",
  UserErrorRecoveryPointNotFound: "That recovery point no longer exists (it may have expired). Pick another one.",
  UserErrorDiskSnapshotNotFound: "The snapshot behind this recovery point is gone from Azure. Pick another recovery point.",
  UserErrorRestoreLocationMismatch: "A disk can only be restored in the region of its snapshot.",
  UserErrorSnapshotCopyInProgress: "The snapshot is still being copied in Azure. Try again in a few minutes.",
  UserErrorSubscriptionDiskQuotaLimitReached: "The subscription's disk quota is reached. Free some quota or ask for more.",
  RestoreDailyLimitReached: "This instance already had 10 restores in the last 24 hours.",
  OnDemandBackupDailyLimitReached: "This instance already had 10 on-demand backups in the last 24 hours.",
  OnDemandRecoveryPointLimitReached: "This instance holds 50 on-demand recovery points, the most allowed. Wait for some to expire.",
  UserErrorBackupInstanceNotProtected: "Backups are stopped or suspended for this instance. Resume protection first.",
  AuthorizationFailed: "Your account does not have the app role this needs. Ask an administrator of the app registration.",
  InvalidResourceName: "Check the name: letters, digits, '_', '-' and '.', at most 80 characters.",
  InvalidResourceGroupName: "Check the resource group name.",
};
function errorWords(error) {
  const hint = HINTS[error.code];
  return h("div", {},
    hint ? h("p", {}, h("strong", {}, hint)) : null,
    h("p", {}, error.message),
    h("p", { class: "small" }, `Code: ${error.code}${error.status ? ` (HTTP ${error.status})` : ""}`));
}

/** A label and its control, side by side in the DOM so the label alone names the control. */
function field(id, text, control) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

function badge(text, tone) {
  return h("span", { class: `badge ${tone || "idle"}` }, text);
}
function stateBadge(value) {
  const [text, tone] = STATES[value] || [value || "Unknown", "idle"];
  return badge(text, tone);
}

// ---------------------------------------------------------------------------------------------
// navigation: everything the view shows is in the URL's query

function params() { return new URLSearchParams(location.search); }
function hrefWith(changes, base = params()) {
  const next = new URLSearchParams(base);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(key);
    else next.set(key, value);
  }
  if (state.sub) next.set("subscription", state.sub);
  return `?${next}`;
}
function navigate(changes, { replace = false, fresh = false } = {}) {
  const href = fresh ? hrefWith(changes, new URLSearchParams()) : hrefWith(changes);
  history[replace ? "replaceState" : "pushState"](null, "", href);
  route();
}
function link(text, changes, attrs = {}) {
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
window.addEventListener("popstate", () => route());

function clearTimers() {
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
}
function later(fn, ms) {
  const timer = setTimeout(() => { state.timers.delete(timer); fn(); }, ms);
  state.timers.add(timer);
}

function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false));
}
function loading(text) {
  main.setAttribute("aria-busy", "true");
  show(h("p", { class: "state", role: "status" }, text));
}
function failure(error, retry) {
  main.removeAttribute("aria-busy");
  if (error.status === 401) return askForKey(error);
  const what = {
    0: "Check that the function app is running, then retry.",
    403: "Your account can sign in but has none of the app roles this page needs (BackupReader, BackupOperator or RestoreOperator). Ask an administrator to assign one in Enterprise applications, then reload.",
    404: "It may have been deleted. Go back to the overview.",
  }[error.status] || "Retry; if it keeps failing, the app's logs (Application Insights) have the request id.";
  show(h("div", { class: "state error", role: "alert" },
    h("p", {}, h("strong", {}, "Backup Center could not load this view.")),
    errorWords(error),
    h("p", {}, what),
    h("p", {}, h("button", { type: "button", class: "primary", onclick: retry || (() => route()) }, "Retry"),
      " ", link("Back to overview", { view: "overview" }))));
}

// ---------------------------------------------------------------------------------------------
// start: who is calling, which subscription

function renderWho() {
  const box = document.getElementById("who");
  const who = state.who;
  if (!who) { box.replaceChildren(); return; }
  const roles = who.roles.length ? who.roles.join(", ") : "no app role";
  box.replaceChildren(...[
    h("span", { "data-testid": "principal" }, who.authenticated ? who.principalName : "Function key"),
    h("span", { class: "roles", "data-testid": "roles" }, `(${roles})`),
    state.sub ? h("span", { class: "mono", title: "Subscription" }, state.sub) : null,
    functionsKey() ? h("button", { type: "button", onclick: forgetKey }, "Forget key") : null,
  ].filter(Boolean));
  for (const a of document.querySelectorAll("#nav a")) {
    const view = a.dataset.view;
    a.href = hrefWith({ view }, new URLSearchParams());
    const current = (params().get("view") || "overview") === view || (view === "overview" && params().get("view") === "instance");
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    a.onclick = (event) => { event.preventDefault(); navigate({ view }, { fresh: true }); };
  }
}
function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.who = null;
  start();
}
const can = (role) => Boolean(state.who && state.who.roles.includes(role));

function askForKey(error) {
  state.who = null;
  renderWho();
  const input = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true, size: 48 });
  const form = h("form", {
    class: "inline",
    onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, input.value.trim());
      start();
    },
  }, field("key", "Function key", input), h("button", { type: "submit", class: "primary" }, "Use this key"));
  const tried = functionsKey();
  show(h("section", { class: "state", "aria-labelledby": "key-title" },
    h("h1", { id: "key-title" }, "Sign in to Backup Center"),
    tried ? h("p", { role: "alert" }, h("strong", {}, "The app refused that key. "), error.message) : null,
    h("p", {}, "The API needs a Functions key (a host key of the function app: ",
      h("span", { class: "mono" }, "az functionapp keys list -g <group> -n <app>"),
      "). It is kept in this browser tab only, until the tab closes."),
    form,
    h("p", {}, "If the app uses Microsoft Entra ID sign-in instead, ",
      h("a", { href: `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(location.pathname + location.search)}` }, "sign in with your organisation account"),
      ".")));
  input.focus();
}

async function start() {
  clearTimers();
  loading("Loading Backup Center…");
  try {
    const { body } = await request(`${API_BASE}/backupcenter/whoami`);
    state.who = body;
    state.offset = Date.parse(body.now) - Date.now();
  } catch (error) {
    failure(error, start);
    return;
  }
  route();
}

function chooseSubscription() {
  const subs = state.who.subscriptions || [];
  const input = h("input", { id: "sub", name: "subscription", required: true, size: 40, pattern: "[0-9a-fA-F-]{36}", placeholder: "00000000-0000-0000-0000-000000000000" });
  show(h("section", { "aria-labelledby": "sub-title" },
    h("h1", { id: "sub-title" }, "Choose a subscription"),
    subs.length
      ? h("ul", {}, subs.map((sub) => h("li", {}, h("a", { href: `?subscription=${sub}`, class: "mono" }, sub))))
      : h("div", { class: "state" },
        h("p", {}, h("strong", {}, "No backup vault exists yet.")),
        h("p", {}, "Create a vault, a policy and a backup instance with the API (README, “Protect a disk”), or enter the subscription you expect below.")),
    h("form", { class: "inline", onsubmit: (event) => { event.preventDefault(); state.sub = input.value.trim().toLowerCase(); navigate({ view: "overview" }, { fresh: true }); } },
      field("sub", "Subscription id", input), h("button", { type: "submit", class: "primary" }, "Open"))));
}

function route() {
  clearTimers();
  state.generation += 1;
  if (!state.who) { start(); return; }
  const query = params();
  state.sub = (query.get("subscription") || "").toLowerCase() || null;
  if (!state.sub && state.who.subscriptions.length === 1) {
    state.sub = state.who.subscriptions[0];
    history.replaceState(null, "", hrefWith({}));
  }
  renderWho();
  if (!state.who.roles.length) {
    show(h("div", { class: "state error", role: "alert" },
      h("p", {}, h("strong", {}, `Signed in as ${state.who.principalName}, without an app role.`)),
      h("p", {}, "Backup Center shows data to holders of BackupReader, BackupOperator or RestoreOperator. Ask an administrator to assign one to you (Enterprise applications → the app → Users and groups), then sign in again.")));
    return;
  }
  if (!state.sub) { chooseSubscription(); return; }
  const view = query.get("view") || "overview";
  if (view === "instance" && query.get("id")) instanceView(query.get("id"));
  else if (view === "jobs") jobsView();
  else overviewView();
}

// ---------------------------------------------------------------------------------------------
// overview: tiles and the instances table

const summaryOf = (item) => item.properties.backupSummary || {};
const diskOf = (item) => item.properties.dataSourceInfo?.resourceName || item.properties.friendlyName || item.name;
const policyOf = (item) => lastSegment(item.properties.policyInfo?.policyId);
const isProtected = (item) => item.properties.currentProtectionState === "ProtectionConfigured";

function healthReason(item) {
  const summary = summaryOf(item);
  const error = item.properties.protectionErrorDetails;
  if (summary.health === "Unhealthy") {
    const failures = summary.consecutiveFailures;
    return `${error?.message || summary.lastErrorCode || "Backups are failing."}${failures ? ` (${failures} failed in a row; ${summary.lastErrorCode})` : ""}`;
  }
  if (summary.health === "Inactive") {
    return { ProtectionStopped: "Protection stopped: no new backups.", BackupSchedulesSuspended: "Backups suspended: retention goes on." }[item.properties.currentProtectionState] || "No scheduled backups.";
  }
  if (!summary.lastBackupTime) return "No backup yet.";
  return "";
}

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
const FILTER_KEYS = ["vault", "health", "state", "q", "failed", "points", "tile"];

function tileValues(instances, failedJobs) {
  const protectedOnes = instances.filter(isProtected);
  const backed = protectedOnes.filter((i) => summaryOf(i).lastBackupTime)
    .sort((a, b) => Date.parse(summaryOf(a).lastBackupTime) - Date.parse(summaryOf(b).lastBackupTime));
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

async function overviewView() {
  const generation = state.generation;
  loading("Loading backup instances…");
  let instances, failedJobs;
  try {
    const since = new Date(now() - DAY).toISOString();
    const vaultsPromise = listVaults();
    [instances, failedJobs] = await Promise.all([
      listInstances(),
      vaultsPromise.then((vaults) => Promise.all(vaults.map((v) => listJobs(v.id, ["status eq 'Failed'", `startTime ge ${odata(since)}`])))).then((lists) => lists.flat()),
    ]);
  } catch (error) {
    if (generation === state.generation) failure(error);
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
      h("p", {}, "Create a backup vault and a policy, then a backup instance for each disk (PUT .../backupInstances/{name}); see “Protect a disk” in the README. They appear here as soon as they exist."),
      h("p", {}, h("button", { type: "button", onclick: () => route() }, "Reload"))));
    return;
  }

  const query = params();
  const tiles = h("div", { class: "tiles", role: "group", "aria-label": "Summary; each tile filters the table" },
    TILES.map((tile) => {
      const active = query.get("tile") === tile.key;
      const value = values[tile.key];
      return h("button", {
        type: "button",
        class: `tile ${tile.tone}`,
        "aria-pressed": String(active),
        dataset: { tile: tile.key },
        onclick: (event) => {
          const clear = Object.fromEntries([...FILTER_KEYS, "sort", "dir"].map((k) => [k, null]));
          const pressed = event.currentTarget.getAttribute("aria-pressed") === "true";
          updateFilters(pressed ? clear : { ...clear, ...tile.filter, tile: tile.key });
        },
      },
      h("span", { class: "tile-label" }, tile.label),
      h("span", { class: "tile-value", "data-value": tile.key === "oldest" ? value.iso || "" : String(value.value) }, value.value),
      value.note ? h("span", { class: "tile-note" }, value.note) : null);
    }));

  const vaults = [...new Set(instances.map((i) => summaryOf(i).vaultName))].sort();
  const states = [...new Set(instances.map((i) => i.properties.currentProtectionState))].sort();
  const select = (id, label, options, key) => {
    const el = h("select", { id, name: key, onchange: () => updateFilters({ [key]: el.value, tile: null }) },
      h("option", { value: "" }, "All"),
      options.map(([value, text]) => h("option", { value, selected: query.get(key) === value }, text)));
    return field(id, label, el);
  };
  const search = h("input", { id: "q", type: "search", name: "q", value: query.get("q") || "", placeholder: "Disk, vault, policy, error…", oninput: () => updateFilters({ q: search.value, tile: null }, true) });
  const filters = h("div", { class: "filters", role: "search", "aria-label": "Filter instances" },
    select("f-vault", "Vault", vaults.map((v) => [v, v]), "vault"),
    select("f-health", "Health", ["Healthy", "Unhealthy", "Inactive"].map((v) => [v, v]), "health"),
    select("f-state", "Protection state", states.map((s) => [s, (STATES[s] || [s])[0]]), "state"),
    field("q", "Search", search),
    h("span", { id: "extra-filters" }),
    h("button", { type: "button", onclick: () => updateFilters(Object.fromEntries([...FILTER_KEYS, "sort", "dir"].map((k) => [k, null]))) }, "Clear filters"));

  const tableBox = h("div", {});
  show(h("h1", {}, "Overview"), tiles, h("h2", { id: "instances-title" }, "Backup instances"), filters, tableBox);

  function updateFilters(changes, typing = false) {
    const href = hrefWith(changes);
    history[typing ? "replaceState" : "pushState"](null, "", href);
    syncControls();
    renderTable();
  }

  /** Tiles, selects, search box and the extra filter chips as the URL says. */
  function syncControls() {
    const q = params();
    for (const el of tiles.querySelectorAll(".tile")) el.setAttribute("aria-pressed", String(q.get("tile") === el.dataset.tile));
    for (const key of ["vault", "health", "state"]) {
      const el = filters.querySelector(`select[name="${key}"]`);
      if (el) el.value = q.get(key) || "";
    }
    if (search.value !== (q.get("q") || "")) search.value = q.get("q") || "";
    const chips = [];
    if (q.get("failed")) chips.push(["failed", "with a failed job in the last 24 hours"]);
    if (q.get("points")) chips.push(["points", "holding recovery points"]);
    filters.querySelector("#extra-filters").replaceChildren(...chips.map(([key, text]) =>
      h("button", { type: "button", "aria-label": `Remove filter: only instances ${text}`, onclick: () => updateFilters({ [key]: null, tile: null }) }, `Only ${text} ✕`)));
  }

  function renderTable() {
    const q = params();
    const text = lower(q.get("q")).trim();
    let rows = instances.filter((item) => {
      const s = summaryOf(item);
      if (q.get("vault") && s.vaultName !== q.get("vault")) return false;
      if (q.get("health") && s.health !== q.get("health")) return false;
      if (q.get("state") && item.properties.currentProtectionState !== q.get("state")) return false;
      if (q.get("failed") && !failedIds.has(lower(item.id))) return false;
      if (q.get("points") && !(s.recoveryPointCount > 0)) return false;
      if (text) {
        const hay = lower([diskOf(item), item.name, s.vaultName, policyOf(item), s.policyDescription, s.lastErrorCode, item.properties.dataSourceInfo?.resourceID].join(" "));
        if (!hay.includes(text)) return false;
      }
      return true;
    });
    const sort = q.get("sort") || "disk";
    const dir = q.get("dir") === "desc" ? -1 : 1;
    const column = COLUMNS.find((c) => c.key === sort) || COLUMNS[0];
    rows = rows.sort((a, b) => COLUMNS[0].value(a).localeCompare(COLUMNS[0].value(b))).map((item, index) => [item, index]).sort(([a, ia], [b, ib]) => {
      const va = column.value(a), vb = column.value(b);
      if (va === null && vb === null) return ia - ib;
      if (va === null) return 1; // nothing known sorts last either way
      if (vb === null) return -1;
      return va < vb ? -dir : va > vb ? dir : ia - ib; // ties keep the disk order
    }).map(([item]) => item);

    const head = h("tr", {}, COLUMNS.map((c) => h("th", {
      scope: "col",
      class: c.num ? "num" : null,
      "aria-sort": c.key === column.key ? (dir === 1 ? "ascending" : "descending") : null,
      dataset: { col: c.key },
    }, h("button", {
      type: "button",
      class: "sort",
      onclick: () => {
        updateFilters({ sort: c.key, dir: c.key === column.key && dir === 1 ? "desc" : "asc" });
        tableBox.querySelector(`th[data-col="${c.key}"] button`)?.focus();
      },
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
        h("td", { dataset: { health: s.health || "" } }, badge(s.health || "Unknown", HEALTH[s.health]), reason ? h("span", { class: "reason" }, reason) : null),
        h("td", {}, ageEl(s.lastBackupTime)),
        h("td", {}, s.nextScheduledBackupTime ? timeEl(s.nextScheduledBackupTime) : h("span", { class: "small" }, "none scheduled")),
        h("td", { class: "num" }, String(s.recoveryPointCount ?? 0)));
    });
    tableBox.replaceChildren(
      h("p", { class: "count", role: "status", "data-testid": "row-count" }, `${rows.length} of ${instances.length} instances`),
      rows.length
        ? h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "instances-title", id: "instances" }, h("thead", {}, head), h("tbody", {}, body)))
        : h("div", { class: "state" }, h("p", {}, "No instance matches these filters. "), h("button", { type: "button", onclick: () => updateFilters(Object.fromEntries(FILTER_KEYS.map((k) => [k, null]))) }, "Clear filters")));
  }
  syncControls();
  renderTable();
}

const COLUMNS = [
  { key: "disk", label: "Disk", value: (i) => lower(diskOf(i)) },
  { key: "vault", label: "Vault", value: (i) => lower(summaryOf(i).vaultName) },
  { key: "policy", label: "Policy", value: (i) => lower(policyOf(i)) },
  { key: "state", label: "Protection state", value: (i) => (STATES[i.properties.currentProtectionState] || [i.properties.currentProtectionState])[0] },
  { key: "health", label: "Health", value: (i) => summaryOf(i).health || null },
  { key: "last", label: "Last successful backup", value: (i) => (summaryOf(i).lastBackupTime ? Date.parse(summaryOf(i).lastBackupTime) : null) },
  { key: "next", label: "Next backup", value: (i) => (summaryOf(i).nextScheduledBackupTime ? Date.parse(summaryOf(i).nextScheduledBackupTime) : null) },
  { key: "points", label: "Recovery points", num: true, value: (i) => summaryOf(i).recoveryPointCount ?? 0 },
];

// ---------------------------------------------------------------------------------------------
// one instance: facts, timeline, jobs, actions

async function instanceView(id) {
  const generation = state.generation;
  loading("Loading the backup instance…");
  const vaultId = id.split("/backupInstances/")[0];
  const vaultName = lastSegment(vaultId);
  const name = lastSegment(id);
  let item, policy, points, jobs;
  try {
    const [summaries, pointList, jobList] = await Promise.all([
      listInstances(`vaultName eq ${odata(vaultName)}`),
      listAll(`${id}/recoveryPoints`),
      listJobs(vaultId, [`backupInstanceName eq ${odata(name)}`]),
    ]);
    item = summaries.find((candidate) => lower(candidate.id) === lower(id));
    if (!item) throw new ApiError(404, "ResourceNotFound", `The backup instance '${name}' was not found in vault '${vaultName}'.`);
    policy = (await arm(item.properties.policyInfo.policyId)).body;
    points = pointList;
    jobs = jobList;
  } catch (error) {
    if (generation === state.generation) failure(error);
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  const s = summaryOf(item);
  const disk = diskOf(item);
  document.title = `${disk} · Backup Center`;
  const onDemand = new Set(jobs.filter((j) => j.properties.operation === "OnDemandBackup")
    .map((j) => j.properties.extendedInfo?.additionalDetails?.RecoveryPointId).filter(Boolean));
  const rules = policy.properties?.policyRules || [];
  const backupRule = rules.find((r) => r.objectType === "AzureBackupRule");
  const retention = Object.fromEntries(rules.filter((r) => r.objectType === "AzureRetentionRule")
    .map((r) => [r.name, r.lifecycles?.[0]?.deleteAfter?.duration]));
  points.sort((a, b) => Date.parse(b.properties.recoveryPointTime) - Date.parse(a.properties.recoveryPointTime));

  const fact = (label, ...value) => h("div", {}, h("dt", {}, label), h("dd", {}, ...value));
  const reason = healthReason(item);
  const facts = h("dl", { class: "facts" },
    fact("Disk", h("span", { class: "mono" }, item.properties.dataSourceInfo?.resourceID || "")),
    fact("Vault", s.vaultName, h("span", { class: "reason" }, `resource group ${armPart(vaultId, "resourceGroups")}`)),
    fact("Policy", policyOf(item), h("span", { class: "reason" }, s.policyDescription || "")),
    fact("Protection state", stateBadge(item.properties.currentProtectionState)),
    fact("Health", badge(s.health || "Unknown", HEALTH[s.health]), reason ? h("span", { class: "reason" }, reason) : null),
    fact("Last successful backup", ageEl(s.lastBackupTime)),
    fact("Next scheduled backup", s.nextScheduledBackupTime ? timeEl(s.nextScheduledBackupTime) : "none scheduled"),
    fact("Recovery points", String(points.length)));

  const actions = [];
  if (can("BackupOperator")) actions.push(backupAction(item, backupRule, Object.keys(retention)));
  if (can("RestoreOperator")) actions.push(restoreAction(item, points));
  const reload = () => { if (generation === state.generation) route(); };

  show(
    h("p", { class: "sub" }, link("← Overview", { view: "overview" })),
    h("h1", {}, disk, " ", h("span", { class: "sub" }, `(${name})`)),
    facts,
    actions.length ? [h("h2", {}, "Actions"), h("div", { class: "actions", "data-testid": "actions" }, actions)] : null,
    h("h2", { id: "timeline-title" }, "Recovery points"),
    points.length ? timeline(points, retention, onDemand) : h("div", { class: "state" }, h("p", {}, "No recovery point yet. ",
      isProtected(item) ? "The first appears after the next scheduled backup" : "Protection is not active, so none will be taken",
      can("BackupOperator") && isProtected(item) ? ", or take one now with “Back up now”." : ".")),
    points.length ? pointsTable(points, onDemand) : null,
    h("h2", { id: "jobs-title" }, "Recent jobs"),
    jobs.length ? jobsTable(jobs.slice(0, 20), { instanceColumn: false, labelledBy: "jobs-title" }) : h("div", { class: "state" }, h("p", {}, "No job yet for this instance.")));
  state.reloadInstance = reload;
}

function tagOf(point, onDemand) {
  return onDemand.has(point.name) ? "On-demand" : point.properties.retentionTagName || "Default";
}
const LANES = ["Weekly", "Daily", "Default", "On-demand"];
const COLORS = { Weekly: "#6b2fa3", Daily: "#0b6e69", Default: "#0b5cad", "On-demand": "#a4461a" };
function marker(tag, x, y, r = 6) {
  const fill = COLORS[tag];
  if (tag === "Daily") return h("svg:rect", { class: "mark", x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill });
  if (tag === "Weekly") return h("svg:path", { class: "mark", d: `M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}Z`, fill });
  if (tag === "On-demand") return h("svg:path", { class: "mark", d: `M${x} ${y - r - 1}L${x + r + 1} ${y + r}L${x - r - 1} ${y + r}Z`, fill });
  return h("svg:circle", { class: "mark", cx: x, cy: y, r, fill });
}

/** Recovery points on a time axis, one lane per retention tag, each with a line to its expiry. */
function timeline(points, retention, onDemand) {
  const current = now();
  const longest = Math.max(DAY, ...Object.values(retention).map(durationMs));
  const times = points.map((p) => Date.parse(p.properties.recoveryPointTime));
  const expiries = points.map((p) => Date.parse(p.properties.expiryTime)).filter(Number.isFinite);
  let start = Math.min(current - longest, ...times);
  let end = Math.max(current + DAY / 4, ...expiries);
  const pad = (end - start) * 0.02;
  start -= pad; end += pad;
  const lanes = LANES.filter((lane) => lane === "Default" || retention[lane] || points.some((p) => tagOf(p, onDemand) === lane));
  const W = 960, left = 92, right = 16, top = 14, laneH = 34, axisH = 34;
  const H = top + laneH * lanes.length + axisH;
  const x = (ms) => left + ((ms - start) / (end - start)) * (W - left - right);
  const y = (lane) => top + laneH * lanes.indexOf(lane) + laneH / 2;

  const ticks = [];
  const span = end - start;
  const step = [DAY / 4, DAY / 2, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY, 91 * DAY].find((s) => span / s <= 8) || 182 * DAY;
  const zone = new Date(start).getTimezoneOffset() * 60_000;
  for (let t = Math.ceil((start - zone) / step) * step + zone; t <= end; t += step) ticks.push(t);
  const tickText = (t) => (step < DAY ? timeFormat.format(t) : shortDate.format(t));

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
      const expires = Date.parse(p.properties.expiryTime);
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

function pointsTable(points, onDemand) {
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

function jobsTable(jobs, { instanceColumn = true, labelledBy } = {}) {
  const head = ["Started", instanceColumn ? "Instance" : null, instanceColumn ? "Vault" : null, "Operation", "Status", "Duration", "Details"].filter(Boolean);
  return h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": labelledBy, class: "jobs" },
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, jobs.map((job) => {
      const p = job.properties;
      const error = (p.errorDetails || [])[0];
      const progress = p.extendedInfo?.additionalDetails?.ProgressPercent;
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
      return h("tr", { dataset: { job: job.name, status: p.status, operation: p.operation } },
        h("td", {}, timeEl(p.startTime)),
        instanceColumn ? h("td", {}, link(p.dataSourceName || p.backupInstanceFriendlyName, { view: "instance", id: p.backupInstanceId })) : null,
        instanceColumn ? h("td", {}, p.vaultName) : null,
        h("td", {}, OPERATIONS[p.operation] || p.operation),
        h("td", {}, status),
        h("td", {}, durationText(p.duration)),
        h("td", {}, details));
    }))));
}

/** Poll a job until it ends; ``onUpdate(job)`` after each read. */
async function followJob(vaultId, jobId, onUpdate, generation) {
  for (;;) {
    const { body } = await arm(`${vaultId}/backupJobs/${jobId}`);
    onUpdate(body);
    if (body.properties.status !== "InProgress") return body;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (generation !== state.generation) return null;
  }
}

function outcome(box, tone, ...content) {
  box.className = `outcome ${tone || ""}`;
  box.hidden = false;
  box.setAttribute("role", tone === "bad" ? "alert" : "status");
  box.replaceChildren(...content);
}
function jobLine(job) {
  const p = job.properties;
  const progress = p.extendedInfo?.additionalDetails?.ProgressPercent;
  return h("span", {}, badge(p.status, JOB_STATUS[p.status]), " ",
    p.status === "InProgress" && progress !== undefined ? h("progress", { max: "100", value: progress, "aria-label": `${progress}% done` }) : null,
    ` ${OPERATIONS[p.operation] || p.operation} job, ${durationText(p.duration)}`);
}

function backupAction(item, backupRule, tags) {
  const generation = state.generation;
  const tag = h("select", { id: "backup-tag", name: "retentionTag" }, (tags.length ? tags : ["Default"]).map((t) => h("option", { value: t }, t)));
  const button = h("button", { type: "submit", class: "primary" }, "Back up now");
  const box = h("div", { class: "outcome", hidden: true, "data-testid": "backup-outcome" });
  const vaultId = item.id.split("/backupInstances/")[0];
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      outcome(box, "", "Asking for a backup…");
      try {
        const answer = await arm(`${item.id}/backup`, {
          method: "POST",
          body: { objectType: "TriggerBackupRequest", backupRuleOptions: { ruleName: backupRule?.name || "BackupHourly", triggerOption: { retentionTagOverride: tag.value } } },
        });
        const { jobId } = await operationResult(answer);
        const job = await followJob(vaultId, jobId, (j) => outcome(box, "", jobLine(j)), generation);
        if (!job) return;
        if (job.properties.status.startsWith("Completed")) {
          outcome(box, "ok", "Backup completed: a new recovery point was added.");
          announce("Backup completed.");
          later(() => state.reloadInstance && state.reloadInstance(), 800);
        } else {
          const error = (job.properties.errorDetails || [])[0] || {};
          outcome(box, "bad", errorWords(new ApiError(0, error.code || "BackupFailed", error.message || "The backup failed.")));
        }
      } catch (error) {
        outcome(box, "bad", errorWords(error));
      } finally {
        button.disabled = false;
      }
    },
  },
  h("p", { class: "small" }, isProtected(item) ? "Takes an incremental snapshot now, kept as long as the retention tag you choose." : "Backups are not active for this instance; the API will refuse."),
  field("backup-tag", "Keep it as (retention tag)", tag),
  h("div", {}, button));
  return h("section", { class: "action", "aria-labelledby": "backup-title" }, h("h3", { id: "backup-title" }, "On-demand backup"), form, box);
}

function restoreAction(item, points) {
  const generation = state.generation;
  const source = item.properties.dataSourceInfo || {};
  const sourceId = source.resourceID || "";
  const subscription = armPart(sourceId, "subscriptions") || state.sub;
  const location = source.resourceLocation;
  const stamp = new Date(now()).toISOString().slice(0, 16).replace(/[-:T]/g, "");
  const point = h("select", { id: "restore-point", name: "recoveryPoint", required: true },
    points.map((p) => h("option", { value: p.name }, `${timeFormat.format(Date.parse(p.properties.recoveryPointTime))} · ${p.properties.retentionTagName}`)));
  const group = h("input", { id: "restore-group", name: "resourceGroup", required: true, value: armPart(sourceId, "resourceGroups") || "", autocomplete: "off" });
  const diskName = h("input", { id: "restore-disk", name: "diskName", required: true, maxlength: 80, value: `${source.resourceName || "disk"}-restored-${stamp}`.slice(0, 80), autocomplete: "off" });
  const button = h("button", { type: "submit", class: "primary", disabled: !points.length }, "Validate and restore");
  const box = h("div", { class: "outcome", hidden: true, "data-testid": "restore-outcome" });
  const vaultId = item.id.split("/backupInstances/")[0];
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const rg = group.value.trim(), name = diskName.value.trim();
      const target = `/subscriptions/${subscription}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${name}`;
      const body = {
        objectType: "AzureBackupRecoveryPointBasedRestoreRequest",
        recoveryPointId: point.value,
        sourceDataStoreType: "OperationalStore",
        restoreTargetInfo: {
          objectType: "RestoreTargetInfo",
          recoveryOption: "FailIfExists",
          restoreLocation: location,
          datasourceInfo: { objectType: "Datasource", datasourceType: "Microsoft.Compute/disks", resourceID: target, resourceName: name, resourceType: "Microsoft.Compute/disks", resourceLocation: location },
        },
      };
      button.disabled = true;
      outcome(box, "", "Checking the restore (validateRestore)…");
      try {
        await arm(`${item.id}/validateRestore`, { method: "POST", body: { objectType: "ValidateRestoreRequestObject", restoreRequestObject: body } });
      } catch (error) {
        outcome(box, "bad", h("p", {}, h("strong", {}, "The restore cannot start.")), errorWords(error));
        button.disabled = false;
        return;
      }
      try {
        outcome(box, "", "Valid. Starting the restore…");
        const answer = await arm(`${item.id}/restore`, { method: "POST", body });
        const { jobId } = await operationResult(answer);
        const job = await followJob(vaultId, jobId, (j) => outcome(box, "", jobLine(j)), generation);
        if (!job) return;
        if (job.properties.status.startsWith("Completed")) {
          outcome(box, "ok", h("p", {}, h("strong", {}, `Restore completed: disk ${name} created in resource group ${rg}.`)), h("p", { class: "mono" }, target));
          announce(`Restore completed: disk ${name} created.`);
        } else {
          const error = (job.properties.errorDetails || [])[0] || {};
          outcome(box, "bad", h("p", {}, h("strong", {}, "The restore failed.")), errorWords(new ApiError(0, error.code || "RestoreFailed", error.message || "The restore job failed.")));
        }
      } catch (error) {
        outcome(box, "bad", errorWords(error));
      } finally {
        button.disabled = false;
      }
    },
  },
  h("p", { class: "small" }, `Creates a new disk from a recovery point, in ${location || "the source disk's region"}. An existing disk is never overwritten.`),
  field("restore-point", "Recovery point", point),
  field("restore-group", "Target resource group", group),
  field("restore-disk", "New disk name", diskName),
  h("div", {}, button));
  return h("section", { class: "action", "aria-labelledby": "restore-title" }, h("h3", { id: "restore-title" }, "Restore to a new disk"), form, box);
}

// ---------------------------------------------------------------------------------------------
// jobs across vaults

const RANGES = { "24h": ["Last 24 hours", DAY], "7d": ["Last 7 days", 7 * DAY], "30d": ["Last 30 days", 30 * DAY], all: ["Any time", 0] };

async function jobsView() {
  const generation = state.generation;
  const query = params();
  const range = RANGES[query.get("range")] ? query.get("range") : "7d";
  const type = query.get("type") || "";
  const status = query.get("status") || "";
  const firstLoad = !main.querySelector("#jobs-view");
  if (firstLoad) loading("Loading jobs from every vault…");
  let jobs;
  try {
    const clauses = [
      status ? `status eq ${odata(status)}` : null,
      type ? `operation eq ${odata(type)}` : null,
      RANGES[range][1] ? `startTime ge ${odata(new Date(now() - RANGES[range][1]).toISOString())}` : null,
    ];
    const vaults = await listVaults();
    jobs = (await Promise.all(vaults.map((v) => listJobs(v.id, clauses)))).flat();
  } catch (error) {
    if (generation === state.generation) failure(error);
    return;
  }
  if (generation !== state.generation) return;
  main.removeAttribute("aria-busy");
  document.title = "Jobs · Backup Center";
  jobs.sort((a, b) => Date.parse(b.properties.startTime) - Date.parse(a.properties.startTime));
  const select = (id, label, key, options, value) => {
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
      select("j-range", "Started", "range", Object.entries(RANGES).map(([k, [text]]) => [k, text]), range),
      h("button", { type: "button", onclick: () => route() }, "Refresh")),
    h("p", { class: "count", role: "status", "data-testid": "row-count" }, `${plural(jobs.length, "job")}${running ? `, ${running} running (refreshing every 5 s)` : ""}`),
    jobs.length
      ? jobsTable(jobs, { labelledBy: "jobs-heading" })
      : h("div", { class: "state" }, h("p", {}, "No job matches these filters. Jobs appear when scheduled backups run, when someone backs up on demand or restores, and when retention deletes expired points. Widen the time range or clear the filters."))));
  if (running) later(() => { if (generation === state.generation) { state.generation += 1; jobsView(); } }, 5000);
}

start();
