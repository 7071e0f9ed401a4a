// Result page after the payment page: follow the order until it is final, then show the tickets.
import { api } from "./api.js";
import { $, clear, loginUrl } from "./dom.js";
import { orderCard, FINAL } from "./orders-view.js";

const key = document.getElementById("main").dataset.orderKey;
const started = Date.now();

const HEADLINE = {
  paid: ["Enjoy the film! Your tickets are below — show the QR code at the door.", "ok"],
  failed: ["The payment did not go through, so nothing was charged. Your seats have been released.", "error"],
  expired: ["The order expired before it was paid. Choose your seats again.", "error"],
  cancelled: ["This order was cancelled.", "info"],
  refunded: ["This order was refunded.", "info"],
};

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
  const [text, kind] = HEADLINE[order.status] || ["Confirming your payment…", "info"];
  const status = $("#order-status");
  status.textContent = text;
  status.dataset.kind = kind;
  document.body.dataset.orderStatus = order.status;
  if (!FINAL.has(order.status) && Date.now() - started < 120000) setTimeout(poll, 700);
}

poll();
