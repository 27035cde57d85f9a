// The gate: remembers the ticket paper (58/80 mm), prints a fresh ticket once, keeps the QR
// field ready for the reader.
(function () {
  "use strict";
  var KEY = "rekam.antrean.paper";
  var paper = "58";
  try { paper = window.localStorage.getItem(KEY) || "58"; } catch (e) { /* private mode */ }
  function apply(value) {
    document.body.classList.toggle("paper-80", value === "80");
    document.body.classList.toggle("paper-58", value !== "80");
  }
  apply(paper);
  document.querySelectorAll('input[name="paper"]').forEach(function (radio) {
    radio.checked = radio.value === paper;
    radio.addEventListener("change", function () {
      paper = radio.value;
      try { window.localStorage.setItem(KEY, paper); } catch (e) { /* private mode */ }
      apply(paper);
    });
  });
  document.querySelectorAll('[data-action="print"]').forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  var gate = document.getElementById("gate");
  var wantsPrint = (gate && gate.dataset.print === "1") || document.body.dataset.print === "1";
  if (wantsPrint && document.getElementById("slip")) {
    // Drop "cetak=1" so a reload does not print the same ticket again.
    if (window.history.replaceState) {
      window.history.replaceState(null, "", window.location.href.replace(/[?&]cetak=1/, ""));
    }
    var img = document.querySelector("#slip img");
    var go = function () { window.setTimeout(function () { window.print(); }, 50); };
    if (img && !img.complete) { img.addEventListener("load", go, { once: true }); img.addEventListener("error", go, { once: true }); }
    else go();
  }
  // The scanner types into the scan field; after a refused walk-in, the NIK being corrected.
  var nik = document.getElementById("gate-nik");
  var scan = document.getElementById("gate-scan");
  var fix = nik && nik.value ? nik : null;
  if (!wantsPrint && (fix || scan)) (fix || scan).focus({ preventScroll: true });
})();
