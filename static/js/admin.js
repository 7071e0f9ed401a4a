// Admin: one generic list + form per resource (cinemas, auditoriums, movies, genres, screenings, users).
// Long lists (screenings, users) are filtered and paged by the server (`paged`), never capped.
import { api, hasRole, listOf, me } from "./api.js";
import { h, $, $$, ask, clear, money, fmtDateTime, fromZonedInput, zonedInput, showFormError, loginUrl } from "./dom.js";
import { KINDS, kindName } from "./kinds.js";
import { editWaitingRoom } from "./admin-waiting-room.js";

const PAGE = 50;
const DEFAULT_PRICES = { standard: 1000, vip: 1500, wheelchair: 1000, companion: 1000 };
const panel = $("#panel");

const cinemaOptions = async () => listOf(await api("/api/cinemas?limit=200"), "cinemas").map((c) => [c.id, `${c.name} (${c.city})`]);
const movieOptions = async () => listOf(await api("/api/movies?limit=200"), "movies").map((m) => [m.id, m.title]);
const genreOptions = async () => listOf(await api("/api/genres"), "genres").map((g) => [g.id, g.name]);
const zoneOfAuditorium = new Map();  // auditorium id -> its cinema's time zone
async function auditoriumOptions() {
  const cinemas = listOf(await api("/api/cinemas?limit=200"), "cinemas");
  const details = await Promise.all(cinemas.map((c) => api(`/api/cinemas/${c.id}`)));
  for (const c of details) for (const a of c.auditoriums || []) zoneOfAuditorium.set(String(a.id), c.time_zone);
  return details.flatMap((c) => (c.auditoriums || []).map((a) => [a.id, `${c.name} — ${a.name} (${c.time_zone})`]));
}
// IANA zones the browser knows, plus the one a cinema already has (it may be an older alias).
const zoneOptions = (current) => async () => {
  const zones = new Set(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []);
  if (current) zones.add(current);
  return [...zones].sort().map((z) => [z, z]);
};
const num = (v) => (v === "" ? null : Number(v));
const ROLES = ["customer", "staff", "admin"];
const ROLE_NAME = { customer: "Customer", staff: "Staff", admin: "Admin" };


// The sell-out forecast of upcoming screenings (GET /api/forecast), by screening id; none on failure.
async function forecastMap() {
  try {
    const { screenings } = await api("/api/forecast");
    return new Map(screenings.map((f) => [f.screening_id, f]));
  } catch { return new Map(); }
}

