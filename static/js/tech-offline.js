// Technician pages offline: the list page asks the service worker (/tech/sw.js) to keep every
// incoming part's page and the assets the pages need; logging out deletes what this device kept
// for the person (pages, and the queue of confirmations not sent yet, after asking).
(function () {
  "use strict";
  var DB = "tech-confirmations", STORE = "queue";

  if ("serviceWorker" in navigator) {
    var wanted = Array.prototype.map.call(document.querySelectorAll("[data-keep-offline]"), function (element) {
      return element.getAttribute("data-keep-offline");
    });
    if (wanted.length) {
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) registration.active.postMessage({precache: [location.pathname].concat(wanted)});
      });
    }
  }

  function unsentCount() {
    return new Promise(function (resolve) {
      if (!window.indexedDB) return resolve(0);
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, {keyPath: "key"}); };
      request.onerror = function () { resolve(0); };
      request.onsuccess = function () {
        var db = request.result;
        try {
          var count = db.transaction(STORE, "readonly").objectStore(STORE).count();
          count.onsuccess = function () { db.close(); resolve(count.result); };
          count.onerror = function () { db.close(); resolve(0); };
        } catch (error) { db.close(); resolve(0); }
      };
    });
  }

  function forget() {
    var jobs = [];
    if (window.caches) {
      jobs.push(caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (key) { return key.indexOf("tech-") === 0; }).map(function (key) {
          return caches.delete(key);
        }));
      }));
    }
    if (window.indexedDB) {
      jobs.push(new Promise(function (resolve) {
        var request = indexedDB.deleteDatabase(DB);
        request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      }));
    }
    return Promise.all(jobs).catch(function () {});
  }

  var logout = document.getElementById("logout-form");
  if (!logout) return;
  logout.addEventListener("submit", function (event) {
    if (logout.dataset.cleared) return;
    event.preventDefault();
    unsentCount().then(function (count) {
      if (count && !window.confirm(logout.dataset.unsent)) return;
      return forget().then(function () {
        logout.dataset.cleared = "1";
        logout.submit();
      });
    });
  });
})();
