// Notification settings: channels (email, push on this device) and reminder times.
// Push is asked for only when the user presses the button: the browser's permission prompt
// appears in answer to their click, never on page load.
import { api } from "./api.js";
import { $, clear, flash, h, showFormError } from "./dom.js";

const form = $("#notifications-form");
let settings = null;

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

async function currentSubscription() {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration("/");
  return reg ? reg.pushManager.getSubscription() : null;
}

async function showPushState() {
  const state = $("#push-state");
  const on = $("#push-on"), off = $("#push-off");
  if (!pushSupported() || !settings.push_key) {
    state.textContent = "This browser cannot receive notifications from Houseful.";
    on.hidden = true; off.hidden = true;
    return;
  }
  const sub = await currentSubscription();
  const devices = settings.push_devices;
  if (Notification.permission === "denied") {
    state.textContent = "Notifications are blocked for this site in your browser's settings.";
    on.hidden = true; off.hidden = true;
    return;
  }
  state.textContent = sub ? `This device receives notifications (${devices} device${devices === 1 ? "" : "s"} in all).`
    : `This device does not receive notifications${devices ? ` (${devices} other device${devices === 1 ? "" : "s"} do)` : ""}.`;
  on.hidden = Boolean(sub);
  off.hidden = !sub;
}

function fill() {
  form.email.checked = settings.email;
  form.push.checked = settings.push;
  form.remind_day_before.checked = settings.remind_day_before;
  $("#day-before-hour").textContent = `${String(settings.day_before_hour).padStart(2, "0")}:00`;
  const select = clear(form.remind_hours);
  for (const hours of settings.hours_choices) {
    select.append(h("option", { value: String(hours), text: hours ? `${hours} hour${hours === 1 ? "" : "s"} before` : "No reminder" }));
  }
  select.value = String(settings.remind_hours);
}

async function load() {
  try {
    settings = await api("/api/me/notifications");
  } catch (err) {
    if (err.status === 401) { $("#login-needed").hidden = false; return; }
    flash(err.message, "error");
    return;
  }
  fill();
  form.hidden = false;
  await showPushState();
}

$("#push-on").addEventListener("click", async () => {
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") { await showPushState(); return; }
    const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(settings.push_key) });
    await api("/api/me/push-subscriptions", { method: "POST", body: sub.toJSON() });
    settings = await api("/api/me/notifications", { method: "PATCH", body: { push: true } });
    fill();
    flash("Notifications are on for this device.", "ok");
  } catch (err) {
    flash(err.message || "This browser could not subscribe to notifications.", "error");
  }
  await showPushState();
});

$("#push-off").addEventListener("click", async () => {
  const sub = await currentSubscription();
  if (sub) {
    await api("/api/me/push-subscriptions", { method: "DELETE", body: { endpoint: sub.endpoint } }).catch(() => null);
    await sub.unsubscribe();
  }
  settings = await api("/api/me/notifications");
  fill();
  await showPushState();
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  showFormError(form, null);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    settings = await api("/api/me/notifications", { method: "PATCH", body: {
      email: form.email.checked, push: form.push.checked, remind_day_before: form.remind_day_before.checked,
      remind_hours: Number(form.remind_hours.value) } });
    fill();
    flash("Saved.", "ok");
  } catch (err) {
    showFormError(form, { field: err.field, message: err.message });
  } finally {
    button.disabled = false;
  }
});

load();
