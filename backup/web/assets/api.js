// @ts-check
// The app's own API, same origin: the Functions key (kept for this tab in sessionStorage), ARM
// paths with their api-version, paging through nextLink, and ARM error bodies as ApiError.

/** @typedef {import("./types.js").WhoAmI} WhoAmI */
/** @typedef {import("./types.js").Vault} Vault */
/** @typedef {import("./types.js").BackupInstance} BackupInstance */
/** @typedef {import("./types.js").RoleAssignment} RoleAssignment */
/** @typedef {import("./types.js").RecoveryPoint} RecoveryPoint */
/** @typedef {import("./types.js").Job} Job */
/** @typedef {import("./types.js").Policy} Policy */
/** @typedef {import("./types.js").ArmList} ArmList */
/** @typedef {import("./types.js").ArmErrorBody} ArmErrorBody */
/** @typedef {import("./types.js").ArmErrorDetail} ArmErrorDetail */
/** @typedef {import("./types.js").OperationResult} OperationResult */
/** @typedef {import("./types.js").SubscriptionOverview} SubscriptionOverview */

/**
 * One page of the cross-vault list, and the link to the next (null on the last page).
 * @typedef {object} InstancePage
 * @property {BackupInstance[]} items
 * @property {string | null} next
 */

/**
 * An answer of the API: its status, headers and JSON body (null when empty or not JSON).
 * @typedef {object} ApiAnswer
 * @property {number} status
 * @property {Headers} headers
 * @property {unknown} body
 */

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [body]  sent as JSON
 * @property {Record<string, string>} [query]  for arm(): added to the api-version
 */

const API_VERSION = "2026-06-01";
const API_BASE =
  /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="api-base"]'))?.content ?? "/api";
const KEY_STORAGE = "backupcenter.functionsKey";
const PROVIDER = "/providers/Microsoft.DataProtection";

/** A refusal of the API (or no answer at all: status 0), with its ARM error code. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {ArmErrorDetail[]} [details]
   * @param {string[]} [recommendedAction] the UserFacingError's advice, written for a person
   */
  constructor(status, code, message, details, recommendedAction) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
    this.recommendedAction = recommendedAction || [];
  }
}

/** @returns {string | null} the key this tab was given, if any */
export function functionsKey() {
  try { return sessionStorage.getItem(KEY_STORAGE); } catch { return null; }
}
/** @param {string} key */
export function keepFunctionsKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}
export function forgetFunctionsKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * fetch a path of this origin (``/api/...``); throws ApiError with the ARM error body.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<ApiAnswer>}
 */
