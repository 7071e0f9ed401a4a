// My tickets: every order, newest first, with QR codes and cancel where allowed.
import { api, listOf, me } from "./api.js";
import { $, clear, loginUrl } from "./dom.js";
import { orderCard } from "./orders-view.js";

async function load() {
  if (!(await me())) { location.assign(loginUrl()); return; }
  const status = $("#tickets-status");
  try {
    const orders = listOf(await api("/api/orders"), "orders");
    clear($("#orders")).append(...orders.map((o) => orderCard(o, { onChange: load })));
    status.textContent = orders.length ? "" : "No tickets yet — find a film on the home page.";
  } catch (err) {
    status.textContent = `Could not load your tickets: ${err.message}`;
  }
}

load();
