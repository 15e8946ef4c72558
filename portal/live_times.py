"""Times in a live change written as the page writes them (orders.templatetags.viewer_time):
"8. Dezember 2026 14:23 CET", in the viewer's language and zone. Each time field keeps its ISO
value and gets a `<field>_text` beside it, so updated cells read like the cells around them."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format

from orders.services.preferences import time_zone_named

TIME_FIELDS = ("earliest_eta", "latest_eta", "eta", "delivered_at", "at", "last_location_at")


def viewer_time_text(value: datetime) -> str:
    """A time as the viewer_time filter shows it (active language and zone), without markup."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    zone = date_format(local, "T") if timezone.is_aware(value) else ""
    return f"{date_format(local, get_format('DATETIME_FORMAT'))} {zone}".strip()


def with_time_texts(change: dict, *, language: str, zone: str) -> dict:
    """The change with `<field>_text` beside each time field, in `language` and `zone` (a zone
    name; the site's zone when it names none)."""
    tzinfo = time_zone_named(zone) or time_zone_named(settings.TIME_ZONE)
    with translation.override(language), timezone.override(tzinfo):
        return _walk(change)


def _walk(value):
    if isinstance(value, list):
        return [_walk(item) for item in value]
    if not isinstance(value, dict):
        return value
    walked = {key: _walk(item) for key, item in value.items()}
    for key in TIME_FIELDS:
        text = _text(value.get(key))
        if text:
            walked[f"{key}_text"] = text
    return walked


def _text(value) -> str:
    if not isinstance(value, str) or len(value) < 16:
        return ""
    try:
        return viewer_time_text(datetime.fromisoformat(value))
    except ValueError:
        return ""
