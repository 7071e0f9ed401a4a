// Staff dashboard: occupancy per screening, live from /ws/dashboard (no reloads), with filters.
import { api, hasRole, listOf, me, refreshSession } from "./api.js";
import { h, $, clear, money, fmtDay, fmtTime, loginUrl } from "./dom.js";
import { LiveRoom, roomUrl } from "./room.js";

const rows = new Map();  // screening_id -> row
let forecast = new Map();  // screening_id -> sell-out forecast (GET /api/forecast)
const cards = new Map(); // screening_id -> card element
const form = $("#dash-filters");
let today = null;  // the server's "today" (the cinema's local day), told in the first hello

// No date until the server has said which day it is: then it picks today itself.
function filterParams() {
  const p = new URLSearchParams();
  if (form.cinema_id.value) p.set("cinema_id", form.cinema_id.value);
  if (form.date.value) p.set("date", form.date.value);
  return p;
}

// The day shown comes from the server's answer, never from the browser's clock.
function showDay(filter) {
  if (!filter?.from) return;
  if (!form.date.value) form.date.value = filter.from;
  today = today || filter.from;
  $("#dash-title").textContent = filter.from === today ? "Today's screenings"
    : `Screenings on ${fmtDay(`${filter.from}T12:00:00Z`, "UTC")}`;
}

// At the cinema's midnight the server moves a "today" feed to the new day (an unasked list with
// its filter): the date field and the title follow, unless the user is looking at another day.
function followDay(filter) {
  if (!filter?.from || !today || filter.from === today || form.date.value !== today) return;
  today = filter.from;
  form.date.value = filter.from;
  showDay(filter);
}

function card(row) {
  const bar = h("div", { class: "bar", role: "img" }, h("span", { class: "bar-sold" }), h("span", { class: "bar-held" }));
  const el = h("article", { class: "card dash-card", dataset: { screeningId: row.screening_id } },
    h("div", { class: "row spread" }, h("h3", { class: "movie" }), h("span", { class: "badge badge-houseful houseful", text: "HOUSEFUL" })),
    h("p", { class: "muted where" }), bar, h("div", { class: "stats" }));
  cards.set(row.screening_id, el);
  return el;
}

function fill(el, row) {
  const pct = (n) => (row.capacity ? (100 * n) / row.capacity : 0);
  el.querySelector(".movie").textContent = row.movie;
  el.querySelector(".where").textContent = `${fmtTime(row.starts_at, row.time_zone)} · ${row.cinema} · ${row.auditorium}`;
  el.querySelector(".houseful").hidden = !row.houseful;
  el.dataset.houseful = row.houseful ? "true" : "false";
  el.querySelector(".bar-sold").style.width = `${pct(row.sold)}%`;   // CSSOM, allowed by the CSP
  el.querySelector(".bar-held").style.width = `${pct(row.held)}%`;
  el.querySelector(".bar").setAttribute("aria-label", `${Math.round(pct(row.sold))}% sold, ${Math.round(pct(row.held))}% held`);
  // append() would write a null as the text "null": only the parts that exist.
  clear(el.querySelector(".stats")).append(...[
    h("span", {}, "Occupancy ", h("b", { class: "occupancy", text: `${Math.round(pct(row.sold))}%` })),
    h("span", {}, "Sold ", h("b", { class: "sold", text: row.sold })),
    h("span", {}, "Held ", h("b", { class: "held", text: row.held })),
    h("span", {}, "Free ", h("b", { class: "free", text: row.free })),
    h("span", {}, "Takings ", h("b", { class: "takings", text: money(row.takings) })),
    row.waiting ? h("span", { class: "waiting" }, "Waiting list ", h("b", { text: row.waiting })) : null,
    ...lineStats(row.waiting_room),
    forecastText(forecast.get(row.screening_id))].filter(Boolean));
}

// The waiting room's figures (docs/waiting-room.md): in line, admitted, shopping, rate, time to houseful.
function lineStats(line) {
  if (!line) return [];
  const eta = line.eta_houseful_seconds;
  return [
    h("span", { class: "line-waiting" }, "In line ", h("b", { text: line.waiting })),
    h("span", {}, "Admitted ", h("b", { class: "line-admitted", text: line.admitted })),
    h("span", {}, "Shopping ", h("b", { class: "line-shopping", text: line.shopping })),
    h("span", {}, "Admitting ", h("b", { text: line.paused ? "paused" : `${line.rate}/s` })),
    h("span", {}, "Houseful in ", h("b", { class: "line-eta", text: eta == null ? "—" : eta < 60 ? `${eta} s` : `~${Math.round(eta / 60)} min` })),
  ];
}

function forecastText(f) {
  if (!f) return null;
  return h("span", { class: f.likely_houseful ? "forecast likely-sellout" : "forecast" }, "Forecast ",
    h("b", { text: `${f.predicted_occupancy}%` }), f.likely_houseful ? " · likely sell-out" : "");
}

