// A form with data-confirm="…" asks before it posts (cancel a booking, revoke a certificate, …).
// Here rather than in onsubmit="…": the Content-Security-Policy runs no inline script.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();  // captured first: no other submit handler runs either
    }
  }, true);
})();
