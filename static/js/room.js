// A live room connection: hello, snapshot, events; commands with increasing ids; reconnect with backoff.
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const COMMAND_TIMEOUT_MS = 10000;

export class RoomError extends Error {
  constructor(error) {
    super(error.message || error.code);
    this.code = error.code;
    this.details = error;
  }
}

export class LiveRoom extends EventTarget {
  // url: a string or a function returning one (so a reconnect can carry the current filters);
  // beforeConnect: an async hook, e.g. refreshing the session so the upgrade carries a valid cookie.
  constructor(url, { beforeConnect = null } = {}) {
    super();
    this.url = url;
    this.beforeConnect = beforeConnect;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();  // id -> {resolve, reject, timer}
    this.attempt = 0;
    this.closedByUs = false;
    this.state = "connecting";
    this.clockOffset = 0;      // server_time - Date.now()
  }

  async connect() {
    this.closedByUs = false;
    this.setState("connecting");
    if (this.beforeConnect) { try { await this.beforeConnect(); } catch { /* connect anyway */ } }
    if (this.closedByUs) return;
    const ws = new WebSocket(typeof this.url === "function" ? this.url() : this.url);
    this.ws = ws;
    ws.addEventListener("message", (e) => this.onMessage(e.data));
    ws.addEventListener("close", (e) => this.onClose(ws, e));
    ws.addEventListener("error", () => { /* close follows */ });
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  serverNow() { return Date.now() + this.clockOffset; }

  onMessage(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch { return; }
    if (msg.server_time) this.clockOffset = msg.server_time - Date.now();
    if (msg.type === "result") {
      const waiter = this.pending.get(msg.id);
      if (!waiter) {
        // An error no request waits for (id null: e.g. refused before any command, or rate limited).
        if (!msg.success) this.dispatchEvent(new CustomEvent("failure", { detail: msg.error || {} }));
        return;
      }
      this.pending.delete(msg.id);
      clearTimeout(waiter.timer);
      if (msg.success) waiter.resolve(msg.result || {});
      else waiter.reject(new RoomError(msg.error || { code: "error", message: "failed" }));
      return;
    }
    if (msg.type === "hello") {
      this.attempt = 0;
      this.setState("live");
    }
    this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
  }

  onClose(ws, event) {
    if (ws !== this.ws) return;
    for (const [, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new RoomError({ code: "disconnected", message: "Connection lost — try again in a moment." }));
    }
    this.pending.clear();
    if (this.closedByUs) { this.setState("closed"); return; }
    // Backoff with jitter, so a restarted server is not stampeded by every open page at once.
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.setState("offline", { retryIn: delay, code: event.code });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // send("hold", {seats: [1, 2]}) -> Promise of the result; rejects with RoomError.
  send(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RoomError({ code: "disconnected", message: "Not connected — reconnecting…" }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RoomError({ code: "timeout", message: "The server did not answer — try again." }));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ id, type, ...fields }));
    });
  }
}

export function roomUrl(path) {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}
