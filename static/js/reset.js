// Password reset: ask for a link (same answer for every address), then set the new password.
// The token travels in the link's #fragment: browsers never send it to any server in a request
// line or a Referer, so it appears in no access log.
import { api } from "./api.js";
import { $, showFormError } from "./dom.js";

const forgot = $("#forgot-form");
if (forgot) {
  forgot.addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = forgot.email.value.trim();
    if (!forgot.email.checkValidity()) {
      showFormError(forgot, { field: "email", message: "Enter an email address like name@example.com." });
      return;
    }
    const button = forgot.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const answer = await api("/api/auth/reset", { method: "POST", body: { email } });
      forgot.hidden = true;
      $("#forgot-sent-text").textContent = answer.message;
      $("#forgot-sent").hidden = false;
    } catch (err) {
      showFormError(forgot, { field: err.field, message: err.status === 429
        ? "Too many requests for this address — please wait a while and try again." : err.message });
    } finally {
      button.disabled = false;
    }
  });
}

const reset = $("#reset-form");
if (reset) {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  // Drop the token from the address bar (and history) once read.
  history.replaceState(null, "", location.pathname);
  const badLink = (text) => {
    reset.hidden = true;
    if (text) $("#reset-bad-text").textContent = text;
    $("#reset-bad-link").hidden = false;
  };
  if (!token) badLink("This page needs the link from your password reset email.");
  reset.addEventListener("submit", async (e) => {
    e.preventDefault();
    const password = reset.password.value;
    if (password.length < 8) {
      showFormError(reset, { field: "password", message: "Use at least 8 characters, with letters and digits." });
      return;
    }
    if (password !== reset.confirm.value) {
      showFormError(reset, { field: "confirm", message: "The two passwords differ." });
      return;
    }
    showFormError(reset, null);
    const button = reset.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("/api/auth/reset/complete", { method: "POST", body: { token, password } });
      reset.hidden = true;
      $("#reset-done").hidden = false;
    } catch (err) {
      if (err.code === "invalid_token") badLink(err.message);
      else showFormError(reset, { field: err.field, message: err.message });
    } finally {
      button.disabled = false;
    }
  });
}
