// The verifier's camera and photo reading: the QR code is decoded here in the browser (paulmillr's `qr`,
// bundled at build time), then the text is posted to /verify exactly as if it had been pasted.

import decodeQR from "qr/decode.js";

const PREFIX = "BC1:";
const MAX_SIDE = 1280; // large enough for a code filling a tenth of a photo, small enough to decode fast
const FRAME_MS = 120;

const scanner = document.querySelector("[data-scanner]");
const form = document.querySelector("[data-verify-form]");
const textarea = form ? form.querySelector("textarea[name=qr]") : null;
const status = document.querySelector("[data-status]");
const scanButton = document.querySelector("[data-scan]");
const photoInput = document.querySelector("[data-photo]");
const viewfinder = document.querySelector("[data-viewfinder]");
const video = document.querySelector("[data-video]");
const canvas = document.createElement("canvas");
const context = canvas.getContext("2d", { willReadFrequently: true });

let stream = null;
let timer = 0;
const scanLabel = scanButton ? scanButton.textContent : "";

function say(key) {
  if (status) status.textContent = key ? status.dataset[key] || "" : "";
}

/** The QR text in a drawable (video frame, bitmap), or null. Tries the full picture, then smaller. */
function decode(source, width, height) {
  let scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    canvas.width = w;
    canvas.height = h;
    context.drawImage(source, 0, 0, w, h);
    try {
      const text = decodeQR(context.getImageData(0, 0, w, h));
      if (text) return text;
    } catch {
      // No code at this size: a smaller picture often helps a blurry or noisy photo.
    }
    scale /= 2;
    if (Math.max(w, h) < 240) break;
  }
  return null;
}

function submit(text) {
  if (!form || !textarea) return;
  textarea.value = text.trim();
  say("found");
  form.requestSubmit ? form.requestSubmit() : form.submit();
}

function stopCamera() {
  window.clearTimeout(timer);
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  if (video) video.srcObject = null;
  if (viewfinder) viewfinder.hidden = true;
  if (scanButton) scanButton.textContent = scanLabel;
}

function scanFrame() {
  if (!stream || !video) return;
  if (video.readyState >= 2 && video.videoWidth) {
    const text = decode(video, video.videoWidth, video.videoHeight);
    if (text && text.toUpperCase().startsWith(PREFIX)) {
      stopCamera();
      submit(text);
      return;
    }
  }
  timer = window.setTimeout(scanFrame, FRAME_MS);
}

async function startCamera() {
  if (!video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("noCamera");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 1280 } },
      audio: false,
    });
  } catch {
    say("noCamera");
    return;
  }
  video.srcObject = stream;
  if (viewfinder) viewfinder.hidden = false;
  if (scanButton) scanButton.textContent = scanButton.dataset.stopLabel || scanLabel;
  say("looking");
  await video.play().catch(() => {});
  scanFrame();
}

async function readPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    say("noCode");
    return;
  }
  const text = decode(bitmap, bitmap.width, bitmap.height);
  bitmap.close();
  if (text) submit(text);
  else say("noCode");
}

if (scanner && form && textarea) {
  scanner.hidden = false;
  scanButton?.addEventListener("click", () => (stream ? stopCamera() : startCamera()));
  photoInput?.addEventListener("change", () => {
    const file = photoInput.files && photoInput.files[0];
    if (file) readPhoto(file);
    photoInput.value = "";
  });
  window.addEventListener("pagehide", stopCamera);
}
