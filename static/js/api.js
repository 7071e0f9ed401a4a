// The JSON API client: one error shape, silent token refresh on 401, same-origin cookies.
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `request failed (${status})`);
    this.status = status;
    this.code = err.code || "http_error";
    this.field = err.field || null;
    this.details = err;
  }
}

let refreshing = null;
// The page says whether a session may exist (a session cookie was sent with it). A guest's page
// asks no API who they are and never tries a refresh, so a visit logs no 401 at all.
let maybeSession = document.body?.dataset.session !== "no";

// One refresh at a time: parallel 401s wait for the same /api/auth/refresh.
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  }
  return refreshing;
}

async function send(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

// api("/api/movies") -> parsed JSON; throws ApiError with {status, code, message, field}.
export async function api(path, options = {}) {
  let resp = await send(path, options);
  if (resp.status === 401 && maybeSession && !path.startsWith("/api/auth/") && (await refreshSession())) {
    resp = await send(path, options);
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

let mePromise = null;

// The logged-in user ({id, email, name, role}) or null; asked once per page. `fresh` asks the
// server even on a guest's page (just after logging in there).
export function me({ fresh = false } = {}) {
  if (fresh) maybeSession = true;
  if (!maybeSession) return Promise.resolve(null);
  if (!mePromise || fresh) {
    mePromise = api("/api/me").then((d) => (d && (d.user || d)) || null).catch(() => null);
  }
  return mePromise;
}

export function forgetMe() { mePromise = Promise.resolve(null); }

// Roles weakest first, as the server ranks them (server/domain/tokens.py): an admin is also staff.
// Pages use it only to show or hide what the API would refuse anyway.
const ROLE_RANK = { customer: 1, staff: 2, admin: 3 };
export function hasRole(user, role) { return Boolean(user) && (ROLE_RANK[user.role] || 0) >= ROLE_RANK[role]; }

// Pull a list out of either a bare array or {items|<name>: [...]} responses.
export function listOf(data, ...names) {
  if (Array.isArray(data)) return data;
  if (!data) return [];
  for (const n of [...names, "items", "results", "data"]) if (Array.isArray(data[n])) return data[n];
  return [];
}
