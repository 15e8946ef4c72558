"""Whole rendered order pages, cached: a read that finds its page is the scope check (the query
that fetched the order), a cache hit and two string replacements, without rendering.

A page is cached under a key made of everything it shows that can vary: the caller's parts (the
order, its view's version, the audience, the viewer, the links listed, the brand, ...) and, added
here, the language, the time zone and where it came from, and the path asked for. What is
secret or per request never enters the cache: the page is rendered with a mark in place of the
CSRF token, a status link's token is replaced by a mark wherever the page shows it (its own
address, the addresses of its live feed and forms) before the page is stored, and each serving
puts the request's own in. A mark survives rendering only where it was put (a safe string); the
same characters in data are escaped ("<" becomes "&lt;"), so data can never be mistaken for a
mark. Pages of links that show the same (same order, audience, line and purpose) share one
entry: nothing of the link but its token is on the page.

A page wears its account's brand: what decides it (the portal profiles' last change, the
account's dealer) comes with the order's query and is part of the key (portal.brand_stamp).

Since the key holds every version, a page is the same wherever it is kept: each process keeps
the pages it served lately (LOCAL_PAGES_BYTES) in front of the shared cache, so that a page read
again costs no round trip at all.

Messages waiting for the person (django.contrib.messages) are shown once: a request that has
some renders its page without the cache. So does a request whose query string holds anything
but what pages read, written as the pages' own links write it (?timeline=all, and a later page
of the order page's list of links, ?links_page=2 up to its last page, after the timeline when
both): made-up parameters and page numbers must not fill the cache with pages. The query string
is part of the key (the path asked for), so each page of the list is a page of its own.
"""

import contextlib
import functools
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from orders.caching import CACHE_ERRORS

logger = logging.getLogger(__name__)

# Versions in the key decide freshness; this bounds how long a page nobody reads is kept.
PAGE_CACHE_SECONDS = 300
# The query strings a cached page may be asked with (portal.views.common's timeline); and the
# parameter of a later page of a list (query_is_cached).
CACHED_QUERIES = frozenset({"", "timeline=all"})
LIST_PAGE_PARAMETER = "links_page"
_LIST_PAGE_QUERY = re.compile(rf"(?:timeline=all&)?{LIST_PAGE_PARAMETER}=([1-9][0-9]{{0,5}})")

CSRF_MARK = mark_safe("<@csrf-token@>")
TOKEN_MARK = mark_safe("<@status-link-token@>")


@functools.cache
def release_digest() -> str:
    """A digest of what renders pages (templates and compiled translations): a release that
    changes them never serves a page or fragment the one before it rendered (the cache outlives
    a deploy)."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for path in sorted([*(root / "templates").rglob("*.html"), *(root / "locale").rglob("*.mo")]):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def page_key(request, parts: tuple, *, token: str = "") -> str:
    path = request.get_full_path()
    described = repr(
        (
            release_digest(),
            parts,
            translation.get_language(),
            timezone.get_current_timezone_name(),
            getattr(request, "time_zone_source", ""),
            path.replace(token, TOKEN_MARK) if token else path,
        )
    )
    return f"portal-page:{hashlib.sha256(described.encode()).hexdigest()}"


def query_is_cached(query: str, *, list_pages: int = 1) -> bool:
    """Whether a page asked with the query string `query` may be cached: one of CACHED_QUERIES,
    or page 2 up to `list_pages` of the page's list, as its pager writes it."""
    if query in CACHED_QUERIES:
        return True
    asked = _LIST_PAGE_QUERY.fullmatch(query)
    return asked is not None and 2 <= int(asked.group(1)) <= list_pages


def page_render(
    request, template: str, context: Callable[[], dict], *, parts: tuple, token: str = "", list_pages: int = 1
) -> HttpResponse:
    """The page of `template`, from the cache when it was rendered for the same `parts` (see the
    module's docstring), else rendered with `context()`; `token`: the status link's token, in
    place of TOKEN_MARK; `list_pages`: how many pages the page's list has now (query_is_cached)."""
    query = request.META.get("QUERY_STRING", "")
    if _messages_waiting(request) or not query_is_cached(query, list_pages=list_pages):
        return HttpResponse(render_to_string(template, context(), request))
    key = page_key(request, parts, token=token)
    html = _local.get(key)
    if html is None:
        try:
            html = cache.get(key)
        except CACHE_ERRORS:  # the cache is down: the page is rendered (reading what it can)
            logger.warning("page %s rendered without the cache: the cache is unavailable", request.path)
            return HttpResponse(render_to_string(template, context(), request))
        if html is None:
            html = render_to_string(template, {**context(), "csrf_token": CSRF_MARK}, request)
            if token:
                html = html.replace(token, TOKEN_MARK)
            with contextlib.suppress(*CACHE_ERRORS):
                cache.set(key, html, PAGE_CACHE_SECONDS)
        _local.put(key, html, PAGE_CACHE_SECONDS)
    if CSRF_MARK in html:
        html = html.replace(CSRF_MARK, get_token(request))
    if token:
        html = html.replace(TOKEN_MARK, token)
    return HttpResponse(html)


class _LocalPages:
    """Pages this process served lately, the least recently read dropped first past max_bytes;
    each for at most its time in the shared cache."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, html: str, seconds: int) -> None:
        if len(html) > self._max // 16:  # one page never crowds out the rest
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (html, time.monotonic() + seconds)
            self._size += len(html)
            while self._size > self._max:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def _drop(self, key: str) -> None:
        html, _expires = self._entries.pop(key)
        self._size -= len(html)


# Characters of HTML each web process keeps (about as many bytes for these pages).
LOCAL_PAGES_BYTES = 32 * 1024 * 1024
_local = _LocalPages(LOCAL_PAGES_BYTES)


def local_pages_clear() -> None:
    """Forget the pages this process keeps (tests: each starts with none)."""
    _local.clear()


def _messages_waiting(request) -> bool:
    return len(get_messages(request)) > 0  # counting them leaves them waiting