const RESOURCES = {
  cinemas: {
    title: "Cinema", base: "/api/cinemas",
    load: async () => listOf(await api("/api/cinemas?limit=200"), "cinemas"),
    columns: [["Name", (c) => c.name], ["City", (c) => c.city], ["Address", (c) => c.address], ["Time zone", (c) => c.time_zone]],
    fields: [
      { name: "name", label: "Name", required: true, maxlength: 200 },
      { name: "city", label: "City", required: true, maxlength: 100 },
      { name: "address", label: "Address", maxlength: 500 },
      { name: "latitude", label: "Latitude", type: "number", step: "any", required: true, toApi: num },
      { name: "longitude", label: "Longitude", type: "number", step: "any", required: true, toApi: num },
      { name: "rating", label: "Rating (0–5)", type: "number", step: "0.1", toApi: num },
      // Empty on a new cinema: the server's default zone (catalog.default_time_zone).
      { name: "time_zone", label: "Time zone", type: "select", options: zoneOptions(null), optionsFor: (c) => zoneOptions(c?.time_zone) },
    ],
  },
  auditoriums: {
    title: "Auditorium", base: "/api/auditoriums", noEdit: true,
    load: async () => {
      const cinemas = listOf(await api("/api/cinemas?limit=200"), "cinemas");
      const details = await Promise.all(cinemas.map((c) => api(`/api/cinemas/${c.id}`)));
      return details.flatMap((c) => (c.auditoriums || []).map((a) => ({ ...a, cinema_name: c.name })));
    },
    columns: [["Cinema", (a) => a.cinema_name], ["Name", (a) => a.name], ["Category", (a) => a.category], ["Seats", (a) => a.capacity ?? a.seat_count ?? ""]],
    actions: (a) => [h("a", { class: "button button-small button-ghost", href: `/admin/auditoriums/${a.id}`, text: "Seat map" })],
    fields: [
      { name: "cinema_id", label: "Cinema", type: "select", options: cinemaOptions, required: true, toApi: Number },
      { name: "name", label: "Name", required: true, maxlength: 100 },
      { name: "category", label: "Category", type: "select", options: async () => ["standard", "premium", "imax", "3d", "dolby"].map((c) => [c, c]) },
    ],
    afterCreate: (a) => location.assign(`/admin/auditoriums/${a.id}`),
  },
  movies: {
    title: "Movie", base: "/api/movies",
    load: async () => listOf(await api("/api/movies?limit=200"), "movies"),
    columns: [["Title", (m) => m.title], ["Runtime", (m) => `${m.runtime_minutes} min`], ["Genres", (m) => (m.genres || []).map((g) => g.name).join(", ")]],
    fields: [
      { name: "title", label: "Title", required: true, maxlength: 300 },
      { name: "runtime_minutes", label: "Runtime (minutes)", type: "number", required: true, min: 1, toApi: Number },
      { name: "director", label: "Director", maxlength: 200 },
      { name: "cast", label: "Cast (comma separated)", fromApi: (m) => (m.cast || []).join(", "), toApi: (v) => v.split(",").map((x) => x.trim()).filter(Boolean) },
      { name: "synopsis", label: "Synopsis", type: "textarea", maxlength: 5000 },
      { name: "certificate", label: "Certificate", maxlength: 10 },
      { name: "score", label: "Score (0–10)", type: "number", step: "0.1", toApi: num },
      { name: "release_date", label: "Release date", type: "date", toApi: (v) => v || null },
      { name: "poster_url", label: "Poster URL", toApi: (v) => v || null },
      { name: "genre_ids", label: "Genres", type: "checkboxes", options: genreOptions, fromApi: (m) => (m.genres || []).map((g) => String(g.id)) },
    ],
  },
  genres: {
    title: "Genre", base: "/api/genres",
    load: async () => listOf(await api("/api/genres"), "genres"),
    columns: [["Name", (g) => g.name], ["Movies", (g) => g.movie_count ?? ""]],
    fields: [{ name: "name", label: "Name", required: true, maxlength: 60 }],
  },
  screenings: {
    title: "Screening", base: "/api/screenings",
    paged: async (params) => {
      const [data, forecast] = await Promise.all([api(`/api/screenings?${params}`), forecastMap()]);
      const items = listOf(data, "screenings").map((s) => ({ ...s, forecast: forecast.get(s.id) }));
      return { items, total: data.total };
    },
    filters: [
      { name: "q", label: "Search", type: "search", placeholder: "Film, cinema or screen" },
      { name: "cinema_id", label: "Cinema", type: "select", options: cinemaOptions, any: "All cinemas" },
      { name: "movie_id", label: "Film", type: "select", options: movieOptions, any: "All films" },
      { name: "from", label: "From", type: "date" },
      { name: "to", label: "To", type: "date" },
      { name: "status", label: "Status", type: "select", options: async () => [["any", "Any"], ["scheduled", "Scheduled"], ["cancelled", "Cancelled"]], value: "any" },
    ],
    columns: [["Starts", (s) => fmtDateTime(s.starts_at, s.cinema?.time_zone)], ["Movie", (s) => s.movie?.title], ["Where", (s) => `${s.cinema?.name || ""} — ${s.auditorium?.name || ""}`],
      ["Prices", (s) => KINDS.filter((k) => s.prices?.[k] !== undefined).map((k) => `${kindName(k)} ${money(s.prices[k])}`).join(", ")],
      ["Status", (s) => (s.status === "cancelled" ? "Cancelled" : "Scheduled")],
      ["Forecast", (s) => (s.forecast ? `${s.forecast.predicted_occupancy}% full${s.forecast.likely_houseful ? " · likely sell-out" : ""}` : "")]],
    actions: (s) => [
      h("a", { class: "button button-small button-ghost", href: `/screenings/${s.id}`, text: "Seat map" }),
      s.status === "scheduled" ? h("button", { type: "button", class: "button-small button-ghost", text: "Waiting room…",
        onclick: () => editWaitingRoom(s, () => show(current)) }) : null,
      s.status === "scheduled" ? h("button", { type: "button", class: "button-small button-ghost", text: "Cancel…",
        onclick: () => act(() => api(`/api/screenings/${s.id}/cancel`, { method: "POST" }), {
          title: "Cancel this screening?",
          text: `${s.movie?.title} at ${s.cinema?.name}, ${fmtDateTime(s.starts_at, s.cinema?.time_zone)}: every order for it is refunded in full, its tickets stop being valid and nobody can book it again. This cannot be undone.`,
          confirm: "Cancel screening and refund every order", cancel: "Keep the screening",
        }) }) : null,
    ],
    fields: [
      { name: "movie_id", label: "Movie", type: "select", options: movieOptions, required: true, toApi: Number, fromApi: (s) => String(s.movie?.id ?? s.movie_id) },
      { name: "auditorium_id", label: "Auditorium", type: "select", options: auditoriumOptions, required: true, toApi: Number, fromApi: (s) => String(s.auditorium?.id ?? s.auditorium_id) },
      // Typed on the cinema's wall clock (the auditorium's cinema decides the zone), sent as UTC.
      { name: "starts_at", label: "Starts (cinema's local time)", type: "datetime-local", required: true,
        toApi: (v, form) => fromZonedInput(v, zoneOfAuditorium.get(form.elements.auditorium_id.value)),
        fromApi: (s) => zonedInput(s.starts_at, s.cinema?.time_zone) },
      { name: "prices", label: "Prices (£)", type: "prices" },
    ],
  },
  users: {
    title: "User", base: "/api/users", noCreate: true, noEdit: true, noDelete: true,
    paged: async (params) => {
      const data = await api(`/api/users?${params}`);
      return { items: listOf(data, "items", "users"), total: data.total };
    },
    filters: [
      { name: "q", label: "Search", type: "search", placeholder: "Email or name" },
      { name: "role", label: "Role", type: "select", options: async () => ROLES.map((r) => [r, ROLE_NAME[r]]), any: "Any role" },
    ],
    columns: [["Email", (u) => u.email], ["Name", (u) => u.name], ["Role", (u) => ROLE_NAME[u.role] || u.role]],
    actions: (u) => {
      const select = h("select", { "aria-label": `Role of ${u.email}` }, ROLES.map((r) => h("option", { value: r, text: ROLE_NAME[r], selected: r === u.role })));
      // Only a changed role can be saved: the button appears when the choice differs.
      const save = h("button", { type: "button", class: "button-small", text: "Save role", hidden: true,
        onclick: () => act(() => api(`/api/users/${u.id}`, { method: "PATCH", body: { role: select.value } })) });
      select.addEventListener("change", () => { save.hidden = select.value === u.role; });
      return [select, save];
    },
  },
};

