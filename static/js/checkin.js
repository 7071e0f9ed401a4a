// Check-in: staff type (or scan) an order key; the result says who may go in, and to which seats.
import { api } from "./api.js";
import { h, $, clear, fmtDateTime, showFormError } from "./dom.js";

const form = $("#checkin-form");

function result(data) {
  const order = data.order || data;
  const tickets = data.tickets || order.tickets || [];
  const seats = tickets.map((t) => (t.row || t.row_label ? `${t.row || t.row_label}${t.number}` : `#${t.seat_id}`)).join(", ");
  const again = data.already_checked_in || data.status === "already_checked_in";
  return h("div", { class: "card", dataset: { outcome: again ? "again" : "ok" } },
    h("h2", { text: again ? "Already checked in" : "Checked in ✓" }),
    h("p", { class: "order-key", text: order.order_key || "" }),
    h("p", { text: [order.movie_title, order.starts_at && fmtDateTime(order.starts_at)].filter(Boolean).join(" · ") }),
    seats ? h("p", {}, "Seats: ", h("strong", { text: seats })) : null);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = form.order_key.value.trim().toUpperCase();
  if (!code) { showFormError(form, { field: "order_key", message: "Type an order key." }); return; }
  showFormError(form, null);
  const box = clear($("#checkin-result"));
  try {
    box.append(result(await api("/api/checkin", { method: "POST", body: { order_key: code } })));
    form.order_key.value = "";
    form.order_key.focus();
  } catch (err) {
    showFormError(form, { field: err.field || "order_key", message: err.message });
    box.append(h("div", { class: "card", dataset: { outcome: "refused" } }, h("h2", { text: "Not admitted" }), h("p", { text: err.message })));
  }
});
form.order_key.focus();
