// Keeps the marked parts of a back-office page current without reloading it. The page names the
// orders it shows (data-live-orders on <body>, public ids); it follows each over the websocket
// (/ws/orders/<id>/), and when one changes it fetches the page again and swaps every element
// marked data-live-region (by id), leaving forms being filled in alone. Without a websocket (none
// offered, refused or closed) it polls every data-live-poll seconds instead.
(function () {
  var body = document.body;
  var orders = (body.dataset.liveOrders || "").split(" ").filter(Boolean);
  if (!orders.length) return;
  var pollSeconds = Number(body.dataset.livePoll || 30);
  var timer = null, polling = null, refreshes = 0;

  function refresh() {
    timer = null;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (replacement && replacement.outerHTML !== region.outerHTML) region.replaceWith(replacement);
        });
        body.dataset.liveRefreshes = String(++refreshes);
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
  orders.forEach(function (publicId) {
    var socket = new WebSocket(scheme + location.host + "/ws/orders/" + publicId + "/");
    socket.onopen = function () { if (!polling) body.dataset.liveTransport = "websocket"; };
    socket.onmessage = soon;
    socket.onclose = poll;
  });
})();
