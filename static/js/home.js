// Home: films now showing (title search, genre and date filters), each card with its next times
// (and how full they are), and cinemas by city or near me.
import { api, listOf } from "./api.js";
import { h, $, clear, fmtDay, fmtTime, localDate } from "./dom.js";
import { placeLine } from "./places.js";
import { posterFor } from "./poster.js";
import { availabilityText, serverNow } from "./screenings.js";

const CARD_TIMES = 3;

const form = $("#filters");
const moviesBox = $("#movies");
const moviesStatus = $("#movies-status");

function genreNames(movie) {
  return (movie.genres || []).map((g) => (typeof g === "string" ? g : g.name)).filter(Boolean);
}

function dayName(iso, zone) {
  const now = new Date(serverNow());
  const day = localDate(iso, zone);
  if (day === localDate(now, zone)) return "Today";
  if (day === localDate(new Date(now.getTime() + 86400000), zone)) return "Tomorrow";
  return fmtDay(iso, zone);
}

// The film's first listed day: up to CARD_TIMES times with their city, then "all times".
function cardTimes(movie, screenings) {
  if (!screenings?.length) return null;
  const zone = screenings[0].cinema?.time_zone;
  const day = localDate(screenings[0].starts_at, zone);
  const sameDay = screenings.filter((s) => localDate(s.starts_at, s.cinema?.time_zone) === day);
  const label = dayName(screenings[0].starts_at, zone);
  const more = sameDay.length - CARD_TIMES;
  return h("div", { class: "card-times" },
    h("p", { class: "card-times-day", text: label }),
    h("ul", {}, sameDay.slice(0, CARD_TIMES).map((s) => {
      const avail = availabilityText(s);
      const where = s.cinema?.city || s.cinema?.name || "";
      return h("li", {}, h("a", {
        class: `time-chip${avail ? ` is-${avail[1]}` : ""}`, href: `/screenings/${s.id}`,
        "aria-label": [`${label} ${fmtTime(s.starts_at, s.cinema?.time_zone)}`, s.cinema?.name, s.auditorium?.name, avail?.[0]].filter(Boolean).join(", "),
      }, h("strong", { text: fmtTime(s.starts_at, s.cinema?.time_zone) }), ` ${where}`,
      avail && avail[1] !== "available" ? h("span", { class: `chip-flag avail-${avail[1]}`, text: avail[1] === "houseful" ? "Houseful" : "Almost full" }) : null));
    })),
    h("a", { class: "card-times-more", href: `/movies/${movie.id}?date=${day}`, text: more > 0 ? `+${more} more times` : "All times" }));
}

function movieCard(movie, screenings) {
  const meta = [movie.certificate, movie.runtime_minutes ? `${movie.runtime_minutes} min` : null].filter(Boolean).join(" · ");
  return h("article", { class: "movie-card", role: "listitem", dataset: { movieId: movie.id } },
    posterFor(movie),
    h("div", { class: "body" },
      h("h3", {}, h("a", { class: "movie-link", href: `/movies/${movie.id}`, text: movie.title })),
      h("p", { class: "muted", text: [meta, genreNames(movie).join(", ")].filter(Boolean).join(" — ") }),
      cardTimes(movie, screenings)));
}

// One listing for every card: the screenings of the chosen day (or from now), by film.
async function timesByMovie(params) {
  const p = new URLSearchParams({ limit: "200" });
  if (params.get("from")) { p.set("from", params.get("from")); p.set("to", params.get("to")); }
  try {
    const byMovie = new Map();
    for (const s of listOf(await api(`/api/screenings?${p}`), "screenings")) {
      if (!byMovie.has(s.movie.id)) byMovie.set(s.movie.id, []);
      byMovie.get(s.movie.id).push(s);
    }
    return byMovie;
  } catch { return new Map(); }  // the cards still show without times
}

function query() {
  const params = new URLSearchParams();
  const q = form.q.value.trim();
  if (q) params.set("q", q);
  if (form.genre.value) params.set("genre", form.genre.value);
  // A bare date: the server takes it as that whole day in the cinemas' time zone.
  if (form.date.value) {
    params.set("from", form.date.value);
    params.set("to", form.date.value);
  }
  return params;
}

