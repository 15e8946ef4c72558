// Confirming delivery on site, offline first: each confirmation gets a key on the device and
// waits in IndexedDB until the server has answered for it. Sent at once when online, again
// when the connection comes back or the page opens; the key makes every resend the same
// confirmation. A conflict (the line changed meanwhile) is shown for the technician to decide.
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  if (!form) return;
  var texts = document.getElementById("confirm-texts").content.firstElementChild.dataset;
  var result = document.getElementById("confirm-result");
  var queueList = document.getElementById("confirm-queue");
  var network = document.getElementById("network-state");
  var lineSelect = document.getElementById("confirm-line");
  var quantity = document.getElementById("confirm-quantity");
  var DB = "tech-confirmations", STORE = "queue";
  var sending = false;
  var lastSubmitted = null;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, {keyPath: "key"}); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function store(mode, action) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = action(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(request && request.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  var queued = {
    put: function (item) { return store("readwrite", function (s) { return s.put(item); }); },
    remove: function (key) { return store("readwrite", function (s) { return s.delete(key); }); },
    all: function () { return store("readonly", function (s) { return s.getAll(); }); }
  };

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16); crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) return meta.content;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function say(text, kind) {
    result.textContent = text;
    result.dataset.kind = kind || "";
  }
  function showNetwork() {
    if (!network) return;
    network.textContent = navigator.onLine ? network.dataset.online : network.dataset.offline;
    network.dataset.state = navigator.onLine ? "online" : "offline";
  }
  function renderQueue() {
    return queued.all().then(function (items) {
      queueList.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.id = "queued-" + item.key;
        li.dataset.state = item.state || "queued";
        li.textContent = item.label + " × " + item.quantity + " — " + (item.message || texts.queued);
        if (item.state === "conflict") {
          [["confirm_anyway", texts.confirmAnyway], ["discard", texts.discard]].forEach(function (choice) {
            var button = document.createElement("button");
            button.type = "button"; button.textContent = choice[1]; button.dataset.decision = choice[0];
            button.addEventListener("click", function () { decide(item, choice[0]); });
            li.appendChild(document.createTextNode(" ")); li.appendChild(button);
          });
        }
        queueList.appendChild(li);
      });
    });
  }

  function send(item) {
    var body = new FormData();
    ["key", "line", "code", "quantity", "note", "confirmed_at", "decision"].forEach(function (name) {
      body.append(name, item[name] === undefined ? "" : item[name]);
    });
    if (item.photo) body.append("photo", item.photo, item.photoName || "photo.jpg");
    return fetch(form.dataset.url, {
      method: "POST", body: body, credentials: "same-origin", headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) { return {status: response.status, answer: answer}; });
    });
  }
  function settle(item, reply) {
    var status = reply.status, answer = reply.answer;
    if (status === 200) {
      say(answer.message, "ok");
      return queued.remove(item.key);
    }
    if (status === 409) {
      item.state = "conflict"; item.decision = ""; item.message = texts.conflict + " " + answer.message;
      say(item.message, "conflict");
      return queued.put(item);
    }
    if (status >= 400 && status < 500 && status !== 429) {
      // Refused for good (a wrong barcode, a line no longer yours): dropped, and said why.
      var errors = answer.errors ? Object.values(answer.errors).join(" ") : String(status);
      say(texts.error + " " + errors, "error");
      if (item.key === lastSubmitted) restore(item);
      return queued.remove(item.key);
    }
    throw new Error("retry later");  // 5xx, 429: kept for the next attempt
  }
  // The confirmation just typed was refused (e.g. a wrong barcode): its values go back into the
  // form, to be corrected rather than typed again.
  function restore(item) {
    lineSelect.value = item.line;
    document.getElementById("confirm-code").value = item.code;
    quantity.value = item.quantity;
    document.getElementById("confirm-note").value = item.note || "";
    if (item.photo && window.DataTransfer) {
      try {
        var files = new DataTransfer();
        files.items.add(new File([item.photo], item.photoName || "photo.jpg", {type: item.photo.type}));
        document.getElementById("confirm-photo").files = files.files;
      } catch (error) { /* the photo must be chosen again */ }
    }
    document.getElementById("confirm-code").focus();
  }
  function flush() {
    if (sending || !navigator.onLine) return Promise.resolve();
    sending = true;
    return queued.all().then(function (items) {
      var pending = items.filter(function (item) { return item.state !== "conflict"; });
      return pending.reduce(function (chain, item) {
        return chain.then(function () {
          return send(item).then(function (reply) { return settle(item, reply); });
        });
      }, Promise.resolve());
    }).catch(function () { /* offline again: the queue keeps them */ })
      .then(function () { sending = false; return renderQueue(); });
  }
  function decide(item, decision) {
    item.decision = decision; item.state = "queued"; item.message = "";
    return queued.put(item).then(renderQueue).then(flush);
  }

  function lineQuantity() {
    var option = lineSelect.options[lineSelect.selectedIndex];
    return option ? option.dataset.quantity : "";
  }
  lineSelect.addEventListener("change", function () { quantity.value = lineQuantity(); });
  quantity.value = lineQuantity();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var photoInput = document.getElementById("confirm-photo");
    var photo = photoInput.files && photoInput.files[0];
    var option = lineSelect.options[lineSelect.selectedIndex];
    var item = {
      key: newKey(),
      line: lineSelect.value,
      label: option ? (option.dataset.label || option.textContent.trim()) : "",
      code: document.getElementById("confirm-code").value.trim(),
      quantity: quantity.value,
      note: document.getElementById("confirm-note").value,
      confirmed_at: new Date().toISOString(),
      decision: "",
      state: "queued",
      photo: photo || null,
      photoName: photo ? photo.name : ""
    };
    lastSubmitted = item.key;
    queued.put(item).then(function () {
      form.reset(); quantity.value = lineQuantity();
      say(navigator.onLine ? texts.sending : texts.queued, "queued");
      return renderQueue();
    }).then(flush);
  });

  // Camera scan where the browser can read barcodes; typing always works.
  var scanButton = document.getElementById("scan-button");
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    scanButton.hidden = false;
    scanButton.addEventListener("click", function () {
      var video = document.getElementById("scan-video");
      var detector = new window.BarcodeDetector();
      navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (stream) {
        video.srcObject = stream; video.hidden = false; video.play();
        function stop() { stream.getTracks().forEach(function (track) { track.stop(); }); video.hidden = true; }
        function look() {
          detector.detect(video).then(function (codes) {
            if (codes.length) { document.getElementById("confirm-code").value = codes[0].rawValue; stop(); }
            else requestAnimationFrame(look);
          }).catch(stop);
        }
        look();
      }).catch(function () { say(texts.noCamera, "error"); });
    });
  }

  window.addEventListener("online", function () { showNetwork(); flush(); });
  window.addEventListener("offline", showNetwork);
  showNetwork();
  renderQueue().then(flush);
})();
