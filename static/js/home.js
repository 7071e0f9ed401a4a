// Home: films now showing (title search, genre and date filters) and cinemas by city or near me.
import { api, listOf } from "./api.js";
import { h, $, clear, localDate } from "./dom.js";
import { posterFor } from "./poster.js";

const form = $("#filters");
const moviesBox = $("#movies");
const moviesStatus = $("#movies-status");

function genreNames(movie) {
  return (movie.genres || []).map((g) => (typeof g === "string" ? g : g.name)).filter(Boolean);
}

function movieCard(movie) {
  const meta = [movie.certificate, movie.runtime_minutes ? `${movie.runtime_minutes} min` : null].filter(Boolean).join(" · ");
  return h("a", { class: "movie-card", href: `/movies/${movie.id}`, dataset: { movieId: movie.id } },
    posterFor(movie),
    h("div", { class: "body" },
      h("h3", { text: movie.title }),
      h("p", { class: "muted", text: [meta, genreNames(movie).join(", ")].filter(Boolean).join(" — ") })));
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
    const movies = listOf(await api(`/api/movies?${params}`), "movies");
    if (mine !== seq) return;
    clear(moviesBox).append(...movies.map(movieCard));
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
  return h("li", { class: "card" },
    h("h3", { text: c.name }),
    h("p", { class: "muted", text: [c.address, c.city].filter(Boolean).join(", ") }),
    dist !== undefined && dist !== null ? h("p", { class: "badge", text: `${Number(dist).toFixed(1)} km away` }) : null,
    h("a", { href: `/cinemas/${c.id}`, text: "Screenings" }));
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
}

let timer = null;
form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadMovies, 250); });
form.addEventListener("submit", (e) => { e.preventDefault(); loadMovies(); });
form.addEventListener("reset", () => setTimeout(loadMovies, 0));
restore();
loadGenres().then(loadMovies);
initCities();
