// A number's status page: asks for news now and then and updates the few fields in place.
(function () {
  "use strict";
  var root = document.getElementById("ticket-status");
  if (!root) return;
  var url = root.dataset.url;
  var poll = Math.max(5000, Number(root.dataset.poll) || 20000);
  var fields = {};
  root.querySelectorAll("[data-field]").forEach(function (el) { fields[el.dataset.field] = el; });
  var confirmButton = document.querySelector("[data-confirm]");
  if (confirmButton) {
    confirmButton.addEventListener("click", function (event) {
      if (!window.confirm(confirmButton.dataset.confirm)) event.preventDefault();
    });
  }

  function show(data) {
    if (fields.state_text) fields.state_text.textContent = data.state_text;
    if (fields.estimated) fields.estimated.textContent = data.estimated;
    if (fields.ahead) fields.ahead.textContent = String(data.ahead);
    if (fields.serving) fields.serving.textContent = data.serving.length ? data.serving.join(", ") : "–";
    return data.active;
  }

  function tick() {
    if (document.hidden) { setTimeout(tick, poll); return; }
    fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { if (show(data)) setTimeout(tick, poll); })
      .catch(function () { setTimeout(tick, poll * 2); });
  }
  setTimeout(tick, poll);
})();
