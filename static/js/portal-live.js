// The order page follows its order live: a websocket (resumed with the last sequence seen, so a
// reconnect misses nothing), else polling every few seconds. Only what changed is updated.
(function () {
  "use strict";
  var section = document.getElementById("order");
  var live = document.getElementById("order-live");
  if (!section || !live) return;
  var root = document.documentElement;
  var lang = root.lang || "en";
  var zone = root.dataset.timeZone || undefined;
  var texts = (document.getElementById("i18n-live") || {}).content;
  texts = texts ? texts.firstElementChild.dataset : {};
  var sequence = parseInt(section.dataset.sequence, 10) || 0;
  var liveState = document.getElementById("live-state");
  var POLL_MS = 5000;
  var socket = null, pollTimer = null, retry = 0;

  function formatTime(iso) {
    if (!iso) return "";
    // dateStyle cannot be combined with timeZoneName: the parts are named one by one.
    var options = {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"};
    // English as the server writes it (config/formats/en): day before month, 24 hours.
    var locale = lang === "en" ? "en-GB" : lang;
    try { return new Intl.DateTimeFormat(locale, Object.assign({timeZone: zone}, options)).format(new Date(iso)); }
    catch (error) { return new Intl.DateTimeFormat(locale, options).format(new Date(iso)); }
  }
  // `text`: the time as the server writes the page's times (sent with the change); else the browser's.
  function timeElement(iso, text) {
    var element = document.createElement("time");
    element.dateTime = iso; element.textContent = text || formatTime(iso);
    return element;
  }
  function setText(parent, selector, value) {
    var element = parent.querySelector(selector);
    if (element) element.textContent = value;
    return element;
  }
  function setTime(parent, selector, iso, text) {
    var element = parent.querySelector(selector);
    if (!element) return;
    element.textContent = "";
    if (iso) element.appendChild(timeElement(iso, text)); else if (selector !== ".line-eta") element.textContent = "—";
  }
  // A translated text whose {complete} and {next} stand for times, written into `element`.
  function fillTimes(element, template, times) {
    element.textContent = "";
    template.split(/(\{complete\}|\{next\})/).forEach(function (piece) {
      var time = times[piece];
      if (time) element.appendChild(timeElement(time[0], time[1]));
      else if (piece) element.appendChild(document.createTextNode(piece));
    });
  }
  // When the parts are expected, as templates/portal/includes/expected.html writes it: complete
  // by the latest ETA only when every part still to come has one, the next part by the earliest.
  function applyExpected(order) {
    var element = document.getElementById("order-eta");
    if (!element) return;
    var next = [order.earliest_eta, order.earliest_eta_text || formatTime(order.earliest_eta)];
    var complete = [order.latest_eta, order.latest_eta_text || formatTime(order.latest_eta)];
    var template = "";
    if (order.expected === "delivered") template = texts.allDelivered;
    else if (order.expected === "complete") template = next[1] !== complete[1] ? texts.completeNext : texts.complete;
    else if (order.expected === "not_known") template = order.earliest_eta ? texts.notKnownNext : texts.notKnown;
    element.dataset.expected = order.expected || "";
    if (template) fillTimes(element, template, {"{complete}": complete, "{next}": next});
    else element.textContent = "—";
  }
  function showState(kind) {
    if (!liveState) return;
    liveState.textContent = liveState.dataset[kind] || "";
    liveState.dataset.state = kind;
  }

  function applyOrder(order) {
    var status = document.getElementById("order-status");
    status.textContent = order.label; status.dataset.status = order.status;
    setText(section, "#order-status-help", order.description || "");
    applyExpected(order);
    var bar = document.getElementById("order-progress");
    bar.setAttribute("aria-valuenow", Math.round(order.progress));
    if (texts.progress) {
      var said = texts.progress.replace("{percent}", Math.round(order.progress));
      bar.title = said; bar.setAttribute("aria-valuetext", said);
    }
    bar.firstElementChild.style.width = Math.round(order.progress) + "%";
  }
  function applyLine(line) {
    var row = document.getElementById("line-" + line.public_id);
    if (!row) {
      // A line split off another: shown after its parent (or at the end).
      var tbody = document.querySelector("#lines tbody");
      row = document.createElement("tr");
      row.id = "line-" + line.public_id;
      // Each cell labelled as the page's own are (the phone layout shows the labels).
      var labelled = document.querySelector("#lines tbody tr");
      var names = ["line-number", "line-part", "line-quantity", "line-status", "line-eta", "line-delivered"];
      if ("site" in line) names.push("line-site", "line-carrier");  // a technician's columns
      names.forEach(function (name) {
        var cell = document.createElement("td"); cell.className = name;
        var model = labelled && labelled.querySelector("." + name);
        if (model && model.dataset.label) cell.dataset.label = model.dataset.label;
        row.appendChild(cell);
      });
      var siblings = tbody.querySelectorAll("tr");
      tbody.appendChild(row);
      Array.prototype.forEach.call(siblings, function (other) {
        if (other.querySelector(".line-number") && other.querySelector(".line-number").textContent.trim() > line.number) {
          tbody.insertBefore(row, other);
        }
      });
    }
    row.className = "pt-line depth-" + line.depth + (line.is_split ? " is-split" : "");
    row.dataset.shipped = line.shipped ? "true" : "false";
    setText(row, ".line-number", line.number);
    var part = row.querySelector(".line-part");
    part.textContent = line.part_number + " ";
    var small = document.createElement("small"); small.textContent = line.part_description; part.appendChild(small);
    setText(row, ".line-quantity", line.quantity);
    var status = setText(row, ".line-status", line.label);
    status.dataset.status = line.status; status.title = line.description || "";
    // A part at its destination shows when it arrived there, never an ETA.
    var arrived = line.status === "delivered" || line.status === "verified";
    setTime(row, ".line-eta", arrived ? null : line.eta, line.eta_text);
    // A line that will not come (cancelled, returned) shows a dash, not a delivered quantity of 0.
    var notComing = line.status === "cancelled" || line.status === "returned";
    var delivered = setText(row, ".line-delivered", notComing ? "—" : line.is_split ? "" : line.delivered_quantity);
    if (arrived && line.delivered_at) {
      if (!line.is_split) delivered.appendChild(document.createTextNode(" · "));
      delivered.appendChild(timeElement(line.delivered_at, line.delivered_at_text));
    }
    // A technician is also shown where it ships from, its carrier and tracking (as the page writes them).
    if ("site" in line) setText(row, ".line-site", line.site);
    if ("carrier_display" in line) {
      // The tracking number in an element of its own, as the page writes it: it never breaks in two.
      var carrier = setText(row, ".line-carrier", line.carrier_display || "");
      if (carrier && line.tracking_number) {
        var tracking = document.createElement("span");
        tracking.className = "tracking-number"; tracking.textContent = line.tracking_number;
        carrier.appendChild(document.createTextNode(line.carrier_display ? " " : ""));
        carrier.appendChild(tracking);
      }
    }
  }
  function applyShipment(shipment) {
    var container = document.getElementById("shipments");
    var empty = document.getElementById("no-shipments");
    if (empty) empty.remove();
    var article = document.getElementById("shipment-" + shipment.public_id);
    if (!article) {
      article = document.createElement("article");
      article.className = "pt-shipment"; article.id = "shipment-" + shipment.public_id;
      container.appendChild(article);
    }
    article.textContent = "";
    article.dataset.lines = shipment.lines.map(function (item) { return item.line_public_id; }).join(" ");
    var first = document.createElement("p");
    var carrier = document.createElement("strong"); carrier.className = "shipment-carrier"; carrier.textContent = shipment.carrier_display || texts.noCarrier || "";
    first.appendChild(carrier);
    if (shipment.tracking_number) {
      first.appendChild(document.createTextNode(" · " + (texts.tracking || "") + " "));
      var tracking = document.createElement(shipment.tracking_url ? "a" : "span");
      tracking.className = "shipment-tracking"; tracking.textContent = shipment.tracking_number;
      if (shipment.tracking_url) { tracking.href = shipment.tracking_url; tracking.rel = "noreferrer noopener"; tracking.target = "_blank"; }
      first.appendChild(tracking);
    }
    var second = document.createElement("p");
    // Every part it carries delivered: when, instead of an ETA (as the page writes it).
    var allDelivered = shipment.quantity && shipment.delivered_quantity === shipment.quantity;
    if (!allDelivered) {
      second.appendChild(document.createTextNode((texts.eta || "") + " "));
      var eta = document.createElement("span"); eta.className = "shipment-eta";
      if (shipment.eta) eta.appendChild(timeElement(shipment.eta, shipment.eta_text)); else eta.textContent = "—";
      second.appendChild(eta);
      second.appendChild(document.createTextNode(" · "));
    }
    second.appendChild(document.createTextNode((texts.delivered || "") + " "));
    var delivered = document.createElement("span"); delivered.className = "shipment-delivered"; delivered.textContent = shipment.delivered_quantity;
    second.appendChild(delivered);
    second.appendChild(document.createTextNode(" / " + shipment.quantity));
    if (allDelivered && shipment.delivered_at) {
      second.appendChild(document.createTextNode(" · "));
      var deliveredAt = document.createElement("span"); deliveredAt.className = "shipment-delivered-at";
      deliveredAt.appendChild(timeElement(shipment.delivered_at, shipment.delivered_at_text));
      second.appendChild(deliveredAt);
    }
    if (shipment.last_location) second.appendChild(document.createTextNode(" · " + (texts.lastSeen || "") + " " + shipment.last_location));
    var third = document.createElement("p"); third.className = "pt-shipment-lines";
    third.textContent = shipment.lines.map(function (item) { return (texts.line || "") + " " + item.line + " × " + item.quantity; }).join(", ");
    article.appendChild(first); article.appendChild(second); article.appendChild(third);
  }
  // The parts that left without a shipment known, beside the shipments (as the page writes it):
  // which arrived and when, which left without the carrier's details; while no shipment is
  // known and nothing left, that nothing has shipped.
  function applyNoShipments() {
    var container = document.getElementById("shipments");
    if (!container) return;
    var carried = {};
    var shipments = container.querySelectorAll(".pt-shipment");
    shipments.forEach(function (article) {
      (article.dataset.lines || "").split(" ").forEach(function (id) { if (id) carried["line-" + id] = true; });
    });
    var note = document.getElementById("no-shipments");
    if (!note) {
      note = document.createElement("p"); note.className = "pt-empty"; note.id = "no-shipments";
    }
    container.appendChild(note);  // after the shipments
    note.textContent = "";
    document.querySelectorAll("#lines tbody tr").forEach(function (row) {
      if (row.classList.contains("is-split") || row.dataset.shipped !== "true" || carried[row.id]) return;
      var status = row.querySelector(".line-status").dataset.status;
      var time = row.querySelector(".line-delivered time");
      var arrived = status === "delivered" || status === "verified";
      var template = (arrived ? (time ? texts.lineArrivedAt : texts.lineArrived) : texts.lineShipped) || "";
      if (note.childNodes.length) note.appendChild(document.createTextNode(" "));
      template.split(/(\{line\}|\{when\})/).forEach(function (piece) {
        if (piece === "{line}") note.appendChild(document.createTextNode(row.querySelector(".line-number").textContent.trim()));
        else if (piece === "{when}") note.appendChild(time.cloneNode(true));
        else if (piece) note.appendChild(document.createTextNode(piece));
      });
    });
    if (note.childNodes.length) return;
    if (shipments.length) note.remove(); else note.textContent = texts.nothingShipped || "";
  }
  function timelineItem(entry) {
    var item = document.createElement("li");
    item.dataset.id = entry.id;
    var time = document.createElement("span"); time.className = "event-time"; time.appendChild(timeElement(entry.at, entry.at_text));
    var line = document.createElement("span"); line.className = "event-line"; line.textContent = (texts.line || "") + " " + entry.line;
    var status = document.createElement("span"); status.className = "event-status"; status.dataset.status = entry.status; status.textContent = entry.label;
    item.appendChild(time); item.appendChild(document.createTextNode(" ")); item.appendChild(line);
    item.appendChild(document.createTextNode(" ")); item.appendChild(status);
    return item;
  }
  function replaceTimeline(entries) {
    var list = document.getElementById("timeline");
    // As many as the page shows (the newest), unless it shows them all.
    var shown = document.getElementById("timeline-all") ? list.children.length : entries.length;
    list.textContent = "";
    entries.slice(-Math.max(shown, 1)).reverse().forEach(function (entry) { list.appendChild(timelineItem(entry)); });
  }
  function appendTimeline(entries) {
    var list = document.getElementById("timeline");
    entries.forEach(function (entry) {
      if (list.querySelector('[data-id="' + entry.id + '"]')) return;
      list.insertBefore(timelineItem(entry), list.firstChild);
    });
  }

  function apply(change) {
    if (change.sequence === undefined || change.sequence < sequence) return;
    if (change.state) {
      var state = change.state;
      applyOrder(state.order);
      var seen = {};
      state.lines.forEach(function (line) { seen["line-" + line.public_id] = true; applyLine(line); });
      document.querySelectorAll("#lines tbody tr").forEach(function (row) { if (!seen[row.id]) row.remove(); });
      state.shipments.forEach(applyShipment);
      replaceTimeline(state.timeline);
      setText(section, "#order-summary", state.summary);
      applyNoShipments();
    } else {
      if (change.order) applyOrder(change.order);
      (change.lines || []).forEach(applyLine);
      (change.shipments || []).forEach(applyShipment);
      if (change.timeline) replaceTimeline(change.timeline);
      if (change.timeline_append) appendTimeline(change.timeline_append);
      if (change.summary) setText(section, "#order-summary", change.summary);
      if (change.lines || change.shipments) applyNoShipments();
    }
    sequence = Math.max(sequence, change.sequence);
    section.dataset.sequence = sequence;
  }

  function poll() {
    clearTimeout(pollTimer);
    var url = live.dataset.liveUrl + "?since=" + sequence;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (change) { if (change) { apply(change); if (!socket) showState("polling"); } })
      .catch(function () { showState("offline"); })
      .then(function () { if (!socket) pollTimer = setTimeout(poll, POLL_MS); });
  }
  function connect() {
    if (!("WebSocket" in window) || !live.dataset.wsPath) { poll(); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var path = live.dataset.wsPath;
    var url = scheme + location.host + path + (path.indexOf("?") < 0 ? "?" : "&") + "since=" + sequence + "&lang=" + encodeURIComponent(lang) + (zone ? "&tz=" + encodeURIComponent(zone) : "");
    var opened = false;
    var candidate;
    try { candidate = new WebSocket(url); } catch (error) { poll(); return; }
    candidate.onopen = function () { opened = true; socket = candidate; retry = 0; clearTimeout(pollTimer); showState("connected"); };
    candidate.onmessage = function (message) { apply(JSON.parse(message.data)); };
    candidate.onclose = function (event) {
      socket = null;
      if (event.code === 4404) { showState("offline"); return; }  // out of scope now (e.g. link revoked)
      // Blocked or dropped: poll meanwhile, and try the websocket again later.
      poll();
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, (opened ? 1000 : 5000) * retry);
    };
  }
  window.addEventListener("online", function () { if (!socket) connect(); else showState("connected"); });
  // The device lost its connection: the page says so at once (a socket notices only later).
  window.addEventListener("offline", function () { showState("offline"); });
  connect();
})();
