// @ts-check
// What the page knows between views (the caller, the server's clock, the subscription), the
// view's URL (everything a view shows is in its query), and the timers a navigation cancels.

/** @typedef {import("./types.js").WhoAmI} WhoAmI */

/**
 * @typedef {object} PageState
 * @property {WhoAmI | null} who  the whoami answer
 * @property {number} offset  server clock minus browser clock, ms
 * @property {string | null} sub  the subscription shown
 * @property {number} generation  bumps on every navigation, so late answers of an old view are dropped
 * @property {Set<number>} timers
 * @property {(() => void) | null} reloadInstance  reloads the instance view after an action
 */

/** @type {PageState} */
export const state = {
  who: null,
  offset: 0,
  sub: null,
  generation: 0,
  timers: new Set(),
  reloadInstance: null,
};

/**
 * The page's entry points, set by app.js. Views reach them through here, so that no view
 * imports the module that imports the views.
 * @type {{ route: () => void, start: () => void }}
 */
export const entry = { route: () => {}, start: () => {} };
/** Shows the view the URL names. */
export const route = () => entry.route();
/** Asks who is calling, then routes. */
export const start = () => entry.start();

/** The server's clock, ms. */
export const now = () => Date.now() + state.offset;

/**
 * Whether the caller holds ``role`` (or BackupOwner) at a scope that covers ``resourceId``:
 * the grants whoami lists, each a role at ``/``, a subscription, a resource group or a vault.
 * The API decides anyway; this only keeps buttons it would refuse off the page.
 * @param {string} role
 * @param {string} resourceId
 */
export const can = (role, resourceId) => Boolean(state.who && (state.who.grants || []).some((grant) =>
  (grant.role === role || grant.role === "BackupOwner") && covers(grant.scope, resourceId)));

/**
 * @param {string} scope
 * @param {string} resourceId
 */
const covers = (scope, resourceId) => scope === "/" ||
  `${resourceId.toLowerCase()}/`.startsWith(`${scope.toLowerCase()}/`);

export function params() { return new URLSearchParams(location.search); }

/**
 * @typedef {Record<string, string | null | undefined>} QueryChanges  null, undefined or "" removes a key
 */

/**
 * The query of the current view with changes (on ``base``), always naming the subscription.
 * @param {QueryChanges} changes
 * @param {URLSearchParams} [base]
 */
export function hrefWith(changes, base = params()) {
  const next = new URLSearchParams(base);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(key);
    else next.set(key, value);
  }
  if (state.sub) next.set("subscription", state.sub);
  return `?${next}`;
}
/**
 * @param {QueryChanges} changes
 * @param {{ replace?: boolean, fresh?: boolean }} [options]  fresh: start from an empty query
 */
export function navigate(changes, { replace = false, fresh = false } = {}) {
  const href = fresh ? hrefWith(changes, new URLSearchParams()) : hrefWith(changes);
  history[replace ? "replaceState" : "pushState"](null, "", href);
  route();
}

export function clearTimers() {
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
}
/**
 * ``fn`` after ``ms``, unless a navigation comes first.
 * @param {() => void} fn
 * @param {number} ms
 */
export function later(fn, ms) {
  const timer = setTimeout(() => { state.timers.delete(timer); fn(); }, ms);
  state.timers.add(timer);
}
