// 团体报名's form: add and remove attendee blocks, and 我本人也参加, here on the page.
// Without the script the same buttons post the form and the server draws it again with what was
// typed (app/booking/views.py book_group), so this only saves the round trip.
(function () {
  "use strict";

  var form = document.querySelector("[data-group-form]");
  if (!form) return;
  var list = form.querySelector("[data-attendees]");
  var template = document.getElementById("attendee-template");
  var addButton = form.querySelector("[data-add-attendee]");
  var most = parseInt(list.getAttribute("data-most"), 10) || 2;
  // New blocks get numbers the page has not used: the server reads the blocks in number order.
  var next = list.querySelectorAll("[data-attendee]").length;

  function blocks() {
    return list.querySelectorAll("[data-attendee]");
  }

  function renumber() {
    var all = blocks();
    all.forEach(function (block, index) {
      block.querySelector("[data-attendee-number]").textContent = String(index + 1);
      block.querySelector("[data-remove-attendee]").hidden = all.length <= 2;
    });
    if (addButton) addButton.disabled = all.length >= most;
  }

  if (addButton && template) {
    addButton.addEventListener("click", function (event) {
      event.preventDefault();
      if (blocks().length >= most) return;
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__n__/g, String(next));
      next += 1;
      var block = holder.firstElementChild;
      list.appendChild(block);
      renumber();
      form.dispatchEvent(new Event("change"));  // conditional questions of the new block (questions.js)
      var first = block.querySelector("input");
      if (first) first.focus();
    });
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-attendee]");
    if (!button) return;
    event.preventDefault();
    if (blocks().length <= 2) return;
    button.closest("[data-attendee]").remove();
    renumber();
  });

  var me = form.querySelector("[data-me]");
  if (me) {
    me.addEventListener("click", function (event) {
      event.preventDefault();
      var first = blocks()[0];
      if (!first) return;
      ["name", "phone", "email"].forEach(function (field) {
        var input = first.querySelector('input[name$="-' + field + '"]');
        if (input && !input.value) input.value = me.getAttribute("data-" + field);
      });
      var name = first.querySelector('input[name$="-name"]');
      if (name) name.focus();
    });
  }

  renumber();
})();
