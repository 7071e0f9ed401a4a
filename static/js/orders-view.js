// An order as a card: film, time and status, then the tickets (QR codes) first, the seats and total,
// and last (where allowed) "Cancel order…", which asks before it refunds.
import { api } from "./api.js";
import { h, money, fmtDateTime } from "./dom.js";

const STATUS = {
  pending: "Waiting for payment", authorised: "Payment authorised — confirming seats", paid: "Paid",
  failed: "Payment failed", cancelled: "Cancelled", refunded: "Refunded", expired: "Expired",
};

export const FINAL = new Set(["paid", "failed", "cancelled", "refunded", "expired"]);

function ticketQr(t) {
  const src = t.qr_svg || t.qr_url || `/api/tickets/${t.id}/qr.svg`;
  return h("figure", { class: "ticket-qr" },
    h("div", { class: "qr" }, h("img", { src, alt: `QR code for row ${t.row} seat ${t.number}`, width: 132, height: 132 })),
    h("figcaption", {}, h("span", { text: `Row ${t.row} seat ${t.number}` }), h("code", { class: "ticket-code", text: t.code || "" })));
}

function seatText(t) {
  return t.row ? `Row ${t.row} seat ${t.number}` : `Seat ${t.seat_id}`;
}

// The server decides whether a paid order may still be cancelled (its clock, the cutoff, used tickets).
function canCancel(order) {
  return order.can_cancel === true;
}

// "Cancel order…" opens a confirmation that says what happens; only its second button cancels.
function cancelControl(order, onChange) {
  const open = h("button", { type: "button", class: "button-ghost button-small cancel-open", text: "Cancel order…", "aria-expanded": "false" });
  const note = h("p", { class: "form-error", role: "alert" });
  const confirm = h("button", { type: "button", class: "button-danger button-small", text: "Yes, cancel and refund" });
  const keep = h("button", { type: "button", class: "button-ghost button-small", text: "Keep my tickets" });
  const panel = h("div", { class: "cancel-confirm", role: "group", "aria-label": "Cancel this order?", hidden: true },
    h("p", { text: `Cancel order ${order.order_key}? Your seats are released and ${money(order.amount)} is refunded to your card. This cannot be undone.` }),
    h("div", { class: "row" }, confirm, keep));
  const toggle = (show) => { panel.hidden = !show; open.setAttribute("aria-expanded", String(show)); (show ? confirm : open).focus(); };
  open.addEventListener("click", () => toggle(panel.hidden));
  keep.addEventListener("click", () => toggle(false));
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      await api(`/api/orders/${order.order_key}/cancel`, { method: "POST" });
      onChange?.();
    } catch (err) { note.textContent = err.message; confirm.disabled = false; }
  });
  return h("div", { class: "order-cancel" }, open, panel, note);
}

export function orderCard(order, { onChange } = {}) {
  const s = order.screening || {};
  const tickets = order.tickets || [];
  const live = tickets.filter((t) => (t.status || "live") === "live");
  const seats = tickets.length ? tickets : order.seats || [];
  const card = h("article", { class: "card order", dataset: { orderKey: order.order_key, status: order.status } },
    h("h2", { text: s.movie_title || "Screening" }),
    h("p", { class: "muted", text: [s.starts_at && fmtDateTime(s.starts_at, s.time_zone), s.cinema, s.auditorium].filter(Boolean).join(" · ") }),
    h("p", { class: "row" }, h("span", { class: `badge order-status ${order.status === "paid" ? "badge-ok" : FINAL.has(order.status) ? "" : "badge-warn"}`, text: STATUS[order.status] || order.status }),
      h("span", {}, "Order ", h("span", { class: "order-key", text: order.order_key }))),
    order.status === "paid" && live.length ? h("div", { class: "qr-list" }, live.map(ticketQr)) : null,
    seats.length ? h("ul", { class: "selection-list" }, seats.map((t) => h("li", {},
      h("span", { text: seatText(t) }),
      h("span", { text: t.status === "cancelled" ? "cancelled" : t.checked_in_at ? "checked in" : money(t.price) })))) : null,
    h("p", { class: "row spread" }, h("span", { text: "Total" }), h("strong", { text: money(order.amount) })),
    order.failure_reason ? h("p", { class: "form-error failure", text: order.failure_message || order.failure_reason }) : null,
    order.status === "pending" && order.payment_url ? h("p", {}, h("a", { class: "button", href: order.payment_url, text: "Continue to payment" })) : null,
    canCancel(order) ? cancelControl(order, onChange) : null);
  return card;
}
