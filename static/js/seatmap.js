// Seat map page: live seat states from the room, hold/release by click or keyboard, best seats,
// my hold's countdown and its expiry, houseful banner, connection status; refusals said in the
// viewport (seat-summary.js); guests' picks survive logging in.
import { api, me } from "./api.js";
import { h, $, clear, money, fmtDateTime, loginUrl } from "./dom.js";
import { LiveRoom, roomUrl } from "./room.js";
import { SeatMapView } from "./seatmap-view.js";
import { KINDS, kindName } from "./kinds.js";
import { message, renderSelection, seatNames } from "./seat-summary.js";
import { storedPass } from "./admission.js";

const screeningId = Number(document.getElementById("main").dataset.screeningId);
const STASH_KEY = `houseful:chosen:${screeningId}`;
const COARSE = matchMedia("(pointer: coarse)").matches;

const state = {
  seats: new Map(), prices: {}, user: null, version: -1, me: null, deadline: null, houseful: false,
  sold: new Set(), held: new Set(), mine: new Set(), blocked: new Set(), chosen: new Set(loadStash()),
};
let room = null;
let view = null;

function loadStash() {
  try { return JSON.parse(sessionStorage.getItem(STASH_KEY) || "[]").filter(Number.isInteger); } catch { return []; }
}
function saveStash() {
  if (state.chosen.size) sessionStorage.setItem(STASH_KEY, JSON.stringify([...state.chosen]));
  else sessionStorage.removeItem(STASH_KEY);
}

function priceOf(seat) { return state.prices[seat.kind] ?? state.prices.standard; }

function seatState(seat) {
  const id = seat.id;
  if (seat.blocked || state.blocked.has(id)) return "blocked";
  if (state.sold.has(id)) return "sold";
  if (state.mine.has(id)) return "mine";
  if (state.held.has(id)) return "held";
  if (!state.user && state.chosen.has(id)) return "chosen";
  return "free";
}

function render() {
  for (const seat of state.seats.values()) view.update(seat, seatState(seat), priceOf(seat));
  const picked = [...(state.user ? state.mine : state.chosen)].map((id) => state.seats.get(id)).filter(Boolean)
    .sort((a, b) => a.y - b.y || a.x - b.x);
  renderSelection(picked, priceOf, { user: state.user, checkoutUrl: `/checkout/${screeningId}`, loginUrl: loginUrl() });
  $("#release-all").hidden = !(state.user && state.mine.size);
  $("#guest-note").hidden = Boolean(state.user);
  $("#hold-timer").hidden = !(state.user && state.mine.size && state.deadline);
  $("#houseful").hidden = !state.houseful;
  tick();
}

// The waiting room: a gated screening (or one not yet on sale) is entered through its line.
const lineUrl = `/screenings/${screeningId}/line`;
async function gated() {
  const gate = await api(`/api/screenings/${screeningId}/waiting-room`).catch(() => null);
  if (!gate) return false;
  const now = Date.parse(document.body.dataset.now) || Date.now();
  return (gate.opens_at && gate.opens_at > now) || (gate.mode !== "off" && !storedPass(screeningId, now));
}

function admissionTick() {
  const pass = storedPass(screeningId, room.serverNow());
  const el = $("#admission-timer");
  if (!pass) { el.hidden = true; return; }
  const left = Math.max(0, Math.round((pass.expires - room.serverNow()) / 1000));
  el.hidden = false;
  $("#admission-left").textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
}

function tick() {
  if (room) admissionTick();
  if (!state.deadline || !room) return;
  const left = Math.max(0, Math.round((state.deadline - room.serverNow()) / 1000));
  const el = $("#countdown");
  el.textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
  el.dataset.urgent = left <= 60 ? "true" : "false";
  el.setAttribute("aria-label", `${Math.floor(left / 60)} minutes ${left % 60} seconds left`);
}

function applySnapshot(snap) {
  state.version = snap.version;
  state.sold = new Set(snap.sold || []);
  state.held = new Set(snap.held || []);
  state.mine = new Set(snap.mine || []);
  for (const id of state.mine) state.held.add(id);
  state.blocked = new Set(snap.blocked || []);
  state.deadline = snap.deadline || null;
  state.houseful = Boolean(snap.houseful);
  if (snap.me !== undefined) state.me = snap.me;
  if (snap.prices && Object.keys(snap.prices).length) state.prices = snap.prices;
  render();
}

