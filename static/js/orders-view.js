// An order as a card: film, time, seats, total, status, QR code and (where allowed) a cancel button.
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

// Customers may cancel a paid order until checkout.cancel_cutoff_minutes before the show.
function canCancel(order, live) {
  const starts = order.screening?.starts_at;
  const cutoff = Number(document.body.dataset.cancelCutoff || 120) * 60000;
  return order.status === "paid" && live.length > 0 && (!starts || new Date(starts).getTime() - Date.now() > cutoff);
}

export function orderCard(order, { onChange } = {}) {
  const s = order.screening || {};
  const tickets = order.tickets || [];
  const live = tickets.filter((t) => (t.status || "live") === "live");
  const seats = tickets.length ? tickets : order.seats || [];
  const info = h("div", {},
    h("h2", { text: s.movie_title || "Screening" }),
    h("p", { class: "muted", text: [s.starts_at && fmtDateTime(s.starts_at, s.time_zone), s.cinema, s.auditorium].filter(Boolean).join(" · ") }),
    h("p", {}, "Order ", h("span", { class: "order-key", text: order.order_key })),
    h("p", {}, h("span", { class: `badge order-status ${order.status === "paid" ? "badge-ok" : FINAL.has(order.status) ? "" : "badge-warn"}`, text: STATUS[order.status] || order.status }),
      " ", h("strong", { text: money(order.amount) })),
    seats.length ? h("ul", { class: "selection-list" }, seats.map((t) => h("li", {},
      h("span", { text: seatText(t) }),
      h("span", { text: t.status === "cancelled" ? "cancelled" : t.checked_in_at ? "checked in" : money(t.price) })))) : null,
    order.failure_reason ? h("p", { class: "form-error failure", text: order.failure_message || order.failure_reason }) : null,
    order.status === "pending" && order.payment_url ? h("p", {}, h("a", { class: "button", href: order.payment_url, text: "Continue to payment" })) : null);
  const card = h("article", { class: "card order", dataset: { orderKey: order.order_key, status: order.status } }, info);
  if (order.status === "paid" && live.length) card.append(h("div", { class: "qr-list" }, live.map(ticketQr)));
  if (canCancel(order, live)) {
    const button = h("button", { type: "button", class: "button-danger button-small", text: "Cancel order" });
    const note = h("p", { class: "form-error", role: "alert" });
    button.addEventListener("click", async () => {
      if (!window.confirm(`Cancel order ${order.order_key}? Your seats will be released and the payment refunded.`)) return;
      button.disabled = true;
      try {
        await api(`/api/orders/${order.order_key}/cancel`, { method: "POST" });
        onChange?.();
      } catch (err) { note.textContent = err.message; button.disabled = false; }
    });
    info.append(h("div", { class: "row" }, button), note);
  }
  return card;
}
