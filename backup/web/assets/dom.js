// @ts-check
// Building the DOM: h() for HTML and SVG elements, and the page's two live regions (the main
// view and the announcer for screen readers).

/**
 * What h() accepts as a child: nodes, text, and nested arrays of them; null, undefined and
 * false are left out.
 * @typedef {Node | string | number | null | undefined | false | ChildList} Child
 */
/** @typedef {Child[]} ChildList */

/**
 * Attributes: ``on*`` become listeners, ``dataset`` fills data-*, ``class`` the class; other
 * non-string values set the element's property of that name when it has one; null, undefined
 * and false are left out, true is an empty attribute.
 * @typedef {{
 *   onclick?: (event: MouseEvent) => void,
 *   onsubmit?: (event: SubmitEvent) => void | Promise<void>,
 *   onchange?: (event: Event) => void,
 *   oninput?: (event: Event) => void,
 *   dataset?: Record<string, string>,
 *   class?: string | null,
 *   [attribute: string]: unknown,
 * }} Attrs
 */

/**
 * The element h() makes for a tag: ``svg:rect`` an SVGRectElement, ``input`` an HTMLInputElement.
 * @template {string} T
 * @typedef {T extends `svg:${infer S}`
 *   ? (S extends keyof SVGElementTagNameMap ? SVGElementTagNameMap[S] : SVGElement)
 *   : (T extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[T] : HTMLElement)} ElementOf
 */

/**
 * Nested children in one flat list (typed apart: Child is recursive, too deep for flat()'s type).
 * @param {Child[]} children
 * @returns {Exclude<Child, ChildList>[]}
 */
const flatten = (children) => /** @type {Exclude<Child, ChildList>[]} */ (/** @type {unknown[]} */ (children).flat(Infinity));

/**
 * An element with attributes and children; ``svg:`` tags are made in the SVG namespace.
 * @template {string} T
 * @param {T} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {ElementOf<T>}
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  /** @type {any} */
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (!svg && key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of flatten(children)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The view's container. */
export const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const live = /** @type {HTMLElement} */ (document.getElementById("live"));

/**
 * Tells screen readers (the polite live region).
 * @param {string} text
 */
export function announce(text) {
  live.textContent = "";
  setTimeout(() => { live.textContent = text; }, 30);
}

/**
 * Replaces the view with these nodes.
 * @param {...Child} nodes
 */
export function show(...nodes) {
  main.replaceChildren(.../** @type {(Node | string)[]} */ (flatten(nodes).filter((node) => node !== null && node !== undefined && node !== false)));
}
/**
 * A busy view that says what it waits for.
 * @param {string} text
 */
export function loading(text) {
  main.setAttribute("aria-busy", "true");
  show(h("p", { class: "state", role: "status" }, text));
}

/**
 * Fills an action's outcome box; "bad" makes it an alert.
 * @param {HTMLElement} box
 * @param {string} tone  "", "ok" or "bad"
 * @param {...(Node | string)} content
 */
export function outcome(box, tone, ...content) {
  box.className = `outcome ${tone || ""}`;
  box.hidden = false;
  box.setAttribute("role", tone === "bad" ? "alert" : "status");
  box.replaceChildren(...content);
}
