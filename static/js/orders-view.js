// An order as a card: film, time, seats, total, status, QR code and (where allowed) a cancel button.
import { api } from "./api.js";
import { h, money, fmtDateTime } from "./dom.js";

const STATUS = {
  pending: "Waiting for payment", authorised: "Payment authorised — confirming seats", paid: "Paid",
  failed: "Payment failed", cancelled: "Cancelled", refunded: "Refunded", expired: "Expired",
};

export const FINAL = new Set(["paid", "failed", "cancelled", "refunded", "expired"]);

function qrImage(order) {
  const src = order.qr_url || order.qr || order.qr_svg_url || (order.qr_svg && `data:image/svg+xml;charset=utf-8,${encodeURIComponent(order.qr_svg)}`);
  const url = src || `/api/orders/${order.order_key}/qr.svg`;
  return h("div", { class: "qr" }, h("img", { src: url, alt: `QR code for order ${order.order_key}`, width: 132, height: 132 }));
}

function seatText(t) {
  if (t.row || t.row_label) return `Row ${t.row || t.row_label} seat ${t.number}`;
  return `Seat ${t.seat_id}`;
}

function canCancel(order) {
  if (order.can_cancel !== undefined) return order.can_cancel;
  if (order.cancellable !== undefined) return order.cancellable;
  return order.status === "paid";
}

export function orderCard(order, { onChange } = {}) {
  const s = order.screening || {};
  const title = order.movie_title || s.movie_title || s.title || "Screening";
  const when = order.starts_at || s.starts_at;
  const tickets = order.tickets || [];
  const live = tickets.filter((t) => (t.status || "live") === "live");
  const card = h("article", { class: "card ticket", dataset: { orderKey: order.order_key, status: order.status } },
    h("div", {},
      h("h2", { text: title }),
      h("p", { class: "muted", text: [when && fmtDateTime(when), order.cinema_name || s.cinema_name, order.auditorium_name || s.auditorium_name].filter(Boolean).join(" · ") }),
      h("p", {}, "Order ", h("span", { class: "order-key", text: order.order_key })),
      h("p", {}, h("span", { class: `badge ${order.status === "paid" ? "badge-ok" : FINAL.has(order.status) ? "" : "badge-warn"}`, text: STATUS[order.status] || order.status }),
        " ", h("strong", { text: money(order.amount) })),
      tickets.length ? h("ul", { class: "selection-list" }, tickets.map((t) => h("li", {},
        h("span", { text: seatText(t) }),
        h("span", { text: t.status === "cancelled" ? "cancelled" : t.checked_in_at ? "checked in" : money(t.price) })))) : null,
      order.failure_reason ? h("p", { class: "form-error", text: order.failure_reason }) : null),
    order.status === "paid" && (live.length || !tickets.length) ? qrImage(order) : null);
  if (order.status === "paid" && canCancel(order)) {
    const button = h("button", { type: "button", class: "button-danger button-small", text: "Cancel order" });
    const note = h("p", { class: "form-error", role: "alert" });
    button.addEventListener("click", async () => {
      if (!window.confirm(`Cancel order ${order.order_key}? Your seats will be released and the payment refunded.`)) return;
      button.disabled = true;
      try {
        await api(`/api/orders/${order.order_key}/cancel`, { method: "POST", body: {} });
        onChange?.();
      } catch (err) { note.textContent = err.message; button.disabled = false; }
    });
    card.firstChild.append(h("div", { class: "row" }, button), note);
  }
  return card;
}
