// The waiting room page: countdown to the opening, then my place in line from the shared frame
// ("admitted up to N"), then my admission pass and straight to the seat map. See docs/waiting-room.md.
import { api, me } from "./api.js";
import { h, $, clear, fmtDateTime, loginUrl } from "./dom.js";
import { LiveRoom, roomUrl } from "./room.js";
import { PASS_PREFIX } from "./admission.js";

const screeningId = Number($("#main").dataset.screeningId);
const STAGES = ["line-login", "line-countdown", "line-waiting", "line-admitted", "line-soldout"];
const st = { number: null, start: null, frame: null, frameAt: 0, busy: false, noLine: false, leaving: false };
let room;

function show(stage) { for (const id of STAGES) $(`#${id}`).hidden = id !== stage; }

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const parts = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0"));
  return s >= 86400 ? `${Math.floor(s / 86400)} d ${parts.join(":")}` : parts.join(":");
}

function wait(seconds) {
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `about ${minutes} minute${minutes === 1 ? "" : "s"}` : `about ${Math.round(minutes / 60)} h`;
}

async function join() {
  if (st.busy) return;
  st.busy = true;
  try {
    const r = await room.send("join");
    st.number = r.number;
    if (st.number && st.start === null) st.start = Math.min(r.line.admitted, st.number - 1);
  } catch (err) {
    if (err.code === "no_waiting_room") st.noLine = true;
  } finally { st.busy = false; }
  render();
}

async function admit() {
  if (st.busy || st.leaving) return;
  st.busy = true;
  try {
    const r = await room.send("admission");
    sessionStorage.setItem(PASS_PREFIX + screeningId, JSON.stringify(r));
    st.leaving = true;
    show("line-admitted");
    room.close();
    location.assign(`/screenings/${screeningId}`);
  } catch (err) {
    if (err.code === "admission_spent") { st.number = null; st.start = null; st.busy = false; await join(); return; }
  } finally { st.busy = false; }
}

function render() {
  const f = st.frame;
  if (!f || st.leaving) return;
  const now = room.serverNow();
  if (f.opens_at && now < f.opens_at) {
    show("line-countdown");
    $("#opens-in").textContent = clock(f.opens_at - now);
    return;
  }
  if (st.noLine) { st.leaving = true; location.assign(`/screenings/${screeningId}`); return; }
  if (!st.number) { show("line-waiting"); $("#ahead").textContent = "Taking your place…"; join(); return; }
  if (f.admitted >= st.number) { admit(); return; }
  show("line-waiting");
  const ahead = st.number - f.admitted - 1;
  $("#my-number").textContent = `#${st.number}`;
  $("#ahead").textContent = ahead === 0 ? "You're next" : `${ahead.toLocaleString()} ${ahead === 1 ? "person" : "people"} ahead of you`;
  const done = st.number - st.start > 0 ? (f.admitted - st.start) / (st.number - st.start) : 0;
  const pct = Math.max(2, Math.min(100, Math.round(done * 100)));
  $("#progress-fill").style.width = `${pct}%`;
  $("#progress").setAttribute("aria-valuenow", String(pct));
  $("#eta").textContent = f.paused ? "" : `Estimated wait: ${wait((ahead + 1) / Math.max(f.rate, 1))}.`;
  $("#line-paused").hidden = !f.paused;
  $("#line-busy").hidden = f.paused || !f.busy;
}

function soldOut(detail) {
  st.leaving = true;
  show("line-soldout");
  $("#soldout-text").textContent = detail.message || "Every seat of this screening is taken.";
  const list = clear($("#others"));
  for (const o of detail.others || []) {
    list.append(h("li", {}, h("a", { href: `/screenings/${o.id}/line`, class: "button button-ghost" }, `${fmtDateTime(o.starts_at)} · ${o.cinema}`)));
  }
  list.append(h("li", {}, h("a", { href: `/screenings/${screeningId}` }, "Join the waiting list for returned seats")));
  $("#line-connection").textContent = "";
}

function freshness() {
  if (st.leaving || !st.frameAt) return;
  const age = Math.round((Date.now() - st.frameAt) / 1000);
  $("#line-connection").textContent = age <= 2 ? "Live" : `Reconnecting… last update ${age} s ago`;
}

async function title() {
  try {
    const s = await api(`/api/screenings/${screeningId}`);
    $("#line-subtitle").textContent = [s.movie?.title, fmtDateTime(s.starts_at, s.cinema?.time_zone), s.cinema?.name].filter(Boolean).join(" · ");
  } catch { /* the line works without it */ }
}

async function init() {
  title();
  const user = await me();
  if (!user) {
    show("line-login");
    $("#line-login-link").href = loginUrl();
    $("#line-connection").textContent = "";
    return;
  }
  room = new LiveRoom(roomUrl(`/ws/screenings/${screeningId}/line`));
  room.addEventListener("line", (e) => { st.frame = e.detail; st.frameAt = Date.now(); render(); });
  room.addEventListener("sold_out", (e) => soldOut(e.detail));
  room.addEventListener("state", (e) => { if (e.detail.state === "offline" && !st.leaving) $("#line-connection").textContent = "Reconnecting… you keep your place."; });
  room.connect();
  setInterval(() => { render(); freshness(); }, 250);
}

init();
