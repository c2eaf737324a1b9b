// "Share my location" (api/web/location.py): ask the browser for its position, then post the form.
// Without a position nothing is posted; the status line says why, in the page's language.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("[data-share-location]")) return;
  event.preventDefault();
  const status = form.querySelector("[data-share-status]");
  if (!navigator.geolocation) {
    status.textContent = form.dataset.unavailable;
    return;
  }
  status.textContent = form.dataset.asking;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      form.elements.latitude.value = String(position.coords.latitude);
      form.elements.longitude.value = String(position.coords.longitude);
      form.submit();
    },
    () => { status.textContent = form.dataset.refused; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});
