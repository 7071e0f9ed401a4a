// Small DOM and formatting helpers: elements are built with textContent, never innerHTML.
export function h(tag, attrs = {}, ...children) {
  const node = tag === "svg" || attrs.svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false || k === "svg") continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function svg(tag, attrs = {}, ...children) { return h(tag, { ...attrs, svg: true }, ...children); }

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const currency = () => document.documentElement.dataset.currency || "GBP";

// Integer minor units -> "£18.00".
export function money(minor) {
  if (minor === null || minor === undefined || Number.isNaN(Number(minor))) return "—";
  return new Intl.NumberFormat("en-GB", { style: "currency", currency: currency() }).format(Number(minor) / 100);
}

export function fmtTime(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

export function fmtDay(iso) {
  return new Date(iso).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" });
}

export function fmtDateTime(iso) { return `${fmtDay(iso)} ${fmtTime(iso)}`; }

// YYYY-MM-DD in local time (for date inputs and grouping).
export function localDate(d) {
  const x = d instanceof Date ? d : new Date(d);
  return `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, "0")}-${String(x.getDate()).padStart(2, "0")}`;
}

export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = !message;
}

export function clear(node) { while (node.firstChild) node.firstChild.remove(); return node; }

export function loginUrl(next = location.pathname + location.search) {
  return `/login?next=${encodeURIComponent(next)}`;
}

// Show a form's errors: one per field (from the form or the server's error.field) plus a summary.
export function showFormError(form, err) {
  for (const n of form.querySelectorAll("[aria-invalid]")) n.removeAttribute("aria-invalid");
  for (const n of form.querySelectorAll(".field-error")) n.remove();
  const summary = form.querySelector(".form-error");
  if (!err) { if (summary) summary.textContent = ""; return; }
  const input = err.field ? form.elements.namedItem(err.field) : null;
  if (input && input.setAttribute) {
    input.setAttribute("aria-invalid", "true");
    const note = h("p", { class: "field-error", id: `${input.id || input.name}-error`, text: err.message });
    input.setAttribute("aria-describedby", note.id);
    input.closest(".field") ? input.closest(".field").append(note) : input.after(note);
    input.focus();
  }
  if (summary) summary.textContent = err.message;
}
