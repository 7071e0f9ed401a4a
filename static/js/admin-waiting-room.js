// Admin: a screening's on-sale time and waiting room (PUT /api/screenings/{id}/waiting-room), in a dialog.
import { api } from "./api.js";
import { h, fromZonedInput, zonedInput } from "./dom.js";

const MODES = [["off", "Off — straight to the seat map"], ["always", "Always — everyone goes through the line"],
  ["auto", "Auto — a line only when demand exceeds the cap"]];

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control);
}

function numberInput(id, value, hint) {
  return h("input", { id, type: "number", min: "1", inputmode: "numeric", value: value ?? "", placeholder: hint });
}

// Open the dialog for screening `s`; `done()` runs after a change is saved.
export async function editWaitingRoom(s, done) {
  const now = await api(`/api/screenings/${s.id}/waiting-room`);
  const zone = s.cinema?.time_zone;
  const opens = h("input", { id: "wr-opens", type: "datetime-local",
    value: now.opens_at ? zonedInput(new Date(now.opens_at).toISOString(), zone) : "" });
  const mode = h("select", { id: "wr-mode" }, ...MODES.map(([v, t]) => h("option", { value: v, text: t, selected: v === now.mode || null })));
  const rate = numberInput("wr-rate", null, `${now.rate} (from capacity)`);
  const most = numberInput("wr-max", null, `${now.max_active} (from capacity)`);
  const error = h("p", { class: "form-error", role: "alert" });
  const save = h("button", { type: "submit", text: "Save" });
  const pause = h("button", { type: "button", class: "button-ghost", text: now.paused ? "Resume admissions" : "Pause admissions" });
  const close = h("button", { type: "button", class: "button-ghost", text: "Close" });
  const form = h("form", { class: "stack" },
    h("h2", { id: "wr-title", text: "On sale and waiting room" }),
    h("p", { class: "muted", text: `${now.waiting} waiting · admitted up to #${now.admitted} · ${now.shopping} shopping` }),
    field("On sale from (cinema's local time; empty = now)", opens), field("Waiting room", mode),
    field("Admissions per second", rate), field("Most shoppers at once", most), error,
    h("div", { class: "row" }, save, pause, close));
  const dialog = h("dialog", { class: "ask", "aria-labelledby": "wr-title" }, form);
  const put = async (body) => {
    try {
      await api(`/api/screenings/${s.id}/waiting-room`, { method: "PUT", body });
      dialog.close(); dialog.remove(); done();
    } catch (err) { error.textContent = err.message; }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { sales_open_at: opens.value ? fromZonedInput(opens.value, zone) : null, mode: mode.value };
    if (rate.value) body.admit_per_second = Number(rate.value);
    if (most.value) body.max_active = Number(most.value);
    put(body);
  });
  pause.addEventListener("click", () => put({ paused: !now.paused }));
  close.addEventListener("click", () => { dialog.close(); dialog.remove(); });
  document.body.append(dialog);
  dialog.showModal();
}
