// Choosing a service, place and date shows its sessions at once (the button stays for no-JS).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.querySelectorAll("form[data-autosubmit] select, select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form;
      // A new place has its own dates: let the server pick the first one.
      if (select.name === "tempat" && form.elements.tanggal) form.elements.tanggal.disabled = true;
      form.submit();
    });
  });
})();