let current = "cinemas";
const listState = {};  // resource -> {params (URLSearchParams of its filters), offset}

// question: {title, text, confirm, cancel?} asked in a dialog first.
async function act(work, question) {
  if (question && !(await ask(question))) return;
  $("#admin-error").textContent = "";
  try { await work(); await show(current); } catch (err) { $("#admin-error").textContent = err.message; }
}

async function input(field, item) {
  const id = `f-${field.name}`;
  const value = item ? (field.fromApi ? field.fromApi(item) : item[field.name] ?? "") : "";
  const common = { id, name: field.name, required: field.required || null, maxlength: field.maxlength };
  if (field.type === "select") {
    const options = await (field.optionsFor ? field.optionsFor(item) : field.options)();
    return h("select", common, field.required ? null : h("option", { value: "", text: item ? "—" : "— default —" }),
      options.map(([v, label]) => h("option", { value: v, text: label, selected: String(v) === String(value) })));
  }
  if (field.type === "textarea") return h("textarea", { ...common, rows: 3, text: value });
  if (field.type === "checkboxes") {
    const options = await field.options();
    return h("fieldset", { id, class: "row" }, h("legend", { class: "visually-hidden", text: field.label }),
      options.map(([v, label]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: field.name, value: v, checked: (value || []).includes(String(v)) }), label)));
  }
  if (field.type === "prices") {
    const prices = (item && item.prices) || DEFAULT_PRICES;
    return h("div", { id, class: "row" }, KINDS.map((k) => h("label", { class: "check" }, kindName(k),
      h("input", { type: "number", name: `prices.${k}`, min: 0, step: "0.01", value: prices[k] !== undefined ? (prices[k] / 100).toFixed(2) : "", "aria-label": `${kindName(k)} price in pounds` }))));
  }
  return h("input", { ...common, type: field.type || "text", step: field.step, min: field.min, value });
}

