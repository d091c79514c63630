// Adding a connection: only the fields of the chosen kind show. Each field, and each piece
// of help, names its kinds in data-kinds; choosing a kind shows those, hides the others,
// sets the kind the form posts and describes each input with the help now shown. Without
// JavaScript the "Show the fields of this kind" button asks the server for that page.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("[data-kind-select]");
  if (!select) { return; }

  function show() {
    var kind = select.value;
    document.querySelectorAll("[data-kind-value]").forEach(function (input) { input.value = kind; });
    document.querySelectorAll("[data-kinds]").forEach(function (element) {
      element.hidden = element.getAttribute("data-kinds").split(" ").indexOf(kind) < 0;
    });
    document.querySelectorAll("[data-kinds] .field").forEach(function (field) {
      var helps = Array.prototype.map.call(field.querySelectorAll(".help[id]:not([hidden])"), function (help) {
        return help.id;
      });
      field.querySelectorAll("input, textarea, select").forEach(function (input) {
        if (helps.length) { input.setAttribute("aria-describedby", helps.join(" ")); }
        else { input.removeAttribute("aria-describedby"); }
      });
    });
  }

  document.querySelectorAll("[data-kind-show]").forEach(function (button) { button.hidden = true; });
  select.addEventListener("change", show);
});
