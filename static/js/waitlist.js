// The waiting list, under the houseful banner: join it, see your place, leave it. When seats come
// free they land in your selection on the map, held for you for a while, and you are emailed.
import { api, me } from "./api.js";
import { $, clear, fmtTime, h, loginUrl } from "./dom.js";

const screeningId = Number(document.getElementById("main").dataset.screeningId);
const box = $("#waitlist");
const banner = $("#houseful");
const REFRESH_MS = 15000;
let timer = null;

function seatsWord(n) { return `${n} seat${n === 1 ? "" : "s"}`; }

function joinForm(info) {
  const input = h("input", { id: "waitlist-seats", name: "seats", type: "number", min: "1", max: "10", value: "2", inputmode: "numeric" });
  const form = h("form", { class: "inline-form" },
    h("div", { class: "field" }, h("label", { for: "waitlist-seats", text: "Seats" }), input),
    h("button", { type: "submit", text: "Join the waiting list" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      show(await api(`/api/screenings/${screeningId}/waitlist`, { method: "POST", body: { seats: Number(input.value) } }));
    } catch (err) {
      if (err.code === "not_houseful") { box.hidden = true; return; }
      showError(err.message);
    }
  });
  return [h("p", {}, h("strong", { text: "Sold out — but seats often come free." }),
    ` Join the waiting list: when seats come free they are held for the next in line for ${info.claim_minutes} minutes, and we email you.`),
    form, info.waiting ? h("p", { class: "muted", text: `${info.waiting} ${info.waiting === 1 ? "person is" : "people are"} waiting.` }) : null];
}

function showError(text) {
  box.append(h("p", { class: "form-error", role: "alert", text }));
}

async function leave() {
  try {
    await api(`/api/screenings/${screeningId}/waitlist`, { method: "DELETE" });
  } catch { /* already out of the line */ }
  refresh();
}

function show(info) {
  const mine = info.me;
  clear(box);
  if (mine && mine.status === "offered") {
    box.append(h("p", {}, h("strong", { text: "Seats came free for you!" }),
      ` They are in your selection, held until ${fmtTime(mine.offer_expires_at)} — buy them before then.`));
  } else if (mine) {
    box.append(h("p", {}, h("strong", { id: "waitlist-place", text: `You are number ${mine.position} in line` }),
      ` for ${seatsWord(mine.seats)}. We will email you as soon as seats come free; they will be held for you for ${info.claim_minutes} minutes.`),
      h("button", { type: "button", class: "button-ghost button-small", text: "Leave the waiting list", onclick: leave }));
  } else if (!banner.hidden) {
    box.append(...joinForm(info));
  }
  box.hidden = !box.firstChild;
  clearTimeout(timer);
  if (mine) timer = setTimeout(refresh, REFRESH_MS);
}

async function refresh() {
  const user = await me();
  if (!user) {
    clear(box);
    if (!banner.hidden) {
      box.append(h("p", {}, "Sold out. ", h("a", { href: loginUrl(), text: "Log in" }), " to join the waiting list."));
    }
    box.hidden = banner.hidden;
    return;
  }
  try {
    show(await api(`/api/screenings/${screeningId}/waitlist`));
  } catch { box.hidden = true; }
}

// The seat map decides whether the screening is houseful, and shows seats handed to me: follow both.
new MutationObserver(refresh).observe(banner, { attributes: true, attributeFilter: ["hidden"] });
new MutationObserver(refresh).observe($("#my-seats"), { childList: true });
refresh();
