// Keeps the marked parts of a back-office page current without reloading it. One websocket per
// page (/ws/backoffice/) carries the changes in the signed-in person's scope, each naming an order
// by its public id: a page about orders (data-live-orders on <body>: their public ids) refreshes
// when one of them changes; the exception queue (data-live-orders="*") on any change. A refresh
// fetches the page again and swaps each element marked data-live-region that differs (the CSRF
// token aside), leaving alone a region the person is working in (focus, typed text, a changed
// choice, an open <details>) until they are done. Without a websocket (none offered, refused or
// closed) it polls every data-live-poll seconds instead.
(function () {
  var body = document.body;
  if (!body.dataset.liveOrders) return;
  var pollSeconds = Number(body.dataset.livePoll || 30);
  var timer = null, polling = null, retry = null, refreshes = 0;

  function following(publicId) {
    var orders = body.dataset.liveOrders.split(" ");
    return orders.indexOf("*") >= 0 || orders.indexOf(publicId) >= 0;
  }

  function changedField(field) {
    if (field.type === "hidden" || field.type === "submit" || field.type === "button") return false;
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      var options = Array.prototype.slice.call(field.options);
      var marked = options.some(function (option) { return option.defaultSelected; });
      return options.some(function (option, index) {
        // Nothing marked selected: a single choice starts on its first option.
        var initially = marked || field.multiple ? option.defaultSelected : index === 0;
        return option.selected !== initially;
      });
    }
    return field.value !== field.defaultValue;
  }

  function busy(region) {
    var active = document.activeElement;
    if (active && active !== body && region.contains(active)) return true;
    if (region.querySelector("details[open]")) return true;
    return Array.prototype.some.call(region.querySelectorAll("input, textarea, select"), changedField);
  }

  function comparable(element) {
    var copy = element.cloneNode(true);
    copy.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (token) { token.removeAttribute("value"); });
    return copy.outerHTML;
  }

  function refresh() {
    timer = null;
    fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var waiting = false;
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (!replacement || comparable(replacement) === comparable(region)) return;
          if (busy(region)) { waiting = true; return; }
          region.replaceWith(document.importNode(replacement, true));
        });
        body.dataset.liveRefreshes = String(++refreshes);
        // A region left alone while someone works in it catches up a little later.
        if (waiting && !retry) retry = setTimeout(function () { retry = null; soon(); }, 5000);
      })
      .catch(function () {});
  }
  function soon() { if (!timer) timer = setTimeout(refresh, 250); }
  function poll() {
    body.dataset.liveTransport = "polling";
    if (!polling) polling = setInterval(refresh, pollSeconds * 1000);
  }

  if (!("WebSocket" in window)) { poll(); return; }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + "/ws/backoffice/");
  socket.onopen = function () { if (!polling) body.dataset.liveTransport = "websocket"; };
  socket.onmessage = function (message) {
    var change = {};
    try { change = JSON.parse(message.data); } catch (error) { return; }
    if (following(change.order)) soon();
  };
  socket.onclose = poll;
})();
