// Cinema page: the films showing there, each with its screenings by day.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { renderGroups } from "./screenings.js";

const cinemaId = document.getElementById("main").dataset.cinemaId;

async function load() {
  // No `from`: the server lists what is on from its own now.
  const data = await api(`/api/cinemas/${cinemaId}/movies`);
  const c = data.cinema;
  document.title = `${c.name} · Houseful`;
  $("#title").textContent = c.name;
  $("#meta").textContent = [c.address, c.city].filter(Boolean).join(", ");
  const groups = (data.movies || []).map((m) => [m.title, m.screenings || [], c.time_zone]).filter(([, list]) => list.length);
  renderGroups($("#screenings"), groups);
  $("#screenings-status").textContent = groups.length ? "" : "No upcoming screenings.";
}

load().catch((err) => { $("#title").textContent = err.status === 404 ? "Cinema not found" : `Could not load: ${err.message}`; });
