// /api/docs: Swagger UI (vendored, static/vendor/swagger-ui) drawing the OpenAPI document.
// Started here rather than in an inline script, so the page keeps the strict CSP.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.spec,
  domNode: root,
  deepLinking: true,
  // "Try it out" sends requests from this page, with the visitor's cookies (same origin).
  tryItOutEnabled: false,
  withCredentials: true,
  presets: [window.SwaggerUIBundle.presets.apis],
});