async function request(path, { method = "GET", body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  const key = functionsKey();
  if (key) headers["x-functions-key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "NetworkError", `The app did not answer (${/** @type {Error} */ (error).message}). Check that the function app is running and reachable, then retry.`);
  }
  const text = await response.text();
  /** @type {unknown} */
  let json = null;
  if (text) { try { json = JSON.parse(text); } catch { json = null; } }
  if (!response.ok) {
    const armBody = /** @type {ArmErrorBody | null} */ (json);
    const error = armBody && armBody.error ? armBody.error : {};
    const code = error.code || `HTTP${response.status}`;
    const message = error.message || (response.status === 401
      ? "The app wants a function key or a signed-in session."
      : `The app answered ${response.status} ${response.statusText}.`);
    const userFacing = (error.additionalInfo || []).find((entry) => entry.type === "UserFacingError");
    throw new ApiError(response.status, code, message, error.details, userFacing?.info?.recommendedAction);
  }
  return { status: response.status, headers: response.headers, body: json };
}

/**
 * An ARM path (``/subscriptions/...``) with the api-version and optional query.
 * @param {string} path
 * @param {Record<string, string>} [query]
 */
function armUrl(path, query = {}) {
  const params = new URLSearchParams({ "api-version": API_VERSION, ...query });
  return `${API_BASE}${path}?${params}`;
}
/**
 * A call to an ARM path of the app.
 * @param {string} path
 * @param {RequestOptions} [options]
 */
export const arm = (path, options) => request(armUrl(path, options?.query), options);

/**
 * Same-origin path and query of an absolute URL the API gave (nextLink, Location).
 * @param {string} url
 */
function localPath(url) {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}
/**
 * Every item of an ARM list, following nextLink to the last page (no cap: a list that stopped
 * early would show a wrong total without saying so).
 * @param {string} path
 * @param {Record<string, string>} [query]
 * @returns {Promise<unknown[]>}
 */
async function listAll(path, query) {
  const items = [];
  /** @type {string | null} */
  let next = armUrl(path, query);
  while (next) {
    const body = /** @type {ArmList | null} */ ((await request(next)).body);
    items.push(...(body?.value || []));
    next = body?.nextLink ? localPath(body.nextLink) : null;
  }
  return items;
}
/**
 * An OData string literal.
 * @param {unknown} value
 */
export const odata = (value) => `'${String(value).replace(/'/g, "''")}'`;

/** @returns {Promise<WhoAmI>} */
export async function whoami() {
  const { body } = await request(`${API_BASE}/backupcenter/whoami`);
  return /** @type {WhoAmI} */ (body);
}
/**
 * @param {string} subscription
 * @returns {Promise<Vault[]>}
 */
export async function listVaults(subscription) {
  return /** @type {Vault[]} */ (await listAll(`/subscriptions/${subscription}${PROVIDER}/backupVaults`));
}
/**
 * A vault's jobs matching every OData clause given (null clauses are left out).
 * @param {string} vaultId
 * @param {(string | null)[]} clauses
 * @returns {Promise<Job[]>}
 */
export async function listJobs(vaultId, clauses) {
  const filter = clauses.filter(Boolean).join(" and ");
  return /** @type {Job[]} */ (await listAll(`${vaultId}/backupJobs`, filter ? { $filter: filter } : {}));
}
/**
 * The counts behind the overview's tiles: one product-only call (``/api/x/...``) that reads one
 * summary row per vault, whatever the number of instances and jobs.
 * @param {string} subscription
 * @returns {Promise<SubscriptionOverview>}
 */
export async function getOverview(subscription) {
  const params = new URLSearchParams({ "api-version": API_VERSION });
  const { body } = await request(`${API_BASE}/x/subscriptions/${subscription}/overview?${params}`);
  return /** @type {SubscriptionOverview} */ (body);
}
/**
 * The first page of the subscription's instances across vaults (keyset-paged by the API).
 * @param {string} subscription
 * @param {string} [filter]  OData
 * @returns {Promise<InstancePage>}
 */
export async function firstInstancesPage(subscription, filter) {
  return instancesPageAt(armUrl(`/subscriptions/${subscription}${PROVIDER}/backupInstances`, filter ? { $filter: filter } : {}));
}
/**
 * The page a previous page's ``next`` names.
 * @param {string} next
 * @returns {Promise<InstancePage>}
 */
export async function nextInstancesPage(next) {
  return instancesPageAt(localPath(next));
}
/**
 * @param {string} url  same-origin path and query
 * @returns {Promise<InstancePage>}
 */
async function instancesPageAt(url) {
  const body = /** @type {ArmList | null} */ ((await request(url)).body);
  return { items: /** @type {BackupInstance[]} */ (body?.value || []), next: body?.nextLink || null };
}
/**
 * One instance of the cross-vault list (with its backupSummary): the pages of its vault, in
 * order, up to the one that holds it. Undefined when it is not there.
 * @param {string} subscription
 * @param {string} vaultName
 * @param {string} instanceId
 * @returns {Promise<BackupInstance | undefined>}
 */
export async function findInstance(subscription, vaultName, instanceId) {
  const wanted = instanceId.toLowerCase();
  let page = await firstInstancesPage(subscription, `vaultName eq ${odata(vaultName)}`);
  for (;;) {
    const found = page.items.find((item) => item.id.toLowerCase() === wanted);
    if (found || !page.next) return found;
    page = await nextInstancesPage(page.next);
  }
}
/**
 * The role assignments that apply at a vault: made at it and at every scope above it.
 * @param {string} vaultId
 * @returns {Promise<RoleAssignment[]>}
 */
export async function listRoleAssignments(vaultId) {
  return /** @type {RoleAssignment[]} */ (await listAll(`${vaultId}/providers/Microsoft.Authorization/roleAssignments`));
}
/**
 * @param {string} instanceId
 * @returns {Promise<RecoveryPoint[]>}
 */
export async function listRecoveryPoints(instanceId) {
  return /** @type {RecoveryPoint[]} */ (await listAll(`${instanceId}/recoveryPoints`));
}
/**
 * @param {string} policyId
 * @returns {Promise<Policy>}
 */
export async function getPolicy(policyId) {
  return /** @type {Policy} */ ((await arm(policyId)).body);
}
/**
 * @param {string} vaultId
 * @param {string | undefined} jobId
 * @returns {Promise<Job>}
 */
export async function getJob(vaultId, jobId) {
  return /** @type {Job} */ ((await arm(`${vaultId}/backupJobs/${jobId}`)).body);
}

/**
 * After a 202: the operation's result (``{jobId}``), read where ``Location`` points.
 * @param {ApiAnswer} answer
 * @returns {Promise<OperationResult>}
 */
export async function operationResult(answer) {
  const location = answer.headers.get("Location");
  if (!location) return {};
  const { body } = await request(localPath(location));
  return /** @type {OperationResult | null} */ (body) || {};
}
