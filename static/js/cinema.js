// Cinema page: a strip of days, then the films showing there on the chosen day with their times.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { renderListing } from "./screenings.js";
import { placeLine } from "./places.js";

const cinemaId = document.getElementById("main").dataset.cinemaId;

async function load() {
  // No `from`: the server lists what is on from its own now.
  const data = await api(`/api/cinemas/${cinemaId}/movies`);
  const c = data.cinema;
  document.title = `${c.name} · Houseful`;
  $("#title").textContent = c.name;
  $("#meta").textContent = placeLine(c);
  const groups = (data.movies || []).map((m) => [m.title, m.screenings || [], c.time_zone, `/movies/${m.id}`])
    .filter(([, list]) => list.length);
  const days = renderListing($("#screenings"), $("#days"), groups);
  $("#screenings-status").textContent = days ? "" : "No upcoming screenings.";
}

load().catch((err) => { $("#title").textContent = `Could not load: ${err.message}`; $("#screenings-status").textContent = ""; });
