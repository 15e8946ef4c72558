"""The database is down: answer 503 (JSON under /api/) instead of a 500 or a debug page, so that
senders retry later, and nothing is acknowledged that was not stored."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable for %s %s: %s", request.method, request.path, exception)
        return database_unavailable(request)


def database_unavailable(request) -> HttpResponse:
    message = _("The database is unavailable; nothing was stored. Try again later.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
