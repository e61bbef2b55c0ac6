// Every htmx request carries the session's CSRF token (from <meta name="csrf-token">), so
// state-changing requests made with a session cookie pass the server's CSRF check.
// Loaded after htmx; no inline script, as the Content-Security-Policy allows only 'self'.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });
})();
