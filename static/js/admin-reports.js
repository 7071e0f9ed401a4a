// Sales reports for staff and admins: filters -> /api/reports/sales -> one table with totals;
// admins also get CSV export links carrying the same filters.
import { api, hasRole, listOf, me } from "./api.js";
import { h, $, clear, fmtDateTime, showFormError, loginUrl } from "./dom.js";

const form = $("#report-form");
const GROUP_HEADINGS = { day: "Day", movie: "Movie", cinema: "Cinema", screening: "Screening" };
const FILTERS = ["basis", "from", "to", "cinema_id", "group"];
const BASIS_WORDS = { sold: "Sales made", shown: "Screenings shown" };

function groupLabel(group, g) {
  if (group === "day") return g.day;
  if (group === "movie") return g.movie;
  if (group === "cinema") return g.cinema;
  const cancelled = g.status === "cancelled" ? " (cancelled)" : "";
  return `${fmtDateTime(g.starts_at, g.time_zone)} · ${g.movie} · ${g.cinema} — ${g.auditorium}${cancelled}`;
}

// Money in the report's own currency ("£1,234.50"), not the page's default.
function moneyIn(currency) {
  const fmt = new Intl.NumberFormat("en-GB", { style: "currency", currency });
  return (minor) => fmt.format(Number(minor || 0) / 100);
}

function figures(row, money, label, cell = "td") {
  return [
    h(cell, cell === "th" ? { scope: "row", text: label } : { text: label }),
    h("td", { text: row.screenings }),
    h("td", { text: row.capacity }),
    h("td", { text: row.sold }),
    h("td", { text: `${Number(row.occupancy).toFixed(1)}%` }),
    h("td", { text: money(row.takings) }),
    h("td", { text: row.refunds }),
    h("td", { text: money(row.refund_amount) }),
  ];
}

function reportTable(body) {
  const { group } = body.filter;
  const money = moneyIn(body.currency);
  const heads = [GROUP_HEADINGS[group], "Screenings", "Capacity", "Sold", "Occupancy", "Takings", "Refunds", "Refund amount"];
  const table = h("table", { id: "report-table" },
    h("caption", { text: `${BASIS_WORDS[body.filter.basis]} ${body.filter.from} to ${body.filter.to}, by ${group}` }),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, body.groups.map((g) => h("tr", {}, figures(g, money, groupLabel(group, g))))),
    h("tfoot", {}, h("tr", { class: "totals" }, figures(body.totals, money, "Total", "th"))));
  const parts = [h("div", { class: "table-wrap" }, table)];
  if (!body.groups.length) parts.unshift(h("p", { class: "empty", text: body.filter.basis === "sold" ? "No sales in this range." : "No screenings in this range." }));
  if (body.truncated) parts.push(h("p", { class: "muted", text: "Only the first groups are shown; the totals cover everything. Download the screenings CSV for all rows." }));
  return parts;
}

function filterParams() {
  const p = new URLSearchParams();
  for (const name of FILTERS) if (form.elements[name].value) p.set(name, form.elements[name].value);
  return p;
}

// Exports take the same range and cinema (no grouping); the access cookie authenticates the GET.
function updateExports(params) {
  const p = new URLSearchParams(params);
  p.delete("group");
  $("#export-cinemas").href = `/api/exports/cinemas.csv?${p}`;
  $("#export-movies").href = `/api/exports/movies.csv?${p}`;
  p.delete("basis");  // orders go by when they were placed, screenings by when they are shown
  $("#export-orders").href = `/api/exports/orders.csv?${p}`;
  $("#export-screenings").href = `/api/exports/screenings.csv?${p}`;
}

async function load() {
  showFormError(form, null);
  const params = filterParams();
  history.replaceState(null, "", `${location.pathname}?${params}`);
  try {
    const body = await api(`/api/reports/sales?${params}`);
    // Without dates the server picks the last week through today (the cinema's local today).
    form.elements.from.value = body.filter.from;
    form.elements.to.value = body.filter.to;
    const shown = filterParams();
    history.replaceState(null, "", `${location.pathname}?${shown}`);
    clear($("#report")).append(...reportTable(body));
    updateExports(shown);
  } catch (err) {
    if (err.status === 401) { location.assign(loginUrl()); return; }
    clear($("#report"));
    showFormError(form, { field: FILTERS.includes(err.field) ? err.field : null, message: err.message });
  }
}

async function fillCinemas(selected) {
  const cinemas = listOf(await api("/api/cinemas?limit=200"), "cinemas");
  form.elements.cinema_id.append(...cinemas.map((c) => h("option", { value: c.id, text: `${c.name} (${c.city})`, selected: String(c.id) === selected })));
}

async function init() {
  const user = await me();
  if (!user) { location.assign(loginUrl()); return; }
  if (!hasRole(user, "staff")) { $("#reports-error").textContent = "Only staff can read sales reports."; form.hidden = true; return; }
  $("#exports").hidden = !hasRole(user, "admin");
  // Filters live in the URL so a report can be bookmarked or shared between staff.
  const wanted = new URLSearchParams(location.search);
  form.elements.from.value = wanted.get("from") || "";
  form.elements.to.value = wanted.get("to") || "";
  if (GROUP_HEADINGS[wanted.get("group")]) form.elements.group.value = wanted.get("group");
  if (BASIS_WORDS[wanted.get("basis")]) form.elements.basis.value = wanted.get("basis");
  try { await fillCinemas(wanted.get("cinema_id") || ""); } catch (err) { $("#reports-error").textContent = `Could not load cinemas: ${err.message}`; }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  form.elements.group.addEventListener("change", load);
  form.elements.basis.addEventListener("change", load);
  await load();
}

init();
