// Reloads the run page when its journal moves on. Served from our own route so that the
// Content-Security-Policy can forbid every inline script.
(function () {
  var page = document.querySelector("[data-events]");
  if (!page || !window.EventSource) return;
  var source = new EventSource(page.getAttribute("data-events"));
  source.addEventListener("changed", function () {
    source.close();
    window.location.reload();
  });
})();
