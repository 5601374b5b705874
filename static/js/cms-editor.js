// The article editor: a live preview rendered by the server, image uploads inserted at the cursor,
// the cover's thumbnail, booking cards from the session picker, and an edit/preview switch on
// phones. Everything it needs comes from the form's data-* attributes. Without JavaScript the form
// still works: the cover is posted with the form, the preview shows what was last saved.
(function () {
  "use strict";
  var form = document.getElementById("article-editor");
  if (!form || !window.fetch || !window.FormData) { return; }

  var body = form.querySelector("textarea[name=body]");
  var preview = document.getElementById("article-preview");
  var token = form.querySelector("input[name=csrf_token]").value;
  var texts = form.dataset;
  var dirty = false;

  function show(element) { if (element) { element.hidden = false; } }

  function say(element, message, isError) {
    if (!element) { return; }
    element.textContent = message;
    element.classList.toggle("field-error", !!isError);
    element.hidden = !message;
  }

  function post(url, data, accept) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": accept }
    });
  }

  // --- live preview: one request at a time, at most one every 400 ms; late answers are dropped ---
  var timer = null, sent = 0, shown = 0;

  function refreshPreview() {
    timer = null;
    var number = ++sent;
    var data = new FormData();
    data.append("body", body.value);
    post(texts.previewUrl, data, "text/html").then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("text/html") !== 0 || (response.status !== 200 && response.status !== 422)) {
        throw new Error(String(response.status));
      }
      return response.text();
    }).then(function (html) {
      if (number < shown) { return; }
      shown = number;
      preview.innerHTML = html;  // sanitised by the server (nh3), the same HTML readers get
    }, function () {
      if (number >= shown) { say(previewStatus, texts.textPreviewFailed, true); }
    });
  }

  var previewStatus = document.createElement("p");
  previewStatus.className = "small";
  previewStatus.hidden = true;
  preview.parentNode.insertBefore(previewStatus, preview);

  function schedulePreview() {
    say(previewStatus, "");
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refreshPreview, 400);
  }

  body.addEventListener("input", schedulePreview);

  // --- inserting at the cursor ---
  function insertBlock(text) {
    var start = body.selectionStart, end = body.selectionEnd, value = body.value;
    if (typeof start !== "number") { start = end = value.length; }
    // Images and booking cards are blocks: each a paragraph of its own, between blank lines.
    var head = value.slice(0, start), tail = value.slice(end);
    function missing(newlines) { return "\n\n".slice(Math.min(newlines, 2)); }
    var before = head === "" ? "" : missing(/\n*$/.exec(head)[0].length);
    var after = missing(/^\n*/.exec(tail)[0].length);
    var inserted = before + text + after;
    body.value = value.slice(0, start) + inserted + value.slice(end);
    var caret = start + inserted.length;
    body.focus();
    body.setSelectionRange(caret, caret);
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // --- uploads ---
  function upload(file, status) {
    say(status, texts.textUploading);
    var data = new FormData();
    data.append("image", file);
    return post(texts.uploadUrl, data, "application/json").then(function (response) {
      // A body over MAX_CONTENT_LENGTH is refused before the app sees it, with an HTML page.
      return response.json().catch(function () {
        return { error: response.status === 413 ? texts.textTooLarge : texts.textUploadFailed };
      });
    }, function () {
      return { error: texts.textUploadFailed };
    }).then(function (answer) {
      if (!answer.url) {
        say(status, answer.error || texts.textUploadFailed, true);
        return null;
      }
      say(status, texts.textUploaded);
      return answer;
    });
  }

  var bodyImage = document.getElementById("body-image");
  var bodyImageStatus = document.getElementById("body-image-status");
  bodyImage.addEventListener("change", function () {
    var file = bodyImage.files[0];
    if (!file) { return; }
    var cursor = [body.selectionStart, body.selectionEnd];
    upload(file, bodyImageStatus).then(function (answer) {
      bodyImage.value = "";
      if (!answer) { return; }
      body.setSelectionRange(cursor[0], cursor[1]);  // where the editor was, not where focus went
      insertBlock(answer.markdown);
    });
  });

  var coverFile = form.querySelector("input[name=cover_file]");
  var coverValue = form.querySelector("input[name=cover_image]");
  var coverFigure = document.getElementById("cover-preview");
  var coverThumb = document.getElementById("cover-thumb");
  var coverRemove = document.getElementById("cover-remove");
  var coverStatus = document.getElementById("cover-status");
  if (coverValue.value) { show(coverRemove); }
  coverFile.addEventListener("change", function () {
    var file = coverFile.files[0];
    if (!file) { return; }
    upload(file, coverStatus).then(function (answer) {
      coverFile.value = "";  // uploaded already: the form sends the stored name, not the file again
      if (!answer) { return; }
      coverValue.value = answer.filename;
      coverThumb.src = answer.url;
      show(coverFigure);
      show(coverRemove);
      dirty = true;
    });
  });
  coverRemove.addEventListener("click", function () {
    coverValue.value = "";
    coverThumb.removeAttribute("src");
    coverFigure.hidden = true;
    say(coverStatus, "");
    dirty = true;
  });

  // --- booking cards ---
  var picker = document.getElementById("session-picker");
  document.getElementById("insert-session").addEventListener("click", function () {
    if (!picker.value) { say(bodyImageStatus, texts.textPickSession, true); picker.focus(); return; }
    say(bodyImageStatus, "");
    insertBlock("[[session:" + picker.value + "]]");
  });

  // --- edit / preview switch on narrow screens (CSS shows both side by side on wide ones) ---
  var panes = form.querySelector(".cms-panes");
  var tabs = Array.prototype.slice.call(form.querySelectorAll(".cms-tab"));
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      panes.setAttribute("data-show", tab.dataset.pane);
      tabs.forEach(function (other) { other.setAttribute("aria-selected", String(other === tab)); });
      if (tab.dataset.pane === "preview" && timer) { clearTimeout(timer); refreshPreview(); }
    });
  });
  show(form.querySelector(".cms-tabs"));
  show(form.querySelector(".cms-toolbar"));
  panes.classList.add("cms-panes-tabbed");

  // --- do not lose typing by leaving the page ---
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) { return; }
    event.preventDefault();
    event.returnValue = texts.textLeave;
  });
}());
