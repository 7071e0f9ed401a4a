// Read QR codes from the device's camera: the browser's own BarcodeDetector where it has one for
// QR codes, otherwise jsQR (static/vendor/jsqr, loaded only then) on frames drawn to a canvas.
const JSQR_URL = "/static/vendor/jsqr/jsQR.js";
const EVERY_MS = 150;
let jsqr = null;

function loadJsQr() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  jsqr ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");  // a same-origin file: allowed by the CSP
    script.src = JSQR_URL;
    script.onload = () => resolve(window.jsQR);
    script.onerror = () => reject(new Error("The QR reader could not be loaded."));
    document.head.append(script);
  });
  return jsqr;
}

async function makeReader(video) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async () => (await detector.detect(video))[0]?.rawValue || null;
      }
    } catch { /* fall back to jsQR */ }
  }
  const decode = await loadJsQr();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    const { videoWidth: w, videoHeight: h } = video;
    if (!w || !h) return null;
    canvas.width = w;
    canvas.height = h;
    context.drawImage(video, 0, 0, w, h);
    return decode(context.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" })?.data || null;
  };
}

// Start the camera in `video`; calls onCode(text) once per code read. Returns stop().
export async function scanQr(video, onCode) {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error("This browser cannot use a camera here.");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  await video.play();
  const read = await makeReader(video);
  let running = true;
  let last = null;
  (async function loop() {
    while (running) {
      let code = null;
      try { code = await read(); } catch { /* a frame that could not be read */ }
      if (code && code !== last) { last = code; onCode(code); }
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
  })();
  return () => {
    running = false;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
}
