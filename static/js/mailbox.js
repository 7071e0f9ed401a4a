// The demo mailbox: the emails the local catcher received, each shown as the customer sees it
// (its HTML in a sandboxed frame with no scripts), with its plain text and attachments.
import { api } from "./api.js";
import { $, clear, fmtDateTime, h } from "./dom.js";

let current = null;

async function show(id) {
  current = id;
  const msg = await api(`/api/mailbox/${encodeURIComponent(id)}`);
  $("#mail-subject").textContent = msg.subject;
  $("#mail-from").textContent = msg.from;
  $("#mail-to").textContent = msg.to;
  $("#mail-date").textContent = msg.date ? fmtDateTime(msg.date) : "";
  $("#mail-text").textContent = msg.text;
  $("#mail-html").src = msg.has_html ? `/api/mailbox/${encodeURIComponent(id)}/html` : "about:blank";
  clear($("#mail-files")).append(...msg.attachments.map((name, i) =>
    h("li", {}, h("a", { href: `/api/mailbox/${encodeURIComponent(id)}/attachments/${i}`, download: name, text: name }))));
  $("#mail-view").hidden = false;
  for (const li of $("#mail-list").children) li.classList.toggle("selected", li.dataset.id === id);
}

async function load() {
  let list;
  try {
    list = (await api("/api/mailbox")).messages;
  } catch (err) {
    $("#mail-status").textContent = err.status === 401 || err.status === 403
      ? "Log in as staff to read the demo mailbox." : err.message;
    return;
  }
  $("#mail-status").textContent = list.length ? `${list.length} message${list.length === 1 ? "" : "s"}` : "No emails yet. Buy a ticket, or ask for a password reset, and they arrive here.";
  clear($("#mail-list")).append(...list.map((m) => h("li", { dataset: { id: m.id } },
    h("button", { type: "button", class: "mail-item", onclick: () => show(m.id) },
      h("strong", { text: m.subject || "(no subject)" }), h("span", { class: "muted", text: `${m.to} · ${m.date ? fmtDateTime(m.date) : ""}` })))));
  if (list.length && !current) show(list[0].id);
}

$("#mail-refresh").addEventListener("click", load);
load();
