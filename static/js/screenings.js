// Screening lists grouped by a key (cinema or film) and then by the cinema's local day, with links
// to the seat map. Times are the cinema's local times (dom.js labels them when the viewer's differ).
import { h, clear, fmtDay, fmtTime, localDate } from "./dom.js";

function timeLink(s, zone) {
  const screen = s.auditorium_name || s.auditorium?.name;
  const label = `${fmtTime(s.starts_at, zone)}${screen ? ` · ${screen}` : ""}`;
  return h("li", {},
    h("a", { href: `/screenings/${s.id}`, dataset: { screeningId: s.id },
      "aria-label": `${fmtDay(s.starts_at, zone)} ${label}${s.houseful ? ", houseful" : ""}` },
    label, s.houseful ? h("span", { class: "badge badge-houseful", text: " Houseful" }) : null));
}

// groups: [[heading, screenings, the cinema's time zone]] -> cards with one list of times per day.
export function renderGroups(box, groups) {
  clear(box);
  for (const [heading, list, zone] of groups) {
    const days = new Map();
    for (const s of list) {
      const day = localDate(s.starts_at, zone);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(s);
    }
    box.append(h("section", { class: "card" },
      h("h3", { text: heading }),
      ...[...days.values()].flatMap((items) => [
        h("h4", { class: "muted", text: fmtDay(items[0].starts_at, zone) }),
        h("ul", { class: "times" }, items.map((s) => timeLink(s, zone))),
      ])));
  }
}
