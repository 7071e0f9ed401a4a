// The seat map drawing: an SVG from seat x/y, a marked screen, and roving-focus keyboard control,
// inside a frame that zooms and pans (map-zoom.js). On a touch screen a tap on a map too small to
// aim at zooms in there first; then taps choose seats.
import { svg, clear, money } from "./dom.js";
import { MapZoom, ZOOMED_PLACE_PX, centre } from "./map-zoom.js";

const KIND_LABEL = { standard: "standard", vip: "VIP", wheelchair: "wheelchair space", companion: "companion seat" };
const STATE_LABEL = { free: "free", mine: "held by you", held: "held by someone else", sold: "sold", blocked: "blocked", chosen: "chosen, log in to hold" };
const GLYPH = { mine: "✓", chosen: "✓", held: "•", sold: "×", blocked: "" };
const KIND_GLYPH = { vip: "V", wheelchair: "W", companion: "C", standard: "" };
const SEAT = 0.84;
const TOP = 1.8;  // seat rows start below the screen

export class SeatMapView {
  constructor(root, frame, { onToggle }) {
    this.root = root;
    this.onToggle = onToggle;
    this.zoom = new MapZoom(frame, root);
    this.nodes = new Map();  // seat id -> <g>
    this.rows = [];          // [[seat, ...] sorted by x] sorted by y
    this.focusId = null;
    this.pointer = "mouse";
    root.addEventListener("pointerdown", (e) => { this.pointer = e.pointerType; });
    root.addEventListener("click", (e) => this.onClick(e));
    root.addEventListener("keydown", (e) => this.onKey(e));
  }

  onClick(e) {
    if (this.pointer === "touch" && this.zoom.placePx() < ZOOMED_PLACE_PX * 0.8) {
      this.zoom.zoomTo(ZOOMED_PLACE_PX, { x: e.clientX, y: e.clientY });  // too small for a finger: zoom first
      return;
    }
    const g = e.target.closest(".seat");
    if (g) { this.focus(Number(g.dataset.id)); this.onToggle(Number(g.dataset.id)); }
  }

  draw(seats) {
    clear(this.root);
    const maxX = Math.max(0, ...seats.map((s) => s.x)) + 1;
    const maxY = Math.max(0, ...seats.map((s) => s.y)) + 1;
    this.root.setAttribute("viewBox", `-1.6 -0.2 ${maxX + 3.2} ${maxY + TOP + 0.4}`);
    this.zoom.setUnits(maxX + 3.2, maxY + TOP + 0.4);
    this.root.append(
      svg("path", { class: "screen", d: `M0 0.55 Q${maxX / 2} 0.05 ${maxX} 0.55 L${maxX} 0.75 Q${maxX / 2} 0.25 0 0.75 Z`, "aria-hidden": "true" }),
      svg("text", { class: "screen-label", x: maxX / 2, y: 1.25, "aria-hidden": "true", text: "SCREEN" }));
    const byRow = new Map();
    for (const s of seats) {
      if (!byRow.has(s.y)) byRow.set(s.y, []);
      byRow.get(s.y).push(s);
    }
    this.rows = [...byRow.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r.sort((a, b) => a.x - b.x));
    for (const row of this.rows) {
      const y = row[0].y + TOP + SEAT / 2;
      for (const lx of [-0.8, maxX + 0.8]) {
        this.root.append(svg("text", { class: "row-label", x: lx, y, "aria-hidden": "true", text: row[0].row }));
      }
      for (const seat of row) this.root.append(this.seatNode(seat));
    }
    this.focusId = this.rows.length ? this.rows[Math.floor(this.rows.length / 2)][0].id : null;
    this.syncTabindex();
    this.root.setAttribute("aria-busy", "false");
  }

  seatNode(seat) {
    const g = svg("g", { class: "seat", role: "button", tabindex: "-1", dataset: { id: seat.id, kind: seat.kind } },
      svg("rect", { x: seat.x + (1 - SEAT) / 2, y: seat.y + TOP, width: SEAT, height: SEAT, rx: 0.18 }),
      svg("text", { class: "glyph", x: seat.x + 0.5, y: seat.y + TOP + SEAT / 2 + 0.02 }));
    g.append(svg("title", {}));
    this.nodes.set(seat.id, g);
    return g;
  }

  // state: "free" | "mine" | "held" | "sold" | "blocked" | "chosen"
  update(seat, state, price) {
    const g = this.nodes.get(seat.id);
    if (!g || g.dataset.state === state) return;
    g.dataset.state = state;
    const label = `Row ${seat.row} seat ${seat.number}, ${KIND_LABEL[seat.kind] || seat.kind}, ${money(price)}, ${STATE_LABEL[state]}`;
    g.setAttribute("aria-label", label);
    g.setAttribute("aria-pressed", state === "mine" || state === "chosen" ? "true" : "false");
    if (state === "sold" || state === "blocked" || state === "held") g.setAttribute("aria-disabled", "true");
    else g.removeAttribute("aria-disabled");
    g.querySelector("title").textContent = label;
    g.querySelector(".glyph").textContent = state === "free" ? KIND_GLYPH[seat.kind] || "" : GLYPH[state] || "";
  }

  syncTabindex() {
    for (const [id, g] of this.nodes) g.setAttribute("tabindex", id === this.focusId ? "0" : "-1");
  }

  focus(id) {
    this.focusId = id;
    this.syncTabindex();
    const g = this.nodes.get(id);
    if (!g) return;
    g.focus({ preventScroll: true });  // scroll the map's frame, never the page
    this.zoom.reveal(g);
  }

  // Briefly mark seats a refusal is about (e.g. the single seat a hold would strand).
  flag(ids) {
    for (const id of ids) {
      const g = this.nodes.get(id);
      if (!g) continue;
      g.classList.remove("flagged");
      g.getBoundingClientRect();  // restart the animation
      g.classList.add("flagged");
    }
    const first = this.nodes.get(ids[0]);
    if (first) this.zoom.reveal(first);
  }

  seatCentre(id) { const g = this.nodes.get(id); return g ? centre(g) : null; }

  position(id) {
    for (let r = 0; r < this.rows.length; r++) {
      const c = this.rows[r].findIndex((s) => s.id === id);
      if (c >= 0) return [r, c];
    }
    return [0, 0];
  }

  onKey(e) {
    const g = e.target.closest?.(".seat");
    if (!g) return;
    const id = Number(g.dataset.id);
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.onToggle(id); return; }
    const [r, c] = this.position(id);
    const row = this.rows[r];
    let target = null;
    if (e.key === "ArrowLeft") target = row[Math.max(0, c - 1)];
    else if (e.key === "ArrowRight") target = row[Math.min(row.length - 1, c + 1)];
    else if (e.key === "Home") target = row[0];
    else if (e.key === "End") target = row[row.length - 1];
    else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      const next = this.rows[r + (e.key === "ArrowUp" ? -1 : 1)];
      if (next) {
        const x = row[c].x;
        target = next.reduce((best, s) => (Math.abs(s.x - x) < Math.abs(best.x - x) ? s : best), next[0]);
      }
    } else return;
    e.preventDefault();
    if (target) this.focus(target.id);
  }
}
