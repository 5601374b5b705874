// 一键颁发 with a progress bar: instead of one long request for the whole session, issue one
// registration at a time (POST .../certificate, JSON back), moving the <progress> bar and the
// counter, and mark each row as it gets its serial. Without JavaScript (or fetch) the form posts
// the bulk endpoint, which does the same in one request and reports with a flash message.
(function () {
  "use strict";
  var form = document.getElementById("bulk-issue");
  if (!form || !window.fetch) { return; }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }

  form.addEventListener("submit", function (event) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-issue-url]"));
    if (!rows.length) { return; }  // nothing left to issue: the server's summary says who does not qualify
    event.preventDefault();
    var token = form.querySelector("input[name=csrf_token]").value;
    var button = form.querySelector("[type=submit]");
    var status = document.getElementById("issue-status");
    var bar = document.getElementById("issue-progress");
    var counter = document.getElementById("issue-counter");
    var failures = document.getElementById("issue-failures");
    var done = 0, issued = 0, failed = 0;

    button.disabled = true;
    status.hidden = false;
    bar.max = rows.length;
    bar.value = 0;
    counter.textContent = fill(form.dataset.progressText, { done: 0, total: rows.length });

    function fail(row, message) {
      failed += 1;
      var item = document.createElement("li");
      item.textContent = (row.dataset.name || "") + "：" + message;
      failures.appendChild(item);
      failures.hidden = false;
    }

    function succeed(row, body) {
      issued += 1;
      row.removeAttribute("data-issue-url");
      var cell = row.querySelector("[data-cert-cell]");
      var serial = document.createElement("span");
      serial.className = "mono";
      serial.textContent = body.serial;
      var badge = document.createElement("span");
      badge.className = "badge badge-open";
      badge.textContent = form.dataset.validText;
      cell.textContent = "";
      cell.appendChild(serial);
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(badge);
      var actions = row.querySelector(".cert-actions");
      if (actions) { actions.textContent = ""; }  // its 颁发 button is done
    }

    function next() {
      if (done === rows.length) {
        counter.textContent = fill(form.dataset.doneText, { issued: issued, failed: failed });
        button.disabled = false;
        return;
      }
      var row = rows[done];
      fetch(row.dataset.issueUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": token }
      }).then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) { succeed(row, body); } else { fail(row, body.message || response.status); }
        }, function () { fail(row, form.dataset.errorText + " (" + response.status + ")"); });
      }, function () {
        fail(row, form.dataset.errorText);
      }).then(function () {
        done += 1;
        bar.value = done;
        counter.textContent = fill(form.dataset.progressText, { done: done, total: rows.length });
        next();
      });
    }
    next();
  });
})();