function read(form, spec) {
  const body = {};
  for (const f of spec.fields) {
    if (f.type === "checkboxes") { body[f.name] = $$(`input[name="${f.name}"]:checked`, form).map((c) => Number(c.value)); continue; }
    if (f.type === "prices") {
      body.prices = {};
      for (const k of KINDS) {
        const v = form.elements[`prices.${k}`].value;
        if (v !== "") body.prices[k] = Math.round(Number(v) * 100);
      }
      continue;
    }
    const raw = form.elements[f.name].value.trim();
    if (raw === "" && !f.required && !f.toApi) continue;
    body[f.name] = f.toApi ? f.toApi(raw, form) : raw;
  }
  return body;
}

async function editor(spec, item) {
  const form = h("form", { class: "card stack", novalidate: true, id: "resource-form", "aria-label": `${item ? "Edit" : "New"} ${spec.title.toLowerCase()}` },
    h("h2", { text: item ? `Edit ${spec.title.toLowerCase()}` : `New ${spec.title.toLowerCase()}` }),
    h("p", { class: "form-error", role: "alert" }));
  for (const f of spec.fields) {
    form.append(h("div", { class: "field" }, h("label", { for: `f-${f.name}`, text: f.label }), await input(f, item)));
  }
  form.append(h("div", { class: "row" }, h("button", { type: "submit", text: item ? "Save" : `Create ${spec.title.toLowerCase()}` }),
    item ? h("button", { type: "button", class: "button-ghost", text: "New instead", onclick: () => show(current) }) : null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const missing = spec.fields.find((f) => f.required && !form.elements[f.name].value.trim());
    if (missing) { showFormError(form, { field: missing.name, message: `${missing.label} is required.` }); return; }
    try {
      const saved = await api(item ? `${spec.base}/${item.id}` : spec.base, { method: item ? "PATCH" : "POST", body: read(form, spec) });
      if (!item && spec.afterCreate) { spec.afterCreate(saved); return; }
      await show(current);
      $("#admin-error").textContent = "";
      $("#panel").prepend(h("p", { class: "flash", dataset: { kind: "ok" }, role: "status", text: `${spec.title} saved.` }));
    } catch (err) {
      const field = err.field && !form.elements[err.field] ? err.field.split(/[.[]/)[0] : err.field;
      showFormError(form, { field: form.elements[field] ? field : null, message: err.message });
    }
  });
  return form;
}

function table(spec, items) {
  const head = h("tr", {}, spec.columns.map(([label]) => h("th", { scope: "col", text: label })), h("th", { scope: "col", text: "Actions" }));
  const rows = items.map((item) => h("tr", { dataset: { id: item.id } },
    spec.columns.map(([, get]) => h("td", { text: get(item) ?? "" })),
    h("td", {}, h("div", { class: "row" },
      spec.actions ? spec.actions(item) : null,
      spec.noEdit ? null : h("button", { type: "button", class: "button-small button-ghost", text: "Edit", onclick: async () => {
        $("#resource-form")?.replaceWith(await editor(spec, item));
        $("#resource-form").scrollIntoView({ block: "nearest" });
        $("#resource-form input, #resource-form select")?.focus();
      } }),
      spec.noDelete ? null : h("button", { type: "button", class: "button-small button-danger", text: "Delete",
        onclick: () => act(() => api(`${spec.base}/${item.id}`, { method: "DELETE" }), {
          title: `Delete this ${spec.title.toLowerCase()}?`, text: "It is removed for good.", confirm: "Delete", cancel: "Keep it" }) })))));
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, rows)));
}

