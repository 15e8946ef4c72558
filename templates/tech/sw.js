// Service worker of the technician pages (scope /tech/): keeps the pages and their assets so
// that they open without a connection (network first, the last copy when offline). The
// confirmations themselves wait in IndexedDB (static/js/tech-confirm.js), never in here.
// Deleted by the sign-in page (templates/portal/login.html) when someone signs out.
const CACHE = "tech-pages-v1";

self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const ours = url.origin === self.location.origin && (url.pathname.startsWith("/tech/") || url.pathname.startsWith("/static/"));
  if (!ours || url.pathname.endsWith("/live/")) return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    }).catch(() => caches.match(request).then((cached) => cached || Response.error()))
  );
});
