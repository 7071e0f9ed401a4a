// Movie page: details, then a strip of days and the chosen day's screenings by cinema.
import { api } from "./api.js";
import { $, clear } from "./dom.js";
import { renderListing } from "./screenings.js";
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
  showScreenings(m);
}

// GET /api/movies/{id} carries its upcoming screenings grouped by cinema.
function showScreenings(m) {
  const groups = (m.cinemas || []).map((g) => [`${g.cinema.name} — ${g.cinema.city}`,
    (g.screenings || []).filter((s) => (s.status || "scheduled") === "scheduled"), g.cinema.time_zone,
    `/cinemas/${g.cinema.id}`])
    .filter(([, list]) => list.length);
  const days = renderListing($("#screenings"), $("#days"), groups);
  $("#screenings-status").textContent = days ? "" : "No upcoming screenings.";
}

loadMovie()
  .catch((err) => { $("#title").textContent = `Could not load: ${err.message}`; $("#screenings-status").textContent = ""; })
  .finally(() => $("#movie").setAttribute("aria-busy", "false"));
