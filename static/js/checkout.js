// Checkout: summarise my held seats, then create the order (idempotently) and go to the payment page.
import { api, me } from "./api.js";
import { h, $, clear, money, fmtDateTime, loginUrl } from "./dom.js";
import { LiveRoom, roomUrl } from "./room.js";

const screeningId = Number(document.getElementById("main").dataset.screeningId);
const KEY_STORE = `houseful:idempotency:${screeningId}`;
let seatIds = [];
let deadline = null;
let room = null;

// One key per attempt at buying this set of seats: a retry or double click reuses it, so the
// server creates one order; a different set of seats gets a fresh key, and so does an attempt
// whose order already failed or expired (the same key would only bring that order back).
function forgetKey() { sessionStorage.removeItem(KEY_STORE); }

function idempotencyKey(ids) {
  const wanted = ids.slice().sort((a, b) => a - b).join(",");
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY_STORE) || "null");
    if (saved && saved.seats === wanted) return saved.key;
  } catch { /* a new key then */ }
  const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  sessionStorage.setItem(KEY_STORE, JSON.stringify({ seats: wanted, key }));
  return key;
}

function countdown() {
  if (!deadline || !room) return;
  const left = Math.max(0, Math.round((deadline - room.serverNow()) / 1000));
  $("#hold-left").hidden = false;
  $("#countdown").textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
  if (left === 0) { $("#pay").disabled = true; $("#checkout-error").textContent = "Your hold has expired — choose your seats again."; }
}

async function summary(layout, screening) {
  const byId = new Map(layout.seats.map((s) => [s.id, s]));
  const prices = layout.prices || {};
  const seats = seatIds.map((id) => byId.get(id)).filter(Boolean).sort((a, b) => a.y - b.y || a.x - b.x);
  const title = screening.movie_title || screening.movie?.title || "Screening";
  $("#screening").textContent = [title, fmtDateTime(screening.starts_at, screening.cinema?.time_zone), screening.cinema_name].filter(Boolean).join(" · ");
  clear($("#order-seats")).append(...seats.map((s) => h("li", {}, h("span", { text: `Row ${s.row} seat ${s.number}` }), h("span", { text: money(prices[s.kind] ?? prices.standard) }))));
  $("#order-total").textContent = money(seats.reduce((t, s) => t + (prices[s.kind] ?? prices.standard), 0));
  $("#pay").disabled = seats.length === 0;
  if (!seats.length) $("#checkout-error").textContent = "You have no seats held for this screening.";
}

async function init() {
  if (!(await me())) { location.assign(loginUrl()); return; }
  const [layout, screeningData] = await Promise.all([api(`/api/screenings/${screeningId}/seats`), api(`/api/screenings/${screeningId}`)]);
  room = new LiveRoom(roomUrl(`/ws/screenings/${screeningId}`));
  room.addEventListener("snapshot", (e) => {
    seatIds = e.detail.mine || [];
    deadline = e.detail.deadline || null;
    summary(layout, screeningData.screening || screeningData);
    countdown();
  });
  room.connect();
  setInterval(countdown, 500);
}

$("#pay").addEventListener("click", async () => {
  const button = $("#pay");
  button.disabled = true;
  $("#checkout-error").textContent = "";
  try {
    const body = { screening_id: screeningId, seat_ids: seatIds };
    const create = () => api("/api/orders", { method: "POST", body, headers: { "Idempotency-Key": idempotencyKey(seatIds) } });
    let result = await create();
    if (["failed", "expired"].includes((result.order || result).status)) {
      forgetKey();  // that attempt is over (e.g. a declined card): this click is a new one
      result = await create();
    }
    const order = result.order || result;
    const url = result.payment_url || order.payment_url;
    room?.close();
    location.assign(url || `/orders/${order.order_key}`);
  } catch (err) {
    $("#checkout-error").textContent = err.code === "seat_taken" ? "Some of your seats were taken — please choose again." : err.message;
    button.disabled = false;
  }
});

init().catch((err) => { $("#checkout-error").textContent = `Could not load checkout: ${err.message}`; });
