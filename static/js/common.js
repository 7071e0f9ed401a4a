// Runs on every page: the nav reflects who is logged in, and the logout button works.
import { api, me, forgetMe } from "./api.js";
import { $$ } from "./dom.js";

async function updateNav() {
  const user = await me();
  const role = user ? user.role : null;
  const rank = { customer: 1, staff: 2, admin: 3 }[role] || 0;
  document.body.dataset.role = role || "";
  for (const li of $$("[data-when]")) {
    const when = li.dataset.when;
    li.hidden = !(
      (when === "guest" && !user) || (when === "user" && user) ||
      (when === "staff" && rank >= 2) || (when === "admin" && rank >= 3)
    );
  }
}

async function logout() {
  try { await api("/api/auth/logout", { method: "POST" }); } catch { /* already logged out */ }
  forgetMe();
  location.assign("/");
}

document.getElementById("logout")?.addEventListener("click", logout);
updateNav();