// The filter form of a paged list; submitting (or changing a select) reloads from the first page.
async function filterForm(name, spec) {
  const state = listState[name];
  const form = h("form", { class: "inline-form card admin-filters", role: "search", "aria-label": `Find ${spec.title.toLowerCase()}s` });
  for (const f of spec.filters) {
    const id = `flt-${f.name}`;
    const value = state.params.get(f.name) ?? "";
    let control;
    if (f.type === "select") {
      const options = await f.options();
      control = h("select", { id, name: f.name }, f.any ? h("option", { value: "", text: f.any }) : null,
        options.map(([v, label]) => h("option", { value: v, text: label, selected: String(v) === String(value) })));
    } else {
      control = h("input", { id, name: f.name, type: f.type, value, placeholder: f.placeholder, maxlength: f.type === "search" ? 100 : null });
    }
    form.append(h("div", { class: "field" }, h("label", { for: id, text: f.label }), control));
  }
  form.append(h("div", { class: "field" }, h("button", { type: "submit", text: "Show" })));
  const apply = () => {
    const params = new URLSearchParams();
    for (const f of spec.filters) { const v = form.elements[f.name].value.trim(); if (v) params.set(f.name, v); }
    listState[name] = { params, offset: 0 };
    show(name);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") apply(); });
  return form;
}

function pager(name, total, shown) {
  const { offset } = listState[name];
  const go = (to) => { listState[name].offset = to; show(name); };
  const first = total ? offset + 1 : 0;
  return h("nav", { class: "row pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "button-ghost button-small", text: "← Previous", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }),
    h("span", { class: "pager-status", role: "status", text: total ? `${first}–${offset + shown} of ${total}` : "None found" }),
    h("button", { type: "button", class: "button-ghost button-small", text: "Next →", disabled: offset + shown >= total, onclick: () => go(offset + PAGE) }));
}

async function loadList(name, spec) {
  if (!spec.paged) return { items: await spec.load(), nav: [] };
  listState[name] ||= { params: new URLSearchParams(spec.filters.filter((f) => f.value).map((f) => [f.name, f.value])), offset: 0 };
  const { params, offset } = listState[name];
  const query = new URLSearchParams(params);
  query.set("limit", String(PAGE));
  query.set("offset", String(offset));
  const { items, total } = await spec.paged(query);
  return { items, nav: [await filterForm(name, spec), pager(name, total, items.length)] };
}

async function show(name) {
  current = name;
  for (const tab of $$(".tabs [role=tab]")) tab.setAttribute("aria-selected", tab.dataset.tab === name ? "true" : "false");
  history.replaceState(null, "", `/admin#${name}`);
  const spec = RESOURCES[name];
  try {
    const { items, nav } = await loadList(name, spec);
    const parts = [h("h2", { text: `${spec.title}s` })];
    if (!spec.noCreate) parts.push(await editor(spec, null));
    parts.push(...nav.slice(0, 1));
    parts.push(items.length ? table(spec, items) : h("p", { class: "empty", text: nav.length ? "Nothing matches these filters." : "None yet." }));
    parts.push(...nav.slice(1));
    clear(panel).append(...parts);
  } catch (err) {
    clear(panel).append(h("p", { class: "form-error", text: `Could not load: ${err.message}` }));
  }
}

async function init() {
  const user = await me();
  if (!user) { location.assign(loginUrl()); return; }
  if (!hasRole(user, "admin")) { $("#admin-error").textContent = "Only admins can change the catalog."; return; }
  for (const tab of $$(".tabs [role=tab]")) tab.addEventListener("click", () => show(tab.dataset.tab));
  const wanted = location.hash.slice(1);
  show(RESOURCES[wanted] ? wanted : "cinemas");
  // A link or bookmark to another tab of this page (/admin#users) changes only the hash.
  addEventListener("hashchange", () => { const tab = location.hash.slice(1); if (RESOURCES[tab] && tab !== current) show(tab); });
}

init();
