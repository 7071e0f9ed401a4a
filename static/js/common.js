// Runs on every page: the nav reflects who is logged in, and the logout button works.
import { api, hasRole, me, forgetMe } from "./api.js";
import { $$ } from "./dom.js";

async function updateNav() {
  const user = await me();
  document.body.dataset.role = user ? user.role : "";
  for (const li of $$("[data-when]")) {
    const when = li.dataset.when;
    li.hidden = !(
      (when === "guest" && !user) || (when === "user" && user) ||
      (when === "staff" && hasRole(user, "staff")) || (when === "admin" && hasRole(user, "admin"))
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
