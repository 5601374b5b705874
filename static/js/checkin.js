// The door check-in page. A USB or Bluetooth scanner "types" the code and presses Enter into
// whatever has the focus; if staff tapped elsewhere on the page, send those keystrokes to the
// ticket input instead of losing the scan. (Keys only, not taps: focusing on every tap would
// pop up the phone's keyboard while staff scroll.) Without JavaScript the page works the same,
// with autofocus putting the cursor in the input after each check-in.
(function () {
  "use strict";
  var input = document.getElementById("code");
  if (!input) { return; }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target === input || (target.closest && target.closest("input, textarea, select, [contenteditable]"))) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) { return; }
    input.focus();  // the key's character then lands in the ticket input
  });
})();
