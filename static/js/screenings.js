// Screening listings (a cinema's films, a film's cinemas): a strip of days, then per group the
// day's times, each with its screen, the lowest price and how full it is (free seats, almost
// full, houseful: live from the API's `availability`). Times are the cinema's local times
// (dom.js labels them when the viewer's clock differs); "today" is the server's, not the browser's.
import { h, clear, fmtDay, fmtTime, localDate, money } from "./dom.js";

// The server's now, rendered into the page (the browser's clock may be wrong or elsewhere).
export const serverNow = () => document.body.dataset.now || new Date().toISOString();

function priceFrom(s) {
  const prices = Object.values(s.prices || {}).filter((p) => Number.isFinite(p));
  return prices.length ? Math.min(...prices) : null;
}

// "86 seats free" / "Almost full · 8 left" / "Houseful", and a class for its colour.
export function availabilityText(s) {
  const a = s.availability;
  if (!a) return s.houseful ? ["Houseful", "houseful"] : null;
  if (a.level === "houseful") return ["Houseful", "houseful"];
  if (a.level === "almost_full") return [`Almost full · ${a.free} left`, "almost-full"];
  return [`${a.free} seats free`, "available"];
}

function timeLink(s, zone) {
  const screen = s.auditorium_name || s.auditorium?.name;
  const from = priceFrom(s);
  const avail = availabilityText(s);
  const spoken = [fmtDay(s.starts_at, zone), fmtTime(s.starts_at, zone), screen, from !== null && `from ${money(from)}`, avail?.[0]]
    .filter(Boolean).join(", ");
  return h("li", {},
    h("a", { class: `time-slot${avail ? ` is-${avail[1]}` : ""}`, href: `/screenings/${s.id}`, dataset: { screeningId: s.id }, "aria-label": spoken },
      h("span", { class: "time-slot-time", text: fmtTime(s.starts_at, zone) }),
      screen ? h("span", { class: "time-slot-meta", text: screen }) : null,
      from !== null ? h("span", { class: "time-slot-meta", text: `from ${money(from)}` }) : null,
      avail ? h("span", { class: `time-slot-avail avail-${avail[1]}`, text: avail[0] }) : null));
}

function dayLabel(day, today, tomorrow, sample, zone) {
  if (day === today) return "Today";
  if (day === tomorrow) return "Tomorrow";
  return fmtDay(sample, zone);
}

// groups: [[heading, screenings, the cinema's time zone, optional link]].
// Renders the day strip into `strip` and the chosen day's times into `box`; the day is kept in
// the URL (?date=YYYY-MM-DD) so it can be shared. Returns the number of days with screenings.
export function renderListing(box, strip, groups) {
  const zoneOf = groups[0]?.[2];
  const now = new Date(serverNow());
  const today = localDate(now, zoneOf);
  const tomorrow = localDate(new Date(now.getTime() + 86400000), zoneOf);
  const days = new Map();  // day -> a start time on it (for its label)
  for (const [, list, zone] of groups) for (const s of list) {
    const day = localDate(s.starts_at, zone);
    if (!days.has(day)) days.set(day, { iso: s.starts_at, zone });
  }
  const order = [...days.keys()].sort();
  const wanted = new URLSearchParams(location.search).get("date");
  let chosen = order.includes(wanted) ? wanted : order[0];

  function show() {
    for (const b of strip.querySelectorAll("button")) b.setAttribute("aria-pressed", b.dataset.day === chosen ? "true" : "false");
    clear(box);
    for (const [heading, list, zone, link] of groups) {
      const items = list.filter((s) => localDate(s.starts_at, zone) === chosen);
      if (!items.length) continue;
      box.append(h("section", { class: "card listing-group" },
        h("h3", {}, link ? h("a", { href: link, text: heading }) : heading),
        h("ul", { class: "times" }, items.map((s) => timeLink(s, zone)))));
    }
  }

  clear(strip).append(...order.map((day) => h("button", {
    type: "button", class: "day-button", dataset: { day }, "aria-pressed": "false",
    text: dayLabel(day, today, tomorrow, days.get(day).iso, days.get(day).zone),
    onclick: () => {
      chosen = day;
      const params = new URLSearchParams(location.search);
      params.set("date", day);
      history.replaceState(null, "", `${location.pathname}?${params}`);
      show();
    },
  })));
  strip.hidden = order.length === 0;
  if (order.length) show(); else clear(box);
  return order.length;
}
