// Movie page: details, then its screenings grouped by cinema and day.
import { api, listOf } from "./api.js";
import { h, $, clear } from "./dom.js";
import { fetchScreenings, renderGroups, groupBy } from "./screenings.js";
import { posterFor } from "./poster.js";

const movieId = document.getElementById("main").dataset.movieId;

async function loadMovie() {
  const data = await api(`/api/movies/${movieId}`);
  const m = data.movie || data;
  document.title = `${m.title} · Houseful`;
  $("#title").textContent = m.title;
  const genres = (m.genres || []).map((g) => (typeof g === "string" ? g : g.name));
  $("#meta").textContent = [m.certificate, m.runtime_minutes && `${m.runtime_minutes} min`,
    m.release_date && m.release_date.slice(0, 4), genres.join(", "), m.score && `★ ${m.score}`].filter(Boolean).join(" · ");
  $("#synopsis").textContent = m.synopsis || "";
  const cast = Array.isArray(m.cast) ? m.cast.join(", ") : m.cast || "";
  $("#credits").textContent = [m.director && `Directed by ${m.director}`, cast && `With ${cast}`].filter(Boolean).join(". ");
  clear($("#poster")).append(posterFor(m));
}

async function loadScreenings() {
  const status = $("#screenings-status");
  const screenings = await fetchScreenings({ movie_id: movieId });
  let names = {};
  if (screenings.some((s) => !s.cinema_name)) {
    try { names = Object.fromEntries(listOf(await api("/api/cinemas"), "cinemas").map((c) => [c.id, c.name])); } catch { /* ids then */ }
  }
  const groups = groupBy(screenings, (s) => s.cinema_name || names[s.cinema_id] || `Cinema ${s.cinema_id}`);
  renderGroups($("#screenings"), groups);
  status.textContent = screenings.length ? "" : "No upcoming screenings.";
}

Promise.all([loadMovie(), loadScreenings()])
  .catch((err) => { $("#title").textContent = err.status === 404 ? "Film not found" : `Could not load: ${err.message}`; $("#screenings-status").textContent = ""; })
  .finally(() => $("#movie").setAttribute("aria-busy", "false"));
