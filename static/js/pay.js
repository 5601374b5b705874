// The pay pages: the hold's countdown, the step to the provider's page, WeChat's pay sheet, and
// watching for the payment to arrive. Data attributes carry what the server decided; no inline script.
(function () {
  "use strict";

  // 名额为您保留至 …: minutes and seconds left, then a reload (the page then says the hold is over).
  var deadline = document.querySelector("[data-countdown]");
  if (deadline) {
    var ends = Date.parse(deadline.getAttribute("data-countdown"));
    var shown = deadline.querySelector(".countdown");
    var tick = function () {
      var left = Math.max(0, Math.floor((ends - Date.now()) / 1000));
      if (left === 0) {
        shown.textContent = deadline.getAttribute("data-expired-text");
        window.setTimeout(function () { window.location.reload(); }, 3000);
        return;
      }
      var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
      shown.textContent = "（" + (hours ? hours + ":" : "") + String(minutes).padStart(2, "0") + ":" +
        String(seconds).padStart(2, "0") + "）";
      window.setTimeout(tick, 1000);
    };
    if (!isNaN(ends) && shown) { tick(); }
  }

  // Alipay and WeChat H5: the provider's page, as soon as this one shows.
  var go = document.querySelector("[data-go]");
  if (go) { window.location.assign(go.getAttribute("data-go")); }

  // Inside WeChat: its pay sheet (WeixinJSBridge); elsewhere, the development stand-in's page.
  var jsapi = document.querySelector("[data-jsapi]");
  if (jsapi) {
    var invoke = function () {
      var params = JSON.parse(jsapi.getAttribute("data-jsapi"));
      if (window.WeixinJSBridge) {
        window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () { watch(1000); });
      } else if (jsapi.getAttribute("data-fallback")) {
        window.location.assign(jsapi.getAttribute("data-fallback"));
      }
    };
    jsapi.addEventListener("click", invoke);
    if (window.WeixinJSBridge) { invoke(); } else {
      document.addEventListener("WeixinJSBridgeReady", invoke, false);
    }
  }

  // Watch for the provider's notification: when the seat is confirmed, go to the ticket.
  var card = document.querySelector("[data-status-url]");
  var watching = false;
  function watch(delay) {
    if (!card || watching) { return; }
    watching = true;
    var url = card.getAttribute("data-status-url");
    var ask = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (state && state.paid) { window.location.assign(state.next); return; }
          window.setTimeout(ask, 3000);
        })
        .catch(function () { window.setTimeout(ask, 5000); });
    };
    window.setTimeout(ask, delay);
  }
  if (card && !go) { watch(3000); }
})();
