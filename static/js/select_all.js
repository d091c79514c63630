// "Select all in this list": ticks or clears every person's box of the ranked list.
// Shown only once this script runs, so without JavaScript nothing is broken.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-select-all]").forEach(function (label) {
    var box = label.querySelector("input");
    var boxes = label.closest("form").querySelectorAll("input[name=selected]");
    label.hidden = false;
    box.addEventListener("change", function () {
      boxes.forEach(function (each) { each.checked = box.checked; });
    });
  });
});
