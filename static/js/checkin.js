// The door check-in page: a USB scanner's keystrokes, and a phone's camera reading ticket QR codes.
// Without JavaScript the page works the same with a scanner or typed codes (autofocus puts the
// cursor back in the input after each check-in); the camera needs this script.
(function () {
  "use strict";

  var input = document.getElementById("code");
  if (!input) { return; }

  // A USB or Bluetooth scanner "types" the code and presses Enter into whatever has the focus;
  // if staff tapped elsewhere on the page, send those keystrokes to the ticket input instead of
  // losing the scan. (Keys only, not taps: focusing on every tap would pop up the phone's
  // keyboard while staff scroll.)
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target === input || (target.closest && target.closest("input, textarea, select, [contenteditable]"))) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) { return; }
    input.focus();  // the key's character then lands in the ticket input
  });

  var scanner = document.querySelector("[data-camera-scanner]");
  var form = document.querySelector("[data-checkin-form]");
  if (!scanner || !form) { return; }

  var SCAN_EVERY_MS = 150;       // a frame every 150 ms: quick enough, and a phone stays cool
  var SAME_CODE_PAUSE_MS = 3000;  // one code held in view is sent once; again only after 3 s out of view
  var MAX_FRAME_WIDTH = 640;      // the software decoder's work grows with the pixels

  var toggle = scanner.querySelector("[data-camera-toggle]");
  var note = scanner.querySelector("[data-camera-note]");
  var view = scanner.querySelector("[data-camera-view]");
  var video = scanner.querySelector("[data-camera-video]");
  var slot = document.querySelector("[data-scan-slot]");
  var count = document.querySelector("[data-checkin-count]");
  var text = scanner.dataset;

  var stream = null;
  var timer = null;
  var detect = null;         // function (video) -> Promise of the QR text or null
  var busy = false;          // a frame is being read or a check-in is on its way
  var lastCode = null;       // the last text read, and when it was last in view
  var lastSeen = 0;
  var canvas = null;

  scanner.hidden = false;
  toggle.addEventListener("click", function () {
    if (stream) { stop(); } else { start(); }
  });

  function say(message) { note.textContent = message || ""; }

  function start() {
    // Browsers give the camera to secure pages only (HTTPS, or localhost while developing), and
    // only after a tap: hence the button, and a word when either is missing.
    if (window.isSecureContext === false) { say(text.msgInsecure); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(text.msgUnsupported); return; }
    toggle.disabled = true;
    say(text.msgStarting);
    var camera = navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    });
    Promise.all([camera, chooseDecoder()]).then(function (ready) {
      stream = ready[0];
      detect = ready[1];
      video.srcObject = stream;
      view.hidden = false;
      return video.play();
    }).then(function () {
      toggle.disabled = false;
      toggle.textContent = text.labelStop;
      say(text.msgScanning);
      timer = window.setInterval(readFrame, SCAN_EVERY_MS);
    }).catch(function (error) {
      // The camera may have opened while the decoder failed: let it go (its light off) too.
      camera.then(function (opened) { opened.getTracks().forEach(function (track) { track.stop(); }); }, function () {});
      stop();
      say(cameraProblem(error));
    });
  }

  function stop() {
    if (timer) { window.clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.srcObject = null;
    view.hidden = true;
    busy = false;
    toggle.disabled = false;
    toggle.textContent = text.labelStart;
    say("");
  }

  function cameraProblem(error) {
    var name = error && error.name;
    if (name === "DecoderMissing") { return text.msgDecoder; }
    if (name === "NotAllowedError" || name === "SecurityError") { return text.msgDenied; }
    if (name === "NotFoundError" || name === "OverconstrainedError") { return text.msgNoCamera; }
    return text.msgFailed;
  }

  // The browser's own BarcodeDetector where it reads QR codes (Chrome on Android, Safari on
  // macOS); else jsQR (static/vendor), loaded only then, reading frames drawn on a canvas.
  function chooseDecoder() {
    if ("BarcodeDetector" in window && window.BarcodeDetector.getSupportedFormats) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") === -1) { return softwareDecoder(); }
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return function (frame) {
          return detector.detect(frame).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        };
      }, softwareDecoder);
    }
    return softwareDecoder();
  }

  function softwareDecoder() {
    return loadJsQR().then(function (jsQR) {
      canvas = canvas || document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (frame) {
        var width = frame.videoWidth, height = frame.videoHeight;
        if (!width || !height) { return Promise.resolve(null); }
        var scale = Math.min(1, MAX_FRAME_WIDTH / width);
        canvas.width = Math.round(width * scale);
        canvas.height = Math.round(height * scale);
        context.drawImage(frame, 0, 0, canvas.width, canvas.height);
        var pixels = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(window.jsQR); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = text.jsqrSrc;
      script.onload = function () {
        if (window.jsQR) { resolve(window.jsQR); } else { reject({ name: "DecoderMissing" }); }
      };
      script.onerror = function () { reject({ name: "DecoderMissing" }); };
      document.head.appendChild(script);
    });
  }

  function readFrame() {
    if (busy || !stream || video.readyState < 2) { return; }
    busy = true;
    detect(video).then(function (found) {
      var now = Date.now();
      if (!found) { busy = false; return; }
      var same = found === lastCode && now - lastSeen < SAME_CODE_PAUSE_MS;
      lastCode = found;
      lastSeen = now;
      if (same) { busy = false; return; }  // the same ticket still held up: sent already
      return checkIn(found);
    }).catch(function () {
      busy = false;  // an unreadable frame: try the next one
    });
  }

  // The same form and the same address as a typed code (one server path), with the CSRF token
  // the form carries; the answer is JSON with the result's markup, drawn where a typed code's
  // result would be.
  function checkIn(scanned) {
    var data = new URLSearchParams(new FormData(form));  // urlencoded, as the form itself posts
    data.set("code", scanned);
    return window.fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 400) { throw { name: "Expired" }; }  // the CSRF token ran out
      if (!response.ok) { throw { name: "Network" }; }
      return response.json();
    }).then(function (answer) {
      slot.innerHTML = answer.html;  // rendered and escaped by the server's template
      lastSeen = Date.now();  // the pause runs from the answer, however slow the network was
      if (count && answer.count) { count.textContent = answer.count; }
      if (navigator.vibrate) { navigator.vibrate(answer.outcome === "checked_in" ? 80 : [60, 60, 60]); }
      say(text.msgScanning);
    }, function (error) {
      lastCode = null;  // not sent: the same ticket may be tried again at once
      say(error && error.name === "Expired" ? text.msgExpired : text.msgNetwork);
    }).then(function () {
      busy = false;
    });
  }

  // A phone locked or the tab left: let the camera go (its light off), as a native app would.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && stream) { stop(); }
  });
})();
