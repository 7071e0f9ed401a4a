// Monthly report: pick a cinema (or the chain) and a month; the server renders the report
// (the same template as the PDF) and the page frames it at its full height.
import { api, hasRole, listOf, me } from "./api.js";
import { h, $, loginUrl, showFormError } from "./dom.js";

const form = $("#monthly-form");
const frame = $("#monthly-frame");

function params() {
  const p = new URLSearchParams();
  if (form.elements.cinema_id.value) p.set("cinema_id", form.elements.cinema_id.value);
  if (form.elements.month.value) p.set("month", form.elements.month.value);
  return p;
}

function fitFrame() {
  const doc = frame.contentDocument;
  if (doc && doc.documentElement) frame.style.height = `${doc.documentElement.scrollHeight + 8}px`;
}

async function show() {
  showFormError(form, null);
  let p = params();
  try {
    // Ask the API first: it names the month it chose (the cinema's current one by default) and
    // refreshes an expired access cookie, which the framed page then uses.
    const body = await api(`/api/reports/monthly?${p}`);
    form.elements.month.value = body.month;
    p = params();
  } catch (err) {
    if (err.status === 401) { location.assign(loginUrl()); return; }
    frame.hidden = true;
    showFormError(form, { field: ["month", "cinema_id"].includes(err.field) ? err.field : null, message: err.message });
    return;
  }
  history.replaceState(null, "", `${location.pathname}?${p}`);
  $("#monthly-pdf").href = `/api/reports/monthly?${p}&format=pdf`;
  frame.hidden = false;
  frame.src = `/api/reports/monthly?${p}&format=html`;
}

async function init() {
  const user = await me();
  if (!user) { location.assign(loginUrl()); return; }
  if (!hasRole(user, "staff")) { $("#monthly-error").textContent = "Only staff can read reports."; form.hidden = true; return; }
  const wanted = new URLSearchParams(location.search);
  form.elements.month.value = wanted.get("month") || "";
  try {
    const cinemas = listOf(await api("/api/cinemas?limit=200"), "cinemas");
    form.elements.cinema_id.append(...cinemas.map((c) => h("option", { value: c.id, text: `${c.name} (${c.city})`, selected: String(c.id) === wanted.get("cinema_id") })));
  } catch (err) { $("#monthly-error").textContent = `Could not load cinemas: ${err.message}`; }
  frame.addEventListener("load", fitFrame);
  window.addEventListener("resize", fitFrame);
  form.addEventListener("submit", (e) => { e.preventDefault(); show(); });
  form.elements.cinema_id.addEventListener("change", show);
  await show();
}

init();
