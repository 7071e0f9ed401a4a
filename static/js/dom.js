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

// Times are shown in the cinema's own time zone (as every cinema's listings are), labelled with
// the zone ("19:30 BST") when the viewer's clock would read differently at that moment. `zone` is
// the cinema's IANA name from the API; without one, the viewer's zone is used.
const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const formats = new Map();
function fmt(options, zone) {
  const key = `${JSON.stringify(options)}|${zone || ""}`;
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat("en-GB", { ...options, timeZone: zone || undefined }));
  return formats.get(key);
}
const WALL = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };

// The zone's short name at that moment: "BST", "GMT", else e.g. "EDT" or "GMT+2".
export function zoneLabel(date, zone) {
  const part = (locale) => new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" })
    .formatToParts(date).find((p) => p.type === "timeZoneName")?.value || zone;
  const british = part("en-GB");
  if (!/^(GMT|UTC)[+-]/.test(british)) return british;
  const american = part("en-US");
  return /^(GMT|UTC)[+-]/.test(american) ? british : american;
}

function differs(date, zone) {
  return Boolean(zone) && zone !== VIEWER_ZONE && fmt(WALL, zone).format(date) !== fmt(WALL, VIEWER_ZONE).format(date);
}

export function fmtTime(iso, zone) {
  const date = new Date(iso);
  const time = fmt({ hour: "2-digit", minute: "2-digit" }, zone).format(date);
  return differs(date, zone) ? `${time} ${zoneLabel(date, zone)}` : time;
}

export function fmtDay(iso, zone) {
  return fmt({ weekday: "short", day: "numeric", month: "short" }, zone).format(new Date(iso));
}

export function fmtDateTime(iso, zone) { return `${fmtDay(iso, zone)} ${fmtTime(iso, zone)}`; }

const INPUT = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

function wallParts(date, zone, options = INPUT) {
  const out = {};
  for (const p of fmt(options, zone).formatToParts(date)) out[p.type] = p.value;
  return out;
}

// YYYY-MM-DD of a moment in a zone (the viewer's by default), for date inputs and grouping by day.
export function localDate(d, zone) {
  const p = wallParts(d instanceof Date ? d : new Date(d), zone, { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${p.year}-${p.month}-${p.day}`;
}

// A moment as a datetime-local value ("2030-07-11T19:30") on the wall clock of a zone.
export function zonedInput(iso, zone) {
  if (!iso) return "";
  const p = wallParts(new Date(iso), zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// The reverse: a datetime-local value read on the wall clock of `zone`, as an ISO 8601 UTC instant.
export function fromZonedInput(value, zone) {
  const [y, mo, d, hh, mm] = value.split(/[-T:]/).map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mm);
  const offset = (at) => {
    const p = wallParts(new Date(at), zone);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - Math.floor(at / 60000) * 60000;
  };
  let at = wall - offset(wall);
  at = wall - offset(at);  // twice: the first guess may sit across a clock change
  return new Date(at).toISOString();
}

export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = !message;
}

// A modal question in a <dialog> (focus stays inside, Escape cancels); resolves true on `confirm`.
export function ask({ title, text, confirm, cancel = "Keep it", danger = true }) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: danger ? "button-danger" : "", text: confirm });
    const no = h("button", { type: "button", class: "button-ghost", text: cancel });
    const dialog = h("dialog", { class: "ask", "aria-labelledby": "ask-title", "aria-describedby": "ask-text" },
      h("h2", { id: "ask-title", text: title }), h("p", { id: "ask-text", text }), h("div", { class: "row" }, yes, no));
    const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();  // the safe answer first
  });
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
