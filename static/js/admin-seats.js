// The grid seat-map editor: rows x places, click to cycle kinds, save via the API's grid form.
import { api, me } from "./api.js";
import { h, $, clear, loginUrl } from "./dom.js";

const auditoriumId = document.getElementById("main").dataset.auditoriumId;
const CYCLE = ["S", "V", "W", "C", "X", "_"];
const NAME = { S: "standard", V: "VIP", W: "wheelchair space", C: "companion seat", X: "blocked", _: "aisle or gap" };
const KIND_CELL = { standard: "S", vip: "V", wheelchair: "W", companion: "C" };
let grid = [];  // array of arrays of cell letters, front row first

export function rowLabel(i) {
  let label = "";
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) label = String.fromCharCode(65 + ((n - 1) % 26)) + label;
  return label;
}

function fromSeats(seats) {
  if (!seats.length) return Array.from({ length: 8 }, () => Array(12).fill("S"));
  const ys = [...new Set(seats.map((s) => s.y))].sort((a, b) => a - b);
  const width = Math.round(Math.max(...seats.map((s) => s.x))) + 1;
  const rows = ys.map(() => Array(width).fill("_"));
  for (const s of seats) rows[ys.indexOf(s.y)][Math.round(s.x)] = s.blocked ? "X" : KIND_CELL[s.kind] || "S";
  return rows;
}

function brush() { return document.querySelector("input[name=brush]:checked").value; }

function cellLabel(r, c) {
  return `Row ${rowLabel(r)}, place ${c + 1}: ${NAME[grid[r][c]]}`;
}

function paint(r, c, button) {
  const b = brush();
  grid[r][c] = b === "cycle" ? CYCLE[(CYCLE.indexOf(grid[r][c]) + 1) % CYCLE.length] : b;
  button.dataset.cell = grid[r][c];
  button.textContent = grid[r][c] === "_" ? "" : grid[r][c];
  button.setAttribute("aria-label", cellLabel(r, c));
  summarise();
}

function draw() {
  const box = clear($("#grid"));
  const cols = Math.max(...grid.map((r) => r.length));
  box.style.gridTemplateColumns = `repeat(${cols + 1}, 28px)`;  // CSSOM, allowed by the CSP
  grid.forEach((row, r) => {
    box.append(h("div", { class: "rowhead", role: "rowheader", text: rowLabel(r) }));
    row.forEach((cell, c) => {
      const button = h("button", { type: "button", dataset: { cell, r, c }, "aria-label": cellLabel(r, c), text: cell === "_" ? "" : cell });
      button.addEventListener("click", () => paint(r, c, button));
      box.append(button);
    });
  });
  $("#rows").value = grid.length;
  $("#cols").value = cols;
  summarise();
}

function summarise() {
  const cells = grid.flat();
  const count = (k) => cells.filter((x) => x === k).length;
  const seats = cells.filter((x) => x !== "_").length;
  $("#summary").textContent = `${seats} places: ${count("S")} standard, ${count("V")} VIP, ${count("W")} wheelchair, ${count("C")} companion, ${count("X")} blocked.`;
}

function resize(rows, cols) {
  grid = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => grid[r]?.[c] ?? "S"));
  draw();
}

async function save() {
  $("#editor-error").textContent = "";
  const body = { rows: grid.map((_, r) => rowLabel(r)), grid: grid.map((row) => row.join("")) };
  try {
    const saved = await api(`/api/auditoriums/${auditoriumId}/seats`, { method: "PUT", body });
    $("#summary").textContent = `Saved: ${(saved.seats || []).length} seats.`;
  } catch (err) {
    $("#editor-error").textContent = err.code === "has_tickets" ? "Tickets have been sold here, so the seat map can no longer change." : err.message;
  }
}

async function init() {
  const user = await me();
  if (!user) { location.assign(loginUrl()); return; }
  const data = await api(`/api/auditoriums/${auditoriumId}/seats`);
  const a = data.auditorium || {};
  $("#title").textContent = `Seat map: ${a.cinema_name ? `${a.cinema_name} — ` : ""}${a.name || "auditorium"}`;
  grid = fromSeats(data.seats || []);
  draw();
}

$("#size-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const rows = Math.min(60, Math.max(1, Number($("#rows").value)));
  const cols = Math.min(80, Math.max(1, Number($("#cols").value)));
  resize(rows, cols);
});
$("#save").addEventListener("click", save);
init().catch((err) => { $("#editor-error").textContent = `Could not load the seat map: ${err.message}`; });
