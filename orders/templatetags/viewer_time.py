"""Times as the viewer reads them: in their time zone (active for the request), in their
language's date format, with the zone named."""

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html

register = template.Library()


@register.filter
def viewer_time(value, format_name: str = "DATETIME_FORMAT"):
    """`{{ event.occurred_at|viewer_time }}`: "6. Dezember 2026 10:15 CET" in a <time> element."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    shown = date_format(local, get_format(format_name))
    zone = date_format(local, "T") if timezone.is_aware(value) else ""
    return format_html('<time datetime="{}">{} {}</time>', value.isoformat(), shown, zone)