let seq = 0;
async function loadMovies() {
  const mine = ++seq;  // ignore answers to older searches
  const params = query();
  history.replaceState(null, "", params.toString() ? `/?${params}` : "/");
  moviesStatus.textContent = "Loading films…";
  try {
    const [found, times] = await Promise.all([api(`/api/movies?${params}`), timesByMovie(params)]);
    const movies = listOf(found, "movies");
    if (mine !== seq) return;
    clear(moviesBox).append(...movies.map((m) => movieCard(m, times.get(m.id))));
    moviesStatus.textContent = movies.length ? `${movies.length} film${movies.length === 1 ? "" : "s"}` : "No films match — try another search or date.";
  } catch (err) {
    if (mine === seq) moviesStatus.textContent = `Could not load films: ${err.message}`;
  }
}

async function loadGenres() {
  try {
    const genres = listOf(await api("/api/genres"), "genres");
    const wanted = new URLSearchParams(location.search).get("genre");
    for (const g of genres) {
      const name = typeof g === "string" ? g : g.name;
      form.genre.append(h("option", { value: name, text: name, selected: name === wanted }));
    }
  } catch { /* the filter still works without the list */ }
}

function cinemaItem(c) {
  const dist = c.distance_km ?? c.distance;
  return h("li", { class: "card cinema-card" },
    h("h3", {}, h("a", { href: `/cinemas/${c.id}`, text: c.name })),
    h("p", { class: "muted", text: placeLine(c) }),
    h("p", { class: "row cinema-card-foot" },
      h("a", { href: `/cinemas/${c.id}`, text: "Times and tickets" }),
      dist !== undefined && dist !== null ? h("span", { class: "badge", text: `${Number(dist).toFixed(1)} km away` }) : null));
}

async function loadCinemas(params = new URLSearchParams()) {
  const status = $("#cinemas-status");
  try {
    const cinemas = listOf(await api(`/api/cinemas?${params}`), "cinemas");
    clear($("#cinemas")).append(...cinemas.map(cinemaItem));
    status.textContent = cinemas.length ? "" : "No cinemas found.";
    return cinemas;
  } catch (err) {
    status.textContent = `Could not load cinemas: ${err.message}`;
    return [];
  }
}

async function initCities() {
  const all = await loadCinemas();
  const cities = [...new Set(all.map((c) => c.city))].sort();
  for (const city of cities) $("#city").append(h("option", { value: city, text: city }));
  $("#city").addEventListener("change", (e) => {
    const p = new URLSearchParams();
    if (e.target.value) p.set("city", e.target.value);
    loadCinemas(p);
  });
  $("#near-me").addEventListener("click", () => {
    const status = $("#cinemas-status");
    if (!navigator.geolocation) { status.textContent = "Your browser cannot share its location."; return; }
    status.textContent = "Finding cinemas near you…";
    navigator.geolocation.getCurrentPosition(
      (pos) => loadCinemas(new URLSearchParams({ lat: pos.coords.latitude.toFixed(5), lon: pos.coords.longitude.toFixed(5) })),
      () => { status.textContent = "Location not available — pick a city instead."; },
      { timeout: 10000, maximumAge: 600000 });
  });
}

function restore() {
  const p = new URLSearchParams(location.search);
  form.q.value = p.get("q") || "";
  const from = p.get("from");
  if (from) form.date.value = from.length === 10 ? from : localDate(from);
  showFilterCount();
}

// On a phone the genre and date filters fold away behind "Filters (n)", so films come first.
function showFilterCount() {
  const n = [form.genre.value, form.date.value].filter(Boolean).length;
  $("#filters-toggle").textContent = n ? `Filters (${n})` : "Filters";
}
$("#filters-toggle").addEventListener("click", () => {
  const open = $("#filters-toggle").getAttribute("aria-expanded") !== "true";
  $("#filters-toggle").setAttribute("aria-expanded", String(open));
  $("#filter-more").dataset.open = String(open);
});
form.addEventListener("change", showFilterCount);

let timer = null;
form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadMovies, 250); });
form.addEventListener("submit", (e) => { e.preventDefault(); loadMovies(); });
form.addEventListener("reset", () => setTimeout(() => { showFilterCount(); loadMovies(); }, 0));
restore();
loadGenres().then(() => { showFilterCount(); loadMovies(); });
initCities();
