// Check-in: staff scan a ticket's code (with the camera, or a keyboard-wedge scanner types it) or
// type an order key; the result says whether the holders may go in, and to which seats.
import { api } from "./api.js";
import { h, $, clear, showFormError } from "./dom.js";
import { scanQr } from "./qr-camera.js";

const form = $("#checkin-form");
const HEADLINE = { valid: "Admit ✓", already_used: "Already checked in", invalid: "Not admitted" };

function result(data) {
  const t = data.ticket || {};
  const seats = (data.tickets || (t.seat ? [t] : [])).filter((x) => x.seat);
  const seat = seats.map((x) => `Row ${x.seat.row} seat ${x.seat.number}`).join(", ");
  return h("div", { class: `card checkin-${data.result}`, dataset: { outcome: data.result } },
    h("h2", { text: HEADLINE[data.result] || data.result }),
    data.reason ? h("p", { text: data.reason }) : null,
    t.order_key ? h("p", {}, "Order ", h("span", { class: "order-key", text: t.order_key })) : null,
    seat ? h("p", {}, h("strong", { text: seat })) : null,
    data.result === "already_used" && t.checked_in_at ? h("p", { class: "muted", text: `First checked in at ${new Date(t.checked_in_at).toLocaleTimeString("en-GB")}` }) : null);
}

form.addEventListener("submit", (e) => { e.preventDefault(); checkIn(); });

async function checkIn() {
  const code = form.code.value.trim();
  if (!code) { showFormError(form, { field: "code", message: "Scan a ticket or type an order key." }); return; }
  showFormError(form, null);
  const box = clear($("#checkin-result"));
  try {
    box.append(result(await api("/api/checkin", { method: "POST", body: { code } })));
    form.code.value = "";
    form.code.focus();
  } catch (err) {
    showFormError(form, { field: err.field || "code", message: err.status === 403 ? "Check-in is for staff." : err.message });
  }
}

// The camera: each code read is checked in at once, like a scanner that types and presses Enter.
let stopCamera = null;
$("#camera-toggle").addEventListener("click", async () => {
  const toggle = $("#camera-toggle");
  if (stopCamera) {
    stopCamera();
    stopCamera = null;
    $("#camera").hidden = true;
    toggle.textContent = "Scan with camera";
    toggle.setAttribute("aria-expanded", "false");
    return;
  }
  $("#camera").hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  toggle.textContent = "Stop camera";
  $("#camera-status").textContent = "Starting the camera…";
  try {
    stopCamera = await scanQr($("#camera-video"), (code) => {
      $("#camera-status").textContent = "Ticket read.";
      form.code.value = code;
      checkIn();
    });
    $("#camera-status").textContent = "Point the camera at a ticket's QR code.";
  } catch (err) {
    $("#camera-status").textContent = err.name === "NotAllowedError"
      ? "The camera is blocked: allow it in the browser, or type the code." : `No camera: ${err.message}`;
    toggle.textContent = "Scan with camera";
    toggle.setAttribute("aria-expanded", "false");
  }
});
form.code.focus();
