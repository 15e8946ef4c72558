"""One live status link per recipient, order, audience and purpose.

The rule: a message about an order gives its recipient (an order contact) the link an earlier
message gave them, as long as that link is live (neither revoked nor expired), speaks the same
language, and has at least half of its validity left (REUSE_WHILE_LEFT of the time from issue to
expiry). Otherwise a fresh link is issued, and the recipient's older message links for that order,
audience and purpose are revoked at once (the most recent points to its successor): a recipient
never holds more than one live link from us for one order. An old message's link then answers
410 with a way to ask for a fresh one, which is sent to the contact on file.

Links issued another way (by a person in the back office, by the portal's demo) are not the
recipient's and are left alone. The portal keeps only token hashes; the token of a message link is
kept here sealed (see _keystream), so the database alone still opens no link, and a token that no
longer unseals to its hash (SECRET_KEY changed) is simply replaced by a fresh link."""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import resolve
from django.utils import timezone

from notifications.models import RecipientLink
from orders.models import Order, OrderContact
from portal.models import StatusLink
from portal.services.links import status_link_issue, status_link_path, token_hash

REUSE_WHILE_LEFT = 0.5  # of a link's validity


def recipient_link_path(*, order: Order, contact: OrderContact, audience: str, purpose: str, language: str) -> str:
    """The relative URL (with its token) of `contact`'s link to `order` for `audience` and
    `purpose`: their live one when it has life enough left, else a fresh one (see the rule above)."""
    now = timezone.now()
    stored_language = language if language in dict(settings.LANGUAGES) else ""
    with transaction.atomic():
        # One message at a time decides for this recipient: two workers never both issue.
        list(OrderContact.objects.select_for_update().filter(pk=contact.pk).values_list("pk", flat=True))
        held = list(
            RecipientLink.objects.select_related("link")
            .filter(
                contact=contact,
                link__order=order,
                link__line__isnull=True,
                link__audience=audience,
                link__purpose=purpose,
                link__revoked_at__isnull=True,
                link__expires_at__gt=now,
            )
            .order_by("-link__issued_at", "-pk")
        )
        for row in held:
            if row.link.language == stored_language and _life_enough(row.link, now):
                token = _unsealed(row.link, row.sealed_token)
                if token_hash(token) == row.link.token_hash:
                    return status_link_path(token)
        issued = status_link_issue(order=order, audience=audience, purpose=purpose, language=language)
        token = resolve(issued.path).kwargs["token"]
        RecipientLink.objects.create(contact=contact, link=issued.link, sealed_token=_sealed(issued.link, token))
        for index, row in enumerate(held):
            row.link.revoked_at = now
            row.link.replaced_by = issued.link if index == 0 else None
            row.link.save(update_fields=["revoked_at", "replaced_by"])
    return issued.path


def recipient_link_token(link: StatusLink) -> str:
    """The token a recipient holds for `link` from an earlier message, or "" (not a message link,
    or its token was changed since)."""
    row = RecipientLink.objects.filter(link=link).first()
    token = _unsealed(link, row.sealed_token) if row else ""
    return token if token and token_hash(token) == link.token_hash else ""


def _life_enough(link: StatusLink, now) -> bool:
    validity = link.expires_at - link.issued_at
    return link.expires_at - now >= max(validity * REUSE_WHILE_LEFT, timedelta(0))


def _keystream(link: StatusLink, length: int) -> bytes:
    """HMAC-SHA256 of SECRET_KEY over the link's public id and a counter: a key used for this
    one link's token only (a one-time pad from a pseudorandom function)."""
    stream = b""
    counter = 0
    while len(stream) < length:
        message = f"notifications.recipient-link:{link.public_id}:{counter}".encode()
        stream += hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
        counter += 1
    return stream[:length]


def _sealed(link: StatusLink, token: str) -> str:
    raw = token.encode()
    return bytes(a ^ b for a, b in zip(raw, _keystream(link, len(raw)), strict=True)).hex()


def _unsealed(link: StatusLink, sealed: str) -> str:
    try:
        raw = bytes.fromhex(sealed)
        return bytes(a ^ b for a, b in zip(raw, _keystream(link, len(raw)), strict=True)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
