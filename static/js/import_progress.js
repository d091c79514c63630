// The import job page while the job is queued or running: polls the job's progress (a small
// JSON document) and moves the bar, then reloads the page once the job has ended to show the
// result. Without JavaScript the page reloads itself instead (its <noscript> refresh).
document.addEventListener("DOMContentLoaded", function () {
  var section = document.querySelector("[data-progress-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-progress-url");
  var every = Number(section.getAttribute("data-poll-seconds")) * 1000;
  var bar = document.getElementById("import-progress");
  var phase = document.getElementById("import-phase");
  var rows = document.getElementById("import-rows");

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (!job.is_active) { window.location.reload(); return; }
        if (job.rows_total !== null) {
          bar.max = job.rows_total;
          bar.value = job.rows_done;
          bar.textContent = job.percent_text;
          rows.textContent = job.rows_text;
        }
        phase.textContent = job.phase;
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
});
