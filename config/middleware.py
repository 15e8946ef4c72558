"""The database is down: answer 503 (JSON under /api/) instead of a 500 or a debug page, so that
senders retry later, and nothing is acknowledged that was not stored."""

import logging
from urllib.parse import unquote

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_DOWN):
            return None
        return database_unavailable(request, exception)


DATABASE_DOWN = (OperationalError, InterfaceError)


def database_unavailable(request, exception: Exception) -> HttpResponse:
    logger.error("database unavailable for %s %s: %s", request.method, request.path, exception)
    message = _("The database is unavailable; nothing was stored. Try again later.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ViewerPreferencesMiddleware:
    """Each request in the viewer's language and time zone: the profile's choice, else what the
    browser says (Accept-Language through LocaleMiddleware; the zone from the `tz` cookie that
    static/js/time-zone.js sets), else the defaults. Goes after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from orders.services.preferences import time_zone_named, viewer_preferences

        try:
            language, zone_name = viewer_preferences(getattr(request, "user", None))
        except DATABASE_DOWN as exception:
            # Reading the person (session, user, profile) is most requests' first query. Raised
            # here, outside any view, DatabaseUnavailableMiddleware never sees it: the same 503
            # here (in the browser's language), not a 500.
            return database_unavailable(request, exception)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        zone = time_zone_named(zone_name)
        request.time_zone_source = "profile" if zone else "default"
        if zone is None:
            # static/js/time-zone.js writes the name URL-encoded ("Europe%2FBerlin").
            zone = time_zone_named(unquote(request.COOKIES.get(TIME_ZONE_COOKIE, "")))
            if zone is not None:
                request.time_zone_source = "browser"
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


TIME_ZONE_COOKIE = "tz"
