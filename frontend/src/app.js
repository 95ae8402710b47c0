// Enhancements shared by every page. Each page works without them.

document.documentElement.classList.add("js");

// History filter: choosing a province fills the city select, a city fills the county select, from
// /regions (same origin). Without JavaScript the server fills them after "Filter" is pressed.
function resetSelect(select) {
  const first = select.options[0];
  select.replaceChildren(first);
  select.value = "";
  select.disabled = true;
}

async function fillChildren(select) {
  const child = document.getElementById(select.dataset.regionChild || "");
  if (!child) return;
  resetSelect(child);
  const grandchild = document.getElementById(child.dataset.regionChild || "");
  if (grandchild) resetSelect(grandchild);
  if (!select.value) return;
  try {
    const response = await fetch(`/regions?parent=${encodeURIComponent(select.value)}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const regions = await response.json();
    for (const region of regions) child.add(new Option(region.name, region.code));
    child.disabled = regions.length === 0;
  } catch {
    // Offline or refused: the server-side fallback (submit, then choose) still works.
  }
}

for (const select of document.querySelectorAll("select[data-region-child]")) {
  select.addEventListener("change", () => fillChildren(select));
}

// Show-to-verifier mode: full screen on request, and keep the screen awake while the code is shown.
const fullscreenButton = document.querySelector("[data-fullscreen]");
if (fullscreenButton && document.fullscreenEnabled) {
  const frame = document.getElementById(fullscreenButton.dataset.fullscreen || "");
  fullscreenButton.hidden = false;
  fullscreenButton.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (frame) frame.requestFullscreen().catch(() => {});
  });
}

if (document.body.classList.contains("show") && "wakeLock" in navigator) {
  const keepAwake = () => navigator.wakeLock.request("screen").catch(() => {});
  keepAwake();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") keepAwake();
  });
}

// Site finder: a button asks the browser for the donor's position and searches by distance. The
// position goes only to this server, in the `near` field the form has without JavaScript too.
const nearField = document.querySelector("[data-geolocate]");
if (nearField && "geolocation" in navigator) {
  const locate = document.createElement("button");
  locate.type = "button";
  locate.className = "button outline";
  locate.textContent = nearField.dataset.geolocate || "";
  nearField.after(locate);
  locate.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const { latitude, longitude } = position.coords;
        nearField.value = `${latitude.toFixed(5)},${longitude.toFixed(5)}`;
        nearField.form?.requestSubmit();
      },
      () => {},
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 },
    );
  });
}
