"""Template helpers of the back office: carriers' tracking links."""

from django import template

from orders.read_models.build import tracking_url as carrier_tracking_url
from orders.status import LineStatus

register = template.Library()


@register.simple_tag
def tracking_url(carrier: str, number: str) -> str:
    """The carrier's tracking page for the number, where one is configured (CARRIER_TRACKING_URLS); else ""."""
    return carrier_tracking_url(carrier or "", number or "")


@register.filter
def get_item(mapping, key):
    """`{{ labels|get_item:code }}`: a dictionary's value, or "" when it has none."""
    return (mapping or {}).get(key, "")


@register.filter
def from_status_label(override, line) -> str:
    """The line's status when the request was made, by its label ("" when not recorded)."""
    status = override.from_status_of(line.pk)
    return LineStatus(status).label if status in LineStatus.values else ""
