// The sandbox payment page's hold countdown, on the server's clock (rendered into the page).
const box = document.getElementById("hold-left");
const deadline = new Date(box.dataset.deadline).getTime();
const offset = new Date(document.body.dataset.now).getTime() - Date.now();  // server minus browser
const countdown = document.getElementById("countdown");

function tick() {
  const left = Math.max(0, Math.round((deadline - (Date.now() + offset)) / 1000));
  countdown.textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
  countdown.setAttribute("aria-label", `${Math.floor(left / 60)} minutes ${left % 60} seconds left`);
  countdown.dataset.urgent = left <= 60 ? "true" : "false";
  if (left === 0) {
    box.textContent = "Your seats' hold has run out: this payment can no longer complete. Return to your order.";
    return;
  }
  setTimeout(tick, 500);
}
tick();
