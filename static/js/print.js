// "Print / save as PDF" buttons: any element with data-print prints the page.
// The button is hidden until this script runs, so without JavaScript nothing is broken.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