function applyEvents(frame) {
  const expired = [];
  for (const ev of frame.events || []) {
    if (ev.v <= state.version) continue;          // already in our snapshot
    if (ev.v !== state.version + 1) { resync(); return; }  // a gap: our picture may be wrong
    state.version = ev.v;
    const mineToo = state.me && ev.by === state.me;
    if (ev.type === "expired") expired.push(...(ev.seats || []).filter((id) => state.mine.has(id)));
    for (const id of ev.seats || []) {
      // "held" says who holds the seats now, also seats handed from a hold or a sale to the
      // next in the waiting list (offer: true): they were never free in between.
      if (ev.type === "held") { state.sold.delete(id); state.held.add(id); if (mineToo) state.mine.add(id); else state.mine.delete(id); }
      else if (ev.type === "sold") { state.held.delete(id); state.mine.delete(id); state.sold.add(id); }
      else { state.held.delete(id); state.mine.delete(id); if (ev.type === "freed") state.sold.delete(id); }
    }
    if (ev.houseful !== undefined) state.houseful = ev.houseful;
    // The screening was edited, cancelled or re-mapped: take a fresh snapshot.
    if (ev.type === "reloaded") { render(); resync(); return; }
  }
  if (frame.houseful !== undefined) state.houseful = frame.houseful;
  if (!state.mine.size) state.deadline = null;
  else if (!state.deadline) refreshMyHolds();
  render();
  if (expired.length) announceExpiry(expired);
}

// My hold ran out: say which seats, as checkout does, rather than letting them just vanish.
function announceExpiry(ids) {
  const seats = ids.map((id) => state.seats.get(id)).filter(Boolean);
  const names = seatNames(seats);
  message(`Your hold on ${names || "your seats"} expired — pick again.`, "warn");
}

async function resync() {
  try {
    const result = await room.send("snapshot");
    if (result && Array.isArray(result.sold)) applySnapshot(result);
  } catch { /* the next reconnect resyncs */ }
}

async function refreshMyHolds() {
  try {
    const r = await room.send("my_holds");
    state.deadline = r.deadline || null;
    render();
  } catch { /* countdown stays hidden */ }
}

const ERROR_HELP = {
  wheelchair_only: "This place is kept for wheelchair users. Tick “I need a wheelchair space” if you do.",
  unauthorized: "Please log in to hold seats.",
};

// The server's message (a sentence), shown in the viewport; the seats it is about are marked.
function showError(err) {
  if (err.code === "admission_required" || err.code === "not_on_sale") { location.assign(lineUrl); return; }
  message(ERROR_HELP[err.code] || err.message || "That did not work — try again.");
  const seats = err.details?.seats;
  if (Array.isArray(seats) && seats.length) view.flag(seats);
}

function took(result) {
  for (const id of result.seats || []) { state.mine.add(id); state.held.add(id); }
  if (result.deadline) state.deadline = result.deadline;
  message("");
  render();
}

async function toggle(id) {
  const seat = state.seats.get(id);
  const current = seatState(seat);
  if (!state.user) {
    if (current === "free" || current === "chosen") {
      if (current === "chosen") state.chosen.delete(id); else state.chosen.add(id);
      saveStash();
      message(state.chosen.size ? "Log in to hold these seats — your choice is kept." : "", "info");
      render();
    }
    return;
  }
  if (current === "mine") {
    try {
      const r = await room.send("release", { seats: [id] });
      for (const s of r.seats || [id]) { state.mine.delete(s); state.held.delete(s); }
      if (!state.mine.size) state.deadline = null;
      message("");
      render();
    } catch (err) { showError(err); }
  } else if (current === "free") {
    const wheelchair = $("#need-wheelchair")?.checked || false;
    try { took(await room.send("hold", { seats: [id], ...(wheelchair ? { wheelchair: true } : {}) })); } catch (err) { showError(err); }
  } else {
    const why = { held: "held by someone else", sold: "sold", blocked: "not for sale" }[current] || current;
    message(`${seatNames([seat])} is ${why} — pick another seat.`, "info");
  }
}

// After logging in, hold the seats chosen as a guest (all or nothing, like any hold).
async function holdStash() {
  if (!state.user || !state.chosen.size) return;
  const ids = [...state.chosen].filter((id) => state.seats.has(id));
  state.chosen.clear();
  saveStash();
  if (!ids.length) return;
  try {
    took(await room.send("hold", { seats: ids }));
    message("The seats you picked are now held for you.", "ok");
  } catch (err) { showError(err); }
}

function setConnection(detail) {
  const box = $("#connection");
  box.dataset.state = detail.state === "closed" ? "offline" : detail.state;
  box.textContent = {
    connecting: "Connecting…", live: "Live",
    offline: `Offline — reconnecting${detail.retryIn ? ` in ${Math.ceil(detail.retryIn / 1000)} s` : ""}…`,
    closed: "Disconnected",
  }[detail.state];
}

