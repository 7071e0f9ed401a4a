// The seat map's words: seat names ("G5–G6, H2"), the sticky selection bar and the message toast
// that says, in the viewport, why a click did nothing (or that a hold ran out).
import { $, clear, h, money } from "./dom.js";
import { kindName } from "./kinds.js";

// Seats as people say them: runs in a row joined ("G5–G6"), rows front to back.
export function seatNames(seats) {
  const rows = new Map();
  for (const s of [...seats].sort((a, b) => a.y - b.y || a.number - b.number)) {
    if (!rows.has(s.row)) rows.set(s.row, []);
    rows.get(s.row).push(s.number);
  }
  const parts = [];
  for (const [row, numbers] of rows) {
    let start = numbers[0];
    for (let i = 1; i <= numbers.length; i++) {
      if (i < numbers.length && numbers[i] === numbers[i - 1] + 1) continue;
      const end = numbers[i - 1];
      parts.push(end === start ? `${row}${start}` : `${row}${start}–${row}${end}`);
      start = numbers[i];
    }
  }
  return parts.join(", ");
}

// The toast above the selection bar: role="alert", stays until the next action or ×.
export function message(text, kind = "error") {
  const box = $("#seat-message");
  $("#seat-message-text").textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}
$("#seat-message-close").addEventListener("click", () => message(""));

// picked: my seats (or a guest's chosen ones) in map order; priceOf(seat) in minor units.
export function renderSelection(picked, priceOf, { user, checkoutUrl, loginUrl }) {
  clear($("#my-seats")).append(...picked.map((s) => h("li", {},
    h("span", { text: `Row ${s.row} seat ${s.number} · ${kindName(s.kind)}` }), h("span", { text: money(priceOf(s)) }))));
  $("#no-seats").hidden = picked.length > 0;
  const total = picked.reduce((sum, s) => sum + priceOf(s), 0);
  $("#total").textContent = picked.length ? money(total) : "—";
  $("#bar-count").textContent = picked.length
    ? `${picked.length} seat${picked.length === 1 ? "" : "s"}${user ? "" : " chosen"}` : "No seats yet";
  $("#bar-seats").textContent = picked.length ? seatNames(picked) : user ? "Pick seats on the map" : "Pick seats, then log in";
  const checkout = $("#checkout");
  const href = picked.length ? (user ? checkoutUrl : loginUrl) : null;
  checkout.setAttribute("aria-disabled", href ? "false" : "true");
  checkout.href = href || "#";
  checkout.textContent = user || !picked.length ? "Continue" : "Log in to continue";
}
