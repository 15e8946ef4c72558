"""What every back-office page needs from the settings."""

from django.conf import settings


def back_office(request) -> dict:
    # How often a live page polls when it has no websocket (static/js/live-page.js).
    return {"live_poll_seconds": settings.BACKOFFICE_LIVE_POLL_SECONDS}
