// The page of a running import job: every few seconds, read the page again and put its
// status section in place of this one, so the progress bar moves without a reload (which
// would lose the reader's place). Once the job has ended, the whole page is read again
// once, for the result. Without JavaScript the page offers a reload link instead.
document.addEventListener("DOMContentLoaded", function () {
  var section = document.querySelector("[data-refresh-seconds]");
  if (!section) return;
  var seconds = Number(section.dataset.refreshSeconds);
  document.querySelectorAll("[data-refresh-manual]").forEach(function (hint) { hint.hidden = true; });
  document.querySelectorAll("[data-refresh-auto]").forEach(function (hint) { hint.hidden = false; });
  function update() {
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-job-status]");
        if (!fresh || !fresh.hasAttribute("data-refresh-seconds")) {
          window.location.reload();
          return;
        }
        section.querySelector("[data-job-progress]").replaceWith(fresh.querySelector("[data-job-progress]"));
        window.setTimeout(update, seconds * 1000);
      })
      .catch(function () { window.setTimeout(update, seconds * 1000); });
  }
  window.setTimeout(update, seconds * 1000);
});
