// Choosing a service, place and date shows its sessions at once (the button stays for no-JS).
// With the keyboard, arrow keys walk through the options without leaving the page: the choice
// is sent when the list is left (Tab) or with Enter.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.querySelectorAll("form[data-autosubmit] select, select[data-autosubmit]").forEach(function (select) {
    var byKeyboard = false;
    var pending = false;
    var send = function () {
      var form = select.form;
      pending = false;
      // A new place has its own dates: let the server pick the first one.
      if (select.name === "tempat" && form.elements.tanggal) form.elements.tanggal.disabled = true;
      form.submit();
    };
    select.addEventListener("keydown", function (event) {
      byKeyboard = event.key !== "Enter";
      if (event.key === "Enter" && pending) {
        event.preventDefault();
        send();
      }
    });
    select.addEventListener("mousedown", function () {
      byKeyboard = false;
    });
    select.addEventListener("change", function () {
      if (byKeyboard) {
        pending = true;
        return;
      }
      send();
    });
    select.addEventListener("blur", function () {
      if (pending) send();
    });
  });
})();
