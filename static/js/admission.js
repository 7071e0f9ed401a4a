// The waiting room's admission pass, kept per tab (sessionStorage) between the line and the seat map.
export const PASS_PREFIX = "houseful:admission:";

// The stored pass of a screening if it is still valid at `now` (unix ms), else null.
export function storedPass(screeningId, now = Date.now()) {
  try {
    const found = JSON.parse(sessionStorage.getItem(PASS_PREFIX + screeningId) || "null");
    return found && found.expires > now ? found : null;
  } catch { return null; }
}
