// @ts-check
// Backup Center: a page over the app's own Microsoft.DataProtection API (same origin).
// No framework and no build step: ES modules the browser loads as they are, DOM built with
// h(), the one chart hand-written SVG. Everything shown comes from the API; the page itself
// holds no data. This module starts the page and picks the view the URL names.

import { whoami } from "./api.js";
import { h, loading, show } from "./dom.js";
import { renderWho } from "./header.js";
import { instanceView } from "./instance.js";
import { jobsView } from "./jobs.js";
import { overviewView } from "./overview.js";
import { field, readmeSection, WALKTHROUGH } from "./render.js";
import { failure } from "./signin.js";
import { clearTimers, entry, hrefWith, navigate, params, state } from "./state.js";

/** @typedef {import("./api.js").ApiError} ApiError */

/** Who is calling, and the server's clock; then the view. */
async function start() {
  clearTimers();
  loading("Loading Backup Center…");
  try {
    const who = await whoami();
    state.who = who;
    state.offset = Date.parse(who.now) - Date.now();
  } catch (error) {
    failure(/** @type {ApiError} */ (error), start);
    return;
  }
  route();
}

/** For a caller who has not said which subscription: those with vaults, or a box to type one. */
function chooseSubscription() {
  const subs = state.who?.subscriptions || [];
  const input = h("input", { id: "sub", name: "subscription", required: true, size: 40, pattern: "[0-9a-fA-F-]{36}", placeholder: "00000000-0000-0000-0000-000000000000" });
  show(h("section", { "aria-labelledby": "sub-title" },
    h("h1", { id: "sub-title" }, "Choose a subscription"),
    subs.length
      ? h("ul", {}, subs.map((sub) => h("li", {}, h("a", { href: `?subscription=${sub}`, class: "mono" }, sub))))
      : h("div", { class: "state" },
        h("p", {}, h("strong", {}, "No backup vault exists yet.")),
        h("p", {}, "Create a vault, a policy and a backup instance with the API (see ", readmeSection(WALKTHROUGH), "), or enter the subscription you expect below.")),
    h("form", { class: "inline", onsubmit: (event) => { event.preventDefault(); state.sub = input.value.trim().toLowerCase(); navigate({ view: "overview" }, { fresh: true }); } },
      field("sub", "Subscription id", input), h("button", { type: "submit", class: "primary" }, "Open"))));
}

/** The view the URL names, once the caller is known and has a role and a subscription. */
function route() {
  clearTimers();
  delete document.documentElement.dataset.ready;
  state.generation += 1;
  const who = state.who;
  if (!who) { start(); return; }
  const query = params();
  state.sub = (query.get("subscription") || "").toLowerCase() || null;
  if (!state.sub && who.subscriptions.length === 1) {
    state.sub = who.subscriptions[0];
    history.replaceState(null, "", hrefWith({}));
  }
  renderWho();
  if (!who.roles.length) {
    show(h("div", { class: "state error", role: "alert" },
      h("p", {}, h("strong", {}, `Signed in as ${who.principalName}, without an app role.`)),
      h("p", {}, "Backup Center shows data to holders of BackupReader, BackupOperator or RestoreOperator. Ask an administrator to assign one to you (Enterprise applications → the app → Users and groups), then sign in again.")));
    return;
  }
  if (!state.sub) { chooseSubscription(); return; }
  const view = query.get("view") || "overview";
  const id = query.get("id");
  if (view === "instance" && id) instanceView(id);
  else if (view === "jobs") jobsView();
  else overviewView();
}

entry.route = route;
entry.start = start;
window.addEventListener("popstate", () => route());
start();
