// A film's poster, or its initial when it has none.
import { h } from "./dom.js";

export function posterFor(movie, cls = "poster") {
  if (movie.poster_url) return h("img", { class: cls, src: movie.poster_url, alt: `Poster: ${movie.title}`, loading: "lazy" });
  return h("div", { class: `${cls} poster-fallback`, "aria-hidden": "true", text: (movie.title || "?").slice(0, 1) });
}
