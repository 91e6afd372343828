// @ts-check
// The page's header: who is calling with which roles, the subscription, and the views' nav.

import { forgetFunctionsKey, functionsKey } from "./api.js";
import { h } from "./dom.js";
import { hrefWith, navigate, params, start, state } from "./state.js";

export function renderWho() {
  const box = /** @type {HTMLElement} */ (document.getElementById("who"));
  const who = state.who;
  if (!who) { box.replaceChildren(); return; }
  const roles = who.roles.length ? who.roles.join(", ") : "no app role";
  box.replaceChildren(...[
    h("span", { "data-testid": "principal" }, who.authenticated ? who.principalName : "Function key"),
    h("span", { class: "roles", "data-testid": "roles" }, `(${roles})`),
    state.sub ? h("span", { class: "mono", title: "Subscription" }, state.sub) : null,
    functionsKey() ? h("button", { type: "button", onclick: forgetKey }, "Forget key") : null,
  ].filter((node) => node !== null));
  for (const a of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll("#nav a"))) {
    const view = a.dataset.view;
    a.href = hrefWith({ view }, new URLSearchParams());
    const current = (params().get("view") || "overview") === view || (view === "overview" && params().get("view") === "instance");
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    a.onclick = (event) => { event.preventDefault(); navigate({ view }, { fresh: true }); };
  }
}

function forgetKey() {
  forgetFunctionsKey();
  state.who = null;
  start();
}
