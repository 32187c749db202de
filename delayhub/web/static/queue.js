// The mobile booking page: ask the browser for its position and send it with the form. The server
// checks the distance to the agency; the figure shown here is only a courtesy.
(function () {
  "use strict";
  var form = document.getElementById("mobile-form");
  if (!form) { return; }
  var button = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  button.hidden = false;

  function distanceKm(lat1, lon1, lat2, lon2) {
    var r = Math.PI / 180, dp = (lat2 - lat1) * r, dl = (lon2 - lon1) * r;
    var a = Math.pow(Math.sin(dp / 2), 2) + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function locate(then) {
    if (!navigator.geolocation) { status.textContent = form.dataset.failed; return; }
    status.textContent = form.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (p) {
      lat.value = p.coords.latitude;
      lon.value = p.coords.longitude;
      var km = distanceKm(p.coords.latitude, p.coords.longitude, parseFloat(form.dataset.lat), parseFloat(form.dataset.lon));
      status.textContent = form.dataset.located.replace("{km}", km.toFixed(1));
      if (then) { then(); }
    }, function () {
      status.textContent = form.dataset.failed;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  button.addEventListener("click", function () { locate(null); });
  form.addEventListener("submit", function (event) {
    if (!lat.value || !lon.value) {
      event.preventDefault();
      locate(function () { form.submit(); });
    }
  });
}());