async function loadScreening() {
  try {
    const data = await api(`/api/screenings/${screeningId}`);
    const s = data.screening || data;
    const title = s.movie_title || s.movie?.title || s.title || "Screening";
    $("#title").textContent = title;
    document.title = `${title} · Houseful`;
    $("#subtitle").textContent = [fmtDateTime(s.starts_at, s.cinema?.time_zone), s.cinema_name || s.cinema?.name, s.auditorium_name || s.auditorium?.name].filter(Boolean).join(" · ");
  } catch (err) {
    $("#title").textContent = err.status === 404 ? "Screening not found" : "Choose your seats";
  }
}

function renderPrices() {
  const present = new Set([...state.seats.values()].filter((s) => !s.blocked).map((s) => s.kind));
  const kinds = KINDS.filter((k) => present.has(k));
  clear($("#prices")).append(...kinds.map((k) => h("li", {}, h("span", { text: kindName(k) }), h("strong", { text: money(state.prices[k] ?? state.prices.standard) }))));
  clear($("#best-kind")).append(...kinds.filter((k) => k !== "companion").map((k) => h("option", { value: k, text: kindName(k) })));
  if (present.has("wheelchair")) {
    $("#selection").insertBefore(h("p", {}, h("label", { class: "check", for: "need-wheelchair" },
      h("input", { type: "checkbox", id: "need-wheelchair" }), "I need a wheelchair space")), $("#my-seats"));
  }
}

function showZoom(detail) {
  $("#zoom-out").disabled = !detail.zoomedIn;
  $("#zoom-fit").disabled = !detail.zoomedIn;
  $("#map-hint").textContent = COARSE
    ? (detail.zoomedIn ? "Tap seats to choose them. Drag to move around; pinch or − to see it all." : "Tap the map to zoom in, then tap your seats.")
    : "Click seats to choose them. + and − zoom the map (Ctrl + scroll too).";
}

async function init() {
  if (await gated()) { location.replace(lineUrl); return; }
  view = new SeatMapView($("#seatmap"), $("#seatmap-frame"), { onToggle: toggle });
  view.zoom.addEventListener("zoom", (e) => showZoom(e.detail));
  showZoom({ zoomedIn: false });
  const [layout, user] = await Promise.all([api(`/api/screenings/${screeningId}/seats`), me(), loadScreening()]);
  state.user = user;
  state.prices = layout.prices || {};
  for (const s of layout.seats) state.seats.set(s.id, s);
  view.draw(layout.seats);
  renderPrices();
  $("#login-to-hold").href = loginUrl();
  render();
  room = new LiveRoom(roomUrl(`/ws/screenings/${screeningId}`));
  room.addEventListener("state", (e) => setConnection(e.detail));
  room.addEventListener("hello", (e) => {
    if (e.detail.me !== undefined) state.me = e.detail.me;
    const max = e.detail.limits?.max_seats_per_customer;
    if (max) $("#best-count").max = String(max);
    resync();  // ask for a snapshot on every (re)connect, so nothing missed while away stays stale
    const pass = storedPass(screeningId, room.serverNow());
    if (pass && state.user) room.send("admission", { pass: pass.pass }).catch(() => {});
  });
  room.addEventListener("snapshot", (e) => { applySnapshot(e.detail); holdStash(); });
  room.addEventListener("events", (e) => applyEvents(e.detail));
  room.connect();
  setInterval(tick, 250);
}

$("#best-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.user) { location.assign(loginUrl()); return; }
  const count = Number($("#best-count").value);
  try { took(await room.send("hold_best", { count, kind: $("#best-kind").value || "standard" })); } catch (err) { showError(err); }
});
$("#extend").addEventListener("click", async () => {
  try { const r = await room.send("extend"); state.deadline = r.deadline || state.deadline; message("Your hold has more time.", "ok"); render(); } catch (err) { showError(err); }
});
$("#release-all").addEventListener("click", async () => {
  try { await room.send("release", {}); state.mine.clear(); state.deadline = null; render(); } catch (err) { showError(err); }
});
$("#checkout").addEventListener("click", (e) => {
  if ($("#checkout").getAttribute("aria-disabled") !== "true") return;
  e.preventDefault();
  message("Pick at least one seat on the map first.", "info");
});
// Zoom buttons keep the seat in focus (or the middle of the frame) where it is.
const anchor = () => (view?.focusId != null && document.activeElement?.closest?.(".seat") ? view.seatCentre(view.focusId) : null);
$("#zoom-in").addEventListener("click", () => view?.zoom.zoomIn(anchor()));
$("#zoom-out").addEventListener("click", () => view?.zoom.zoomOut(anchor()));
$("#zoom-fit").addEventListener("click", () => view?.zoom.fit());

init().catch((err) => { $("#title").textContent = `Could not load the seat map: ${err.message}`; });
