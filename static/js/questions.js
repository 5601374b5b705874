// Registration questions.
// 1. The booking form: a question with data-show-if="q<id>" data-show-value="…" shows only while the
//    earlier question q<id> is answered with that value (one of its options, or yes / no). A hidden
//    question's fields are disabled, so they are not sent; the server drops them anyway.
// 2. The admin builder: the list with data-reorder can be put in order by dragging; the new order is
//    sent with the form data-reorder-form (the ↑ ↓ buttons do the same one step at a time, without script).
(function () {
  "use strict";

  function chosenValues(form, name) {
    var values = [];
    form.querySelectorAll('[name="' + name + '"]').forEach(function (input) {
      if (input.disabled) return;
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      values.push(input.value);
    });
    return values;
  }

  function showConditionalQuestions(form) {
    // Conditions name earlier questions, so one pass in page order settles chains (a question
    // hidden because the one it depends on is hidden).
    form.querySelectorAll("[data-show-if]").forEach(function (question) {
      var shown = chosenValues(form, question.getAttribute("data-show-if"))
        .indexOf(question.getAttribute("data-show-value")) !== -1;
      question.hidden = !shown;
      question.querySelectorAll("input, textarea, select").forEach(function (input) {
        input.disabled = !shown;
      });
    });
  }

  document.querySelectorAll("[data-questions]").forEach(function (block) {
    var form = block.closest("form");
    if (!form) return;
    form.addEventListener("change", function () { showConditionalQuestions(form); });
    showConditionalQuestions(form);
  });

  // --- the builder's drag and drop ----------------------------------------------------------------
  document.querySelectorAll("[data-reorder]").forEach(function (list) {
    var form = document.querySelector("[data-reorder-form]");
    if (!form) return;
    var dragged = null;

    list.querySelectorAll("[data-question-id]").forEach(function (item) {
      item.setAttribute("draggable", "true");
      item.classList.add("draggable");
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        item.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.getAttribute("data-question-id"));
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        dragged = null;
      });
    });

    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest("[data-question-id]");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });

    list.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var ids = [];
      list.querySelectorAll("[data-question-id]").forEach(function (item) {
        ids.push(item.getAttribute("data-question-id"));
      });
      form.querySelector('[name="order"]').value = ids.join(",");
      form.submit();
    });
  });
})();
