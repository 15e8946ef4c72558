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

A page wears its account's brand: an entry carries the brands' generation it was rendered in
(portal.branding), read with it in one round trip; a brand saved since makes it a miss.

Messages waiting for the person (django.contrib.messages) are shown once: a request that has
some renders its page without the cache. So does a request whose query string holds anything
but what pages read (?timeline=all): made-up parameters must not fill the cache with pages.
"""

import contextlib
import functools
import hashlib
import logging
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

from orders.services.preferences import CACHE_ERRORS
from portal.branding import GENERATION_KEY

logger = logging.getLogger(__name__)

# Versions in the key decide freshness; this bounds how long a page nobody reads is kept.
PAGE_CACHE_SECONDS = 300
# The query strings a cached page may be asked with (portal.views.common's timeline).
CACHED_QUERIES = frozenset({"", "timeline=all"})

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


def page_render(request, template: str, context: Callable[[], dict], *, parts: tuple, token: str = "") -> HttpResponse:
    """The page of `template`, from the cache when it was rendered for the same `parts` (see the
    module's docstring), else rendered with `context()`; `token`: the status link's token, in
    place of TOKEN_MARK."""
    if _messages_waiting(request) or request.META.get("QUERY_STRING", "") not in CACHED_QUERIES:
        return HttpResponse(render_to_string(template, context(), request))
    key = page_key(request, parts, token=token)
    try:
        found = cache.get_many([key, GENERATION_KEY])
    except CACHE_ERRORS:  # the cache is down: the page is rendered (reading what it can)
        logger.warning("page %s rendered without the cache: the cache is unavailable", request.path)
        return HttpResponse(render_to_string(template, context(), request))
    generation, entry = found.get(GENERATION_KEY), found.get(key)
    if entry is not None and entry[0] == generation:
        html = entry[1]
    else:
        html = render_to_string(template, {**context(), "csrf_token": CSRF_MARK}, request)
        if token:
            html = html.replace(token, TOKEN_MARK)
        with contextlib.suppress(*CACHE_ERRORS):
            cache.set(key, (generation, html), PAGE_CACHE_SECONDS)
    if CSRF_MARK in html:
        html = html.replace(CSRF_MARK, get_token(request))
    if token:
        html = html.replace(TOKEN_MARK, token)
    return HttpResponse(html)


def _messages_waiting(request) -> bool:
    return len(get_messages(request)) > 0  # counting them leaves them waiting
