"""System check: in production the site's public address must be known, or status links in
messages would be relative (useless in an email) and Twilio's callbacks could not be verified."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


@register()
def public_base_url_check(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    parts = urlsplit(settings.PUBLIC_BASE_URL or "")
    if parts.scheme in ("http", "https") and parts.hostname:
        return []
    return [
        Error(
            "PUBLIC_BASE_URL must be the site's absolute public address when DEBUG is off "
            f"(it is {settings.PUBLIC_BASE_URL!r}).",
            hint=(
                "Set PUBLIC_BASE_URL, e.g. https://parts.example.com (behind a proxy: the address the "
                "world sees). Status links in emails and SMS and the URL Twilio signs its callbacks for "
                "are built from it."
            ),
            id="notifications.E001",
        )
    ]
