// Cinema page: its screenings grouped by film and day.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { fetchScreenings, renderGroups, groupBy } from "./screenings.js";

const cinemaId = document.getElementById("main").dataset.cinemaId;

async function load() {
  const data = await api(`/api/cinemas/${cinemaId}`);
  const c = data.cinema || data;
  document.title = `${c.name} · Houseful`;
  $("#title").textContent = c.name;
  $("#meta").textContent = [c.address, c.city].filter(Boolean).join(", ");
  const screenings = await fetchScreenings({ cinema_id: cinemaId });
  renderGroups($("#screenings"), groupBy(screenings, (s) => s.movie_title || s.title || `Film ${s.movie_id}`));
  $("#screenings-status").textContent = screenings.length ? "" : "No upcoming screenings.";
}

load().catch((err) => { $("#title").textContent = err.status === 404 ? "Cinema not found" : `Could not load: ${err.message}`; });
