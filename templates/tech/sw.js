// Service worker of the technician pages (scope /tech/): keeps the pages and their assets so
// that they open without a connection (network first, the last copy when offline). The
// confirmations themselves wait in IndexedDB (static/js/tech-confirm.js), never in here.
//
// Pages are kept per signed-in person: each page answers with the person's key (header
// X-Tech-Viewer) and is kept in that person's cache only; a page of another person, or a page
// answered without a key (signed out: the login page), drops every other person's pages.
// The sign-in page (templates/portal/login.html) deletes them too. Logging out clears it all (Clear-Site-Data on the logout answer, and static/js/tech-offline.js).
const PAGES = "tech-pages-";
const ASSETS = "tech-assets-v1";
const VIEWER = "X-Tech-Viewer";

function pageCaches() {
  return caches.keys().then((keys) => keys.filter((key) => key.startsWith(PAGES)));
}

function forgetPagesBut(keep) {
  return pageCaches().then((keys) => Promise.all(keys.filter((key) => key !== keep).map((key) => caches.delete(key))));
}

function isPage(url) {
  return url.pathname.startsWith("/tech/");
}

// Keep a copy of an answer where it belongs (a page: its person's cache; an asset: shared).
function remember(request, response) {
  const url = new URL(request.url);
  if (!isPage(url)) {
    if (!response.ok) return Promise.resolve();
    return caches.open(ASSETS).then((cache) => cache.put(request, response));
  }
  const viewer = response.headers.get(VIEWER);
  if (!viewer) {
    // Sent to the login page (signed out): nobody's pages stay on the device. An error page
    // (a part no longer on one's jobs) changes nothing.
    const signedOut = response.redirected || response.type === "opaqueredirect" || response.ok;
    return signedOut ? forgetPagesBut(null) : Promise.resolve();
  }
  if (!response.ok || response.redirected) return Promise.resolve();
  const name = PAGES + viewer;
  return forgetPagesBut(name).then(() => caches.open(name)).then((cache) => cache.put(request, response));
}

function fetchAndRemember(request) {
  return fetch(request).then((response) => {
    const copy = response.clone();
    return remember(request, copy).then(() => response, () => response);
  });
}

self.addEventListener("install", (event) => {
  // The list of incoming parts is there offline from the start (when someone is signed in).
  self.skipWaiting();
  event.waitUntil(fetchAndRemember(new Request("/tech/", {credentials: "same-origin"})).catch(() => {}));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key === "tech-pages-v1").map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

// The list page names its parts' pages and the assets they need: kept before anyone goes offline.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.precache) || [];
  event.waitUntil(Promise.all(urls.map((url) =>
    fetchAndRemember(new Request(url, {credentials: "same-origin"})).catch(() => {})
  )));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const ours = url.origin === self.location.origin && (isPage(url) || url.pathname.startsWith("/static/"));
  if (!ours || url.pathname.endsWith("/live/") || url.pathname.endsWith("/sw.js")) return;
  event.respondWith(
    // Vary (Cookie, Accept-Language) is ignored: the only pages kept are the signed-in person's.
    fetchAndRemember(request).catch(() =>
      caches.match(request, {ignoreVary: true}).then((cached) => cached || Response.error())
    )
  );
});
