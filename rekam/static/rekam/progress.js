// Follows long work started from a page (a reconciliation, an upload's import): polls its
// status every second and updates the page; reloads once it has finished so that the results
// show.
(function () {
  "use strict";
  var panel = document.getElementById("run-progress");
  if (!panel || panel.dataset.finished === "1") {
    return;
  }
  var url = panel.dataset.statusUrl;
  var field = function (name) {
    return panel.querySelector('[data-field="' + name + '"]');
  };
  var polls = 0;
  var poll = function () {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          field("status_label").textContent = data.status_label;
          field("stage").textContent = data.stage;
          field("percent").value = data.percent;
          field("percent_text").textContent = data.percent + "%";
          field("updated_at").textContent = data.updated_at;
          field("error").textContent = data.error;
          if (data.finished) {
            window.location.reload();
            return;
          }
        }
        // Slower after the first minute; the work of a whole province takes minutes.
        if (polls < 3600) {
          window.setTimeout(poll, polls < 60 ? 1000 : 3000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  };
  window.setTimeout(poll, 500);
})();
