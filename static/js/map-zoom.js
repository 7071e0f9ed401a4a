// Zoom and pan of the seat map inside its own frame, so the page itself never scrolls sideways.
// Pan is the frame's native scrolling (touch, trackpad, scrollbars); zoom sets the drawing's
// width: the + / − / Fit buttons, pinch (two fingers), Ctrl + wheel (a trackpad's pinch) and the
// keys + − 0 while the map has focus. Zoomed in, every place is at least ZOOMED_PLACE_PX wide,
// so a seat (0.84 of a place) is at least 24 px: big enough for a finger.
export const ZOOMED_PLACE_PX = 30;
const LEVELS_PX = [ZOOMED_PLACE_PX, 40, 54];
const MAX_PLACE_PX = 64;
const FIT_MAX_PX = 44;  // a small auditorium is not blown up to fill a big screen

export class MapZoom extends EventTarget {
  // frame: the scrolling box; svg: the drawing; units: its viewBox [width, height] in places.
  constructor(frame, svg) {
    super();
    this.frame = frame;
    this.svg = svg;
    this.units = [1, 1];
    this.scale = 0;  // px per place; 0 until the first fit
    this.pinch = null;
    frame.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    frame.addEventListener("touchstart", (e) => this.onTouch(e), { passive: false });
    frame.addEventListener("touchmove", (e) => this.onTouch(e), { passive: false });
    frame.addEventListener("touchend", (e) => this.onTouchEnd(e));
    frame.addEventListener("touchcancel", (e) => this.onTouchEnd(e));
    frame.addEventListener("keydown", (e) => this.onKey(e));
    new ResizeObserver(() => { if (this.zoomedIn() === false) this.fit(); }).observe(frame);
  }

  setUnits(width, height) { this.units = [width, height]; this.fit(); }

  // The scale at which the whole map shows: the frame's width, and at most its tallest height.
  fitScale() {
    const style = getComputedStyle(this.frame);
    const pad = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const width = Math.max(100, this.frame.clientWidth - pad);
    const tallest = parseFloat(style.maxHeight) || Infinity;
    return Math.min(width / this.units[0], (tallest - pad) / this.units[1], FIT_MAX_PX);
  }

  levels() {
    const fit = this.fitScale();
    return [fit, ...LEVELS_PX.filter((px) => px > fit * 1.1)];
  }

  zoomedIn() { return this.scale > this.fitScale() * 1.01; }
  placePx() { return this.scale; }

  // Zoom to `scale` keeping the point under `anchor` ({x, y} in client pixels) where it is.
  zoomTo(scale, anchor = null) {
    const fit = this.fitScale();
    const next = Math.min(Math.max(scale, fit), Math.max(MAX_PLACE_PX, fit));
    const box = this.frame.getBoundingClientRect();
    const at = anchor || { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    const before = this.scale || next;
    const ox = this.frame.scrollLeft + at.x - box.left;
    const oy = this.frame.scrollTop + at.y - box.top;
    this.scale = next;
    this.svg.style.width = `${Math.round(this.units[0] * next)}px`;  // CSSOM: allowed by the CSP
    this.frame.scrollLeft = (ox * next) / before - (at.x - box.left);
    this.frame.scrollTop = (oy * next) / before - (at.y - box.top);
    this.frame.dataset.zoomed = this.zoomedIn() ? "true" : "false";
    this.dispatchEvent(new CustomEvent("zoom", { detail: { scale: next, zoomedIn: this.zoomedIn() } }));
  }

  fit() { this.zoomTo(this.fitScale()); }
  zoomIn(anchor) { this.zoomTo(this.levels().find((s) => s > this.scale * 1.01) ?? this.scale * 1.25, anchor); }
  zoomOut(anchor) {
    const smaller = this.levels().filter((s) => s < this.scale * 0.99);
    this.zoomTo(smaller.length ? smaller[smaller.length - 1] : this.fitScale(), anchor);
  }

  // Scroll the frame (never the page) just enough to show an element of the map.
  reveal(element) {
    const frame = this.frame.getBoundingClientRect();
    const r = element.getBoundingClientRect();
    const margin = 8;
    if (r.left < frame.left + margin) this.frame.scrollLeft -= frame.left + margin - r.left;
    else if (r.right > frame.right - margin) this.frame.scrollLeft += r.right - frame.right + margin;
    if (r.top < frame.top + margin) this.frame.scrollTop -= frame.top + margin - r.top;
    else if (r.bottom > frame.bottom - margin) this.frame.scrollTop += r.bottom - frame.bottom + margin;
  }

  onWheel(e) {
    if (!e.ctrlKey) return;  // a plain wheel scrolls; Ctrl + wheel (and trackpad pinch) zooms
    e.preventDefault();
    this.zoomTo(this.scale * Math.exp(-e.deltaY / 300), { x: e.clientX, y: e.clientY });
  }

  onTouch(e) {
    if (e.touches.length !== 2) return;
    e.preventDefault();  // two fingers: our zoom, not the page's
    const [a, b] = e.touches;
    const dist = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
    const mid = { x: (a.clientX + b.clientX) / 2, y: (a.clientY + b.clientY) / 2 };
    if (!this.pinch || e.type === "touchstart") { this.pinch = { dist, scale: this.scale }; return; }
    this.zoomTo(this.pinch.scale * (dist / this.pinch.dist), mid);
  }

  onTouchEnd(e) {
    if (!this.pinch || e.touches.length >= 2) return;
    this.pinch = null;
    // Between "fit" and tappable there is no use: settle on the nearer of the two.
    const fit = this.fitScale();
    if (this.scale > fit * 1.01 && this.scale < ZOOMED_PLACE_PX) {
      this.zoomTo(this.scale - fit < ZOOMED_PLACE_PX - this.scale ? fit : ZOOMED_PLACE_PX);
    }
  }

  onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const focused = document.activeElement?.closest?.(".seat");
    const anchor = focused ? centre(focused) : null;
    if (e.key === "+" || e.key === "=") this.zoomIn(anchor);
    else if (e.key === "-" || e.key === "_") this.zoomOut(anchor);
    else if (e.key === "0") this.fit();
    else return;
    e.preventDefault();
    if (focused) this.reveal(focused);
  }
}

export function centre(element) {
  const r = element.getBoundingClientRect();
  return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
}
