// Tells the server the browser's time zone (cookie "tz"), so times show in the viewer's zone when
// their profile names none. The first page seen before the cookie existed is loaded once more.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  var match = document.cookie.match(/(?:^|; )tz=([^;]*)/);
  var current = match ? decodeURIComponent(match[1]) : null;
  if (current === zone) return;
  var secure = location.protocol === "https:" ? "; secure" : "";
  document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax" + secure;
  var root = document.documentElement;
  if (root.dataset.timeZoneSource === "default" && root.dataset.timeZone !== zone) {
    // Says "this is the same visit" to the server (a status link's opening is not counted twice).
    document.cookie = "tz-reload=1; path=/; max-age=30; samesite=lax" + secure;
    location.reload();
  }
})();
