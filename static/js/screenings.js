// Screening lists grouped by a key (cinema or film) and then by day, with links to the seat map.
import { api, listOf } from "./api.js";
import { h, clear, fmtDay, fmtTime, localDate } from "./dom.js";

export async function fetchScreenings(params) {
  const p = new URLSearchParams(params);
  if (!p.has("from")) p.set("from", new Date().toISOString());
  return listOf(await api(`/api/screenings?${p}`), "screenings")
    .filter((s) => (s.status || "scheduled") === "scheduled")
    .sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

function timeLink(s) {
  const screen = s.auditorium_name || s.auditorium?.name;
  const label = `${fmtTime(s.starts_at)}${screen ? ` · ${screen}` : ""}`;
  return h("li", {},
    h("a", { href: `/screenings/${s.id}`, dataset: { screeningId: s.id },
      "aria-label": `${fmtDay(s.starts_at)} ${label}${s.houseful ? ", houseful" : ""}` },
    label, s.houseful ? h("span", { class: "badge badge-houseful", text: " Houseful" }) : null));
}

// groups: [[heading, screenings]] -> cards with one list of times per day.
export function renderGroups(box, groups) {
  clear(box);
  for (const [heading, list] of groups) {
    const days = new Map();
    for (const s of list) {
      const day = localDate(s.starts_at);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(s);
    }
    box.append(h("section", { class: "card" },
      h("h3", { text: heading }),
      ...[...days.values()].flatMap((items) => [
        h("h4", { class: "muted", text: fmtDay(items[0].starts_at) }),
        h("ul", { class: "times" }, items.map(timeLink)),
      ])));
  }
}

export function groupBy(list, keyOf) {
  const groups = new Map();
  for (const s of list) {
    const k = keyOf(s);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(s);
  }
  return [...groups.entries()];
}
