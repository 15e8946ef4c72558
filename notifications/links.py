"""The one place messages get their status links from: a token link of the portal for the
contact's audience (requester: the customer view; technician: the technician view with delivery
confirmation), the back office's order page for a planner. One link per order and recipient in
a message; a preview makes none (it shows where the link would go)."""

import contextlib
import contextvars

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from notifications.recipient_links import recipient_link_path
from orders.models import ContactRole, Order, OrderContact
from portal.models import LinkAudience, LinkPurpose


def link_language(locale: str) -> str:
    """The language a link's pages speak for a recipient's locale (fr-CA: fr), or "" (the browser's)."""
    try:
        return translation.get_supported_language_variant(locale, strict=False) if locale else ""
    except LookupError:
        return ""


# Links made while one message is rendered, by (order, contact); PREVIEW: none are made; None
# (outside links_for_one_message): every call issues one.
PREVIEW = "preview"
_rendered: contextvars.ContextVar[dict | str | None] = contextvars.ContextVar("notification_links", default=None)
PREVIEW_TOKEN = "preview-link-not-issued"


def status_link_url(*, order: Order, contact: OrderContact | None) -> str:
    """An absolute URL where `contact` follows `order` (contact None: a person in the back office)."""
    if contact is None or contact.role == ContactRole.PLANNER:
        return settings.PUBLIC_BASE_URL + reverse("backoffice:order", args=[order.pk])
    made = _rendered.get()
    if made == PREVIEW:
        return settings.PUBLIC_BASE_URL + reverse("status-link:page", kwargs={"token": PREVIEW_TOKEN})
    made = {} if made is None else made
    key = (order.pk, contact.pk)
    if key not in made:
        technician = contact.role == ContactRole.TECHNICIAN
        # The recipient's live link while it has life enough left, else a fresh one (notifications.recipient_links).
        path = recipient_link_path(
            order=order,
            contact=contact,
            audience=LinkAudience.TECHNICIAN if technician else LinkAudience.CUSTOMER,
            purpose=LinkPurpose.VIEW_CONFIRM if technician else LinkPurpose.VIEW,
            language=link_language(contact.language or order.account.language),
        )
        made[key] = settings.PUBLIC_BASE_URL + path
    return made[key]


@contextlib.contextmanager
def links_for_one_message():
    """Within it, a message names each order once for its recipient with one link (in a preview,
    still none)."""
    token = _rendered.set(PREVIEW if _rendered.get() == PREVIEW else {})
    try:
        yield
    finally:
        _rendered.reset(token)


@contextlib.contextmanager
def links_previewed():
    """Within it, no link is issued: the preview shows a sample address."""
    token = _rendered.set(PREVIEW)
    try:
        yield
    finally:
        _rendered.reset(token)
