// Revoking a status link asks first. Without JavaScript the server asks, on a page of its own
// (portal.views.orders.link_revoke); here the order page's dialog asks, naming the link by the
// same facts as that page, read from its row, and "Revoke the link" posts the row's form with
// the confirmation.
(function () {
  "use strict";
  var dialog = document.getElementById("revoke-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return; // the server's page asks instead
  var pending = null;

  function text(row, selector) {
    var cell = row.querySelector(selector);
    return cell ? cell.textContent.trim() : "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form.link-revoke") || form.querySelector('input[name="confirmed"]')) return;
    event.preventDefault();
    var row = form.closest("tr");
    dialog.querySelector('[data-revoke="for"]').textContent = text(row, ".link-for-whom");
    dialog.querySelector('[data-revoke="shows"]').textContent = text(row, ".link-shows");
    dialog.querySelector('[data-revoke="made-by"]').textContent = text(row, ".link-made-by");
    dialog.querySelector('[data-revoke="expiry"]').textContent = text(row, ".link-expiry time");
    dialog.querySelector('[data-revoke="last-opened"]').textContent = text(row, ".link-last-opened");
    pending = form;
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", function () {
    var form = pending;
    pending = null;
    if (dialog.returnValue !== "confirm" || !form) return;
    var answer = document.createElement("input");
    answer.type = "hidden";
    answer.name = "confirmed";
    answer.value = "1";
    form.append(answer);
    form.submit();
  });
})();
