// The monthly report archive: every stored report with links to its PDF and its page.
import { api, hasRole, me } from "./api.js";
import { h, $, clear, loginUrl } from "./dom.js";

function row(r) {
  return h("tr", {},
    h("td", { text: r.month }),
    h("td", { text: r.cinema || "All cinemas (the chain)" }),
    h("td", { text: r.emailed_to }),
    h("td", {}, r.has_pdf
      ? [h("a", { href: `/api/reports/archive/${r.id}?format=pdf`, target: "_blank", rel: "noopener", text: "PDF" }), " · ",
         h("a", { href: `/api/reports/archive/${r.id}?format=html`, target: "_blank", rel: "noopener", text: "Page" })]
      : h("span", { class: "muted", text: "being made" })));
}

async function init() {
  const user = await me();
  if (!user) { location.assign(loginUrl()); return; }
  if (!hasRole(user, "staff")) { $("#archive-error").textContent = "Only staff can read reports."; return; }
  try {
    const { reports } = await api("/api/reports/archive");
    const box = clear($("#archive"));
    if (!reports.length) { box.append(h("p", { class: "empty", text: "No report stored yet: the first is made on the 1st of next month." })); return; }
    box.append(h("div", { class: "table-wrap" }, h("table", { id: "archive-table" },
      h("thead", {}, h("tr", {}, ["Month", "Cinema", "Emailed to", "Report"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, reports.map(row)))));
  } catch (err) {
    $("#archive-error").textContent = `Could not load the archive: ${err.message}`;
  }
}

init();
