// Result page after the payment page: follow the order until it is final, then show the tickets.
// A declined card leaves the seats held: while they are, "Try another card" pays them in a new
// order (Idempotency-Key retry-<this order's key>, so a double click makes one order).
import { api } from "./api.js";
import { $, clear, fmtTime, h, loginUrl } from "./dom.js";
import { orderCard, FINAL } from "./orders-view.js";

const key = document.getElementById("main").dataset.orderKey;
const started = Date.now();
let retryTimer = null;

const HEADLINE = {
  paid: ["Enjoy the film! Your tickets are below — show the QR code at the door.", "ok"],
  expired: ["The order expired before it was paid. Choose your seats again.", "error"],
  cancelled: ["This order was cancelled.", "info"],
  refunded: ["This order was refunded.", "info"],
};

function headline(order) {
  if (order.status !== "failed") return HEADLINE[order.status] || ["Confirming your payment…", "info"];
  const text = order.failure_message || "The payment did not go through. Nothing was charged.";
  const held = order.retry_until ? ` Your seats are still held for you until ${fmtTime(order.retry_until)}.` : "";
  return [text + held, "error"];
}

// A new order for the same held seats, then straight to its payment page.
async function retry(order, button, note) {
  button.disabled = true;
  note.textContent = "";
  try {
    const body = { screening_id: order.screening.id, seat_ids: order.seats.map((s) => s.seat_id) };
    const created = await api("/api/orders", { method: "POST", body, headers: { "Idempotency-Key": `retry-${order.order_key}` } });
    if (created.payment_url) { location.assign(created.payment_url); return; }
    location.assign(`/orders/${created.order_key}`);
  } catch (err) {
    note.textContent = err.code === "not_held" ? "Your seats are no longer held — choose them again." : err.message;
    button.disabled = false;
  }
}

function retryOffer(order) {
  const box = clear($("#order-retry"));
  clearTimeout(retryTimer);
  box.hidden = !order.retry_until;
  if (!order.retry_until) return;
  const button = h("button", { type: "button", id: "retry-payment", text: "Try another card" });
  const note = h("span", { class: "form-error", role: "alert" });
  button.addEventListener("click", () => retry(order, button, note));
  box.append(button, " ", h("a", { class: "button button-ghost", href: `/screenings/${order.screening.id}`, text: "Change seats" }), note);
  // When the hold runs out the offer goes: ask the server again just after the deadline.
  retryTimer = setTimeout(poll, Math.max(0, new Date(order.retry_until).getTime() - Date.now()) + 1000);
}

// Paid: the buyer may come back for more seats. Through a waiting room, the admission lasts its
// whole window, paid or not (docs/waiting-room.md); after it the seat map sends them to the line.
function moreOffer(order) {
  const box = clear($("#order-more"));
  box.hidden = order.status !== "paid" || !order.screening;
  if (box.hidden) return;
  box.append(h("a", { class: "button button-ghost", id: "more-seats", href: `/screenings/${order.screening.id}`,
                      text: "Buy more seats for this showing" }));
}

async function poll() {
  let order;
  try {
    const data = await api(`/api/orders/${key}`);
    order = data.order || data;
  } catch (err) {
    if (err.status === 401) { location.assign(loginUrl()); return; }
    $("#order-status").textContent = err.status === 404 ? "Order not found." : `Could not load the order: ${err.message}`;
    $("#order-status").dataset.kind = "error";
    return;
  }
  clear($("#order")).append(orderCard(order, { onChange: poll }));
  const [text, kind] = headline(order);
  const status = $("#order-status");
  status.textContent = text;
  status.dataset.kind = kind;
  document.body.dataset.orderStatus = order.status;
  retryOffer(order);
  moreOffer(order);
  if (!FINAL.has(order.status) && Date.now() - started < 120000) setTimeout(poll, 700);
}

poll();
