"""Template helpers of the back office: carriers' tracking links, the way back from a refusal."""

from urllib.parse import urlsplit

from django import template
from django.utils.http import url_has_allowed_host_and_scheme

from orders.read_models.build import tracking_url as carrier_tracking_url
from orders.status import LineStatus
from overrides.roles import role_label

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


@register.simple_tag(takes_context=True)
def way_back(context) -> str:
    """The page a refused person came from, when going back there helps: on this site, not the
    refused page itself, and not a sign-in page (which would only send them here again)."""
    request = context.get("request")
    referer = request.META.get("HTTP_REFERER", "") if request else ""
    if not referer or not url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return ""
    path = urlsplit(referer).path
    if path == request.path or path.rstrip("/").endswith("/login"):
        return ""
    return referer


@register.filter
def role_name(group) -> str:
    """A role group by its name in the reader's language."""
    return role_label(group.name) if group else ""
