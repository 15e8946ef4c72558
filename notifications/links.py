"""The one place messages get their status links from: a token link of the portal for the
contact's audience (requester: the customer view; technician: the technician view with delivery
confirmation), the back office's order page for a planner. One link per order and recipient in
a message; a preview makes none (it shows where the link would go)."""

import contextlib
import contextvars
import re
import uuid

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import translation

from notifications.models import Channel, Notification, NotificationStatus, RecipientLink
from notifications.phones import phone_normalised
from notifications.recipient_links import recipient_link_path, recipient_link_token
from orders.models import ContactRole, Order, OrderContact
from portal.models import LinkAudience, LinkPurpose, StatusLink
from portal.services.links import (
    status_link_rekey,
    status_link_sent_record,
    status_link_sms_undelivered_record,
    token_hash,
)


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


# A message's text is stored (and shown in the admin's delivery log) with each status link's
# token replaced by a reference to the link: whoever reads the log or the database gets no
# working link. The text sent carries the token; a message sent again gets a fresh one.
TOKEN_IN_LINK = re.compile(r"(/s/)([A-Za-z0-9_-]{16,100})(?=/)")
LINK_REFERENCE = re.compile(r"(/s/)\[status-link:([0-9a-f-]{36})\](?=/)")


def links_sealed(text: str) -> str:
    """The text with the token of each status link in it replaced by the link's reference."""
    tokens = {match.group(2) for match in TOKEN_IN_LINK.finditer(text or "")}
    if not tokens:
        return text
    hashes = {token_hash(token): token for token in tokens}
    references = {
        hashes[hashed]: str(public_id)
        for hashed, public_id in StatusLink.objects.filter(token_hash__in=hashes).values_list("token_hash", "public_id")
    }

    def reference(match: re.Match) -> str:
        token = match.group(2)
        return f"{match.group(1)}[status-link:{references[token]}]" if token in references else match.group(0)

    return TOKEN_IN_LINK.sub(reference, text)


def message_links(notification: Notification, *texts: str) -> list[StatusLink]:
    """The links the sealed texts of `notification` refer to that our messages made for its
    recipients (its contact, and those of the messages folded into it). The texts also carry
    names, references and descriptions from elsewhere, unescaped: a reference in one of those
    (malformed, or naming another account's link) is no link of this message and is ignored."""
    public_ids = set()
    for text in texts:
        for match in LINK_REFERENCE.finditer(text or ""):
            with contextlib.suppress(ValueError):
                public_ids.add(uuid.UUID(match.group(2)))
    if not public_ids or notification.pk is None:
        return []
    contacts = Notification.objects.filter(Q(pk=notification.pk) | Q(folded_into=notification), contact__isnull=False)
    ours = RecipientLink.objects.filter(contact__in=contacts.values("contact_id"), link__public_id__in=public_ids)
    # In pk order: every writer of these rows locks them in that order (no deadlock between a
    # send recording its links and an undelivered report marking them).
    return list(StatusLink.objects.filter(pk__in=ours.values("link_id")).order_by("pk"))


def links_sent_record(notification: Notification) -> None:
    """Note on each link of the message (message_links) that our messages sent it, by its channel
    to its address (kept masked: the portal's table of links says whom it went to). Called once
    the provider took the message: a message that never left names nobody."""
    texts = (notification.subject, notification.body, notification.body_html)
    for link in message_links(notification, *texts):
        status_link_sent_record(link=link, channel=notification.channel, address=notification.address)


# An SMS in one of these has reached the phone, or may still.
SMS_REACHING = (
    NotificationStatus.QUEUED,
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.UNCONFIRMED,
    NotificationStatus.DELIVERED,
)


def links_undelivered_record(notification: Notification) -> None:
    """After the provider reported the SMS of `notification` undelivered or failed: note on each
    link of the message (message_links) that it did not reach the number, unless another SMS of
    ours to the number carries it too and was delivered or is still on its way (a recipient keeps
    one link per order across messages: an earlier SMS may have brought it), or the link was
    sent to another number since. Called inside the caller's transaction, which holds
    `notification`'s row."""
    if notification.channel != Channel.SMS:
        return
    texts = (notification.subject, notification.body, notification.body_html)
    linked = [link.pk for link in message_links(notification, *texts)]
    # Locked (in a fixed order) before looking at the other messages: two reports about SMS
    # with the same link take turns, so the second sees the first's outcome.
    links = StatusLink.objects.select_for_update().filter(pk__in=linked).order_by("pk")
    number = phone_normalised(notification.address)
    for link in links:
        reference = f"[status-link:{link.public_id}]"
        # Through the index on (address, channel, status): this number's SMS still reaching it.
        elsewhere = Notification.objects.filter(
            channel=Channel.SMS, address=notification.address, status__in=SMS_REACHING, body__contains=reference
        ).exclude(pk=notification.pk)
        if not elsewhere.exists() and phone_normalised(_sms_recorded_to(link)) == number:
            status_link_sms_undelivered_record(link=link)


def _sms_recorded_to(link: StatusLink) -> str:
    """The number of the latest SMS of ours the provider took with `link` (the one whose number
    the link's "sent by SMS to" shows, masked), or "". Looked for among the messages of the
    link's recipient (the contact it was issued for)."""
    contacts = RecipientLink.objects.filter(link=link).values("contact_id")
    latest = (
        Notification.objects.filter(channel=Channel.SMS, sent_at__isnull=False)
        .filter(Q(contact_id__in=contacts) | Q(folded__contact_id__in=contacts))
        .filter(body__contains=f"[status-link:{link.public_id}]")
        .order_by("-sent_at", "-pk")
        .values_list("address", flat=True)
        .first()
    )
    return latest or ""


def links_opened(notification: Notification, *texts: str) -> list[str]:
    """The sealed texts of one message ready to send again: each link of the message
    (message_links) keeps the token its recipient already holds from our earlier messages
    (notifications.recipient_links: one live link per recipient and order, so a new token would
    break the links they were sent before); a link without one gets a new token (one per link,
    the same in every text). Any other reference stays as it is: it opens nothing."""
    tokens = {
        str(link.public_id): recipient_link_token(link) or status_link_rekey(link=link)
        for link in message_links(notification, *texts)
    }

    def token(match: re.Match) -> str:
        public_id = match.group(2)
        return f"{match.group(1)}{tokens[public_id]}" if public_id in tokens else match.group(0)

    return [LINK_REFERENCE.sub(token, text) if text else text for text in texts]


def links_masked(text: str) -> str:
    """The text with every token and reference alike masked: a message the provider holds
    (with a token) compares equal to its stored text (with a reference)."""
    return LINK_REFERENCE.sub(r"\1*", TOKEN_IN_LINK.sub(r"\1*", text or ""))
