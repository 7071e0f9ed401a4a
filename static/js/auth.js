// Login and register: validate in the form first, then show the server's error on its field.
import { api, me } from "./api.js";
import { $, showFormError } from "./dom.js";

// Only same-site paths are followed after login, so ?next= cannot send anyone elsewhere.
export function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function validate(form) {
  for (const input of form.querySelectorAll("input")) {
    if (!input.checkValidity()) {
      const label = form.querySelector(`label[for="${input.id}"]`)?.firstChild?.textContent.trim() || input.name;
      let message = `${label}: ${input.validationMessage}`;
      if (input.validity.valueMissing) message = `${label} is required.`;
      else if (input.validity.typeMismatch && input.type === "email") message = "Enter an email address like name@example.com.";
      else if (input.validity.tooShort) message = `${label} must be at least ${input.minLength} characters.`;
      else if (input.validity.patternMismatch) message = `${label} can only contain digits, spaces, brackets, + and -.`;
      return { field: input.name, message };
    }
  }
  return null;
}

async function submit(form, work) {
  const problem = validate(form);
  showFormError(form, problem);
  if (problem) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await work();
    await me({ fresh: true });
    location.assign(safeNext());
  } catch (err) {
    showFormError(form, { field: err.field, message: err.status === 429 ? "Too many attempts — please wait a minute and try again." : err.message });
  } finally {
    button.disabled = false;
  }
}

const loginForm = $("#login-form");
if (loginForm) {
  const next = new URLSearchParams(location.search).get("next");
  if (next) $("#register-link").href = `/register?next=${encodeURIComponent(next)}`;
  loginForm.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(loginForm, () => api("/api/auth/login", { method: "POST", body: {
      email: loginForm.email.value.trim(), password: loginForm.password.value } }));
  });
}

const registerForm = $("#register-form");
if (registerForm) {
  const next = new URLSearchParams(location.search).get("next");
  if (next) $("#login-link").href = `/login?next=${encodeURIComponent(next)}`;
  registerForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { name: registerForm.name.value.trim(), email: registerForm.email.value.trim(), password: registerForm.password.value };
    if (registerForm.phone.value.trim()) body.phone = registerForm.phone.value.trim();
    submit(registerForm, async () => {
      await api("/api/auth/register", { method: "POST", body });
      // Registration may or may not start a session; log in when it did not.
      if (!(await me({ fresh: true }))) {
        await api("/api/auth/login", { method: "POST", body: { email: body.email, password: body.password } });
      }
    });
  });
}
