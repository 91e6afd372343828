// @ts-check
// When a view cannot load: the Functions key form for a 401, otherwise what failed and what
// to do about it, with a retry.

import { functionsKey, keepFunctionsKey } from "./api.js";
import { h, main, show } from "./dom.js";
import { renderWho } from "./header.js";
import { errorWords, field, link } from "./render.js";
import { route, start, state } from "./state.js";

/** @typedef {import("./api.js").ApiError} ApiError */

/**
 * Replaces the view with what failed; a 401 asks for the key instead.
 * @param {ApiError} error
 * @param {() => void} [retry]  what the Retry button does (reloads the view by default)
 */
export function failure(error, retry) {
  main.removeAttribute("aria-busy");
  if (error.status === 401) return askForKey(error);
  /** @type {Record<number, string>} */
  const advice = {
    0: "Check that the function app is running, then retry.",
    403: "Your account can sign in but has no role here (BackupReader, BackupOperator, RestoreOperator or BackupOwner, as an app role in Enterprise applications or a role assignment on a vault). Ask an owner for one, then reload.",
    404: "It may have been deleted. Go back to the overview.",
  };
  const what = advice[error.status] || "Retry; if it keeps failing, the app's logs (Application Insights) have the request id.";
  show(h("div", { class: "state error", role: "alert" },
    h("p", {}, h("strong", {}, "Backup Center could not load this view.")),
    errorWords(error),
    h("p", {}, what),
    h("p", {}, h("button", { type: "button", class: "primary", onclick: retry || (() => route()) }, "Retry"),
      " ", link("Back to overview", { view: "overview" }))));
}

/**
 * The sign-in view: a Functions key for this tab, or the App Service sign-in.
 * @param {ApiError} error  the 401
 */
function askForKey(error) {
  state.who = null;
  renderWho();
  const input = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true, size: 48 });
  const form = h("form", {
    class: "inline",
    onsubmit: (event) => {
      event.preventDefault();
      keepFunctionsKey(input.value.trim());
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
    h("p", {}, "If the app also uses Microsoft Entra ID sign-in, ",
      h("a", { href: `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(location.pathname + location.search)}` }, "sign in with your organisation account"),
      ".")));
  input.focus();
}