// Upcoming screenings likely to sell out (next 30 days): staff may add showings.
async function loadForecast() {
  const p = new URLSearchParams();
  if (form.cinema_id.value) p.set("cinema_id", form.cinema_id.value);
  try {
    const body = await api(`/api/forecast?${p}`);
    forecast = new Map(body.screenings.map((f) => [f.screening_id, f]));
    const likely = body.screenings.filter((f) => f.likely_houseful);
    const box = clear($("#sellouts"));
    box.append(h("h2", { text: "Likely to sell out" }));
    if (!likely.length) box.append(h("p", { class: "muted", text: "No upcoming screening is forecast to sell out." }));
    else box.append(h("ul", { class: "sellout-list" }, likely.map((f) => h("li", {},
      h("b", { text: f.movie }), ` · ${fmtDay(f.starts_at, f.time_zone)} ${fmtTime(f.starts_at, f.time_zone)} · ${f.cinema} — ${f.auditorium}: `,
      `${f.sold} of ${f.capacity} sold, forecast ${f.predicted_occupancy}%`,
      f.houseful_by ? `, houseful by ${fmtDay(f.houseful_by, f.time_zone)} ${fmtTime(f.houseful_by, f.time_zone)}` : ""))));
    for (const [id, el] of cards) fill(el, rows.get(id));
  } catch { /* the forecast is an extra: the dashboard works without it */ }
}

function renderTotals() {
  const all = [...rows.values()];
  const sum = (k) => all.reduce((t, r) => t + (r[k] || 0), 0);
  const capacity = sum("capacity");
  clear($("#totals")).append(
    h("span", {}, "Screenings ", h("b", { text: all.length })),
    h("span", {}, "Occupancy ", h("b", { id: "total-occupancy", text: `${capacity ? Math.round((100 * sum("sold")) / capacity) : 0}%` })),
    h("span", {}, "Sold ", h("b", { text: sum("sold") })),
    h("span", {}, "Held ", h("b", { text: sum("held") })),
    h("span", {}, "Free ", h("b", { text: sum("free") })),
    h("span", {}, "Houseful ", h("b", { text: all.filter((r) => r.houseful).length })),
    h("span", {}, "Waiting ", h("b", { id: "total-waiting", text: sum("waiting") })),
    h("span", {}, "Takings ", h("b", { id: "total-takings", text: money(sum("takings")) })));
  $("#dash-empty").hidden = all.length > 0;
}

function showAll(listing) {
  rows.clear();
  cards.clear();
  const box = clear($("#dash"));
  for (const row of listing.screenings || []) {
    rows.set(row.screening_id, row);
    const el = card(row);
    fill(el, row);
    box.append(el);
  }
  renderTotals();
}

function update(frame) {
  for (const row of frame.screenings || []) {
    const merged = { ...(rows.get(row.screening_id) || {}), ...row };
    rows.set(row.screening_id, merged);
    const el = cards.get(row.screening_id);
    if (el) fill(el, merged);
  }
  renderTotals();
}

async function init() {
  const user = await me();
  if (!hasRole(user, "staff")) {
    $("#dash-error").textContent = user ? "The dashboard is for staff." : "Please log in as staff.";
    if (!user) location.assign(loginUrl());
    return;
  }
  try {
    for (const c of listOf(await api("/api/cinemas"), "cinemas")) form.cinema_id.append(h("option", { value: c.id, text: `${c.name} (${c.city})` }));
  } catch { /* all cinemas only */ }
  const feed = new LiveRoom(() => roomUrl(`/ws/dashboard?${filterParams()}`), { beforeConnect: () => api("/api/me") });
  feed.addEventListener("state", (e) => {
    const box = $("#connection");
    box.dataset.state = e.detail.state === "closed" ? "offline" : e.detail.state;
    box.textContent = { connecting: "Connecting…", live: "Live", offline: "Offline — reconnecting…", closed: "Disconnected" }[e.detail.state];
    if (e.detail.code === 4003) { feed.close(); $("#dash-error").textContent = "The dashboard is for staff."; }
    if (e.detail.code === 4001) refreshSession();
  });
  feed.addEventListener("hello", (e) => showDay(e.detail.filter));
  feed.addEventListener("occupancy", (e) => { followDay(e.detail.filter); showAll(e.detail); });
  feed.addEventListener("update", (e) => update(e.detail));
  feed.addEventListener("failure", (e) => { $("#dash-error").textContent = e.detail.message || ""; });
  form.addEventListener("change", async () => {
    $("#dash-error").textContent = "";
    const p = filterParams();
    try {
      const answer = await feed.send("filter", { cinema_id: p.has("cinema_id") ? Number(p.get("cinema_id")) : null, date: p.get("date") });
      showDay(answer.filter);
    } catch (err) { $("#dash-error").textContent = err.message; }
  });
  feed.connect();
  form.addEventListener("change", loadForecast);
  loadForecast();
}

init();
