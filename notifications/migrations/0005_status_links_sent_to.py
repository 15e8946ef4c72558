"""The links our messages sent before links recorded it (portal.StatusLink.sent_by_email_to and
sent_by_sms_to): read from the stored texts of the messages the provider took, which refer to
each link they carry (/s/[status-link:<public id>]/), so the portal's table says whom those links
went to. As notifications.links.message_links does, only a link our messages made for the
message's own recipients counts: a look-alike reference in a name or description is ignored."""

import contextlib
import re
import uuid

from django.db import migrations

REFERENCE = re.compile(r"/s/\[status-link:([0-9a-f-]{36})\](?=/)")
MASK = "•••"
SENT = ("queued", "sending", "sent", "delivered")  # taken by the provider (not failed, not unconfirmed)
BATCH = 500
TWO_DIGIT_COUNTRY_CODES = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "  # noqa: SIM905
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)


# Frozen copies of portal.services.links.masked_email and masked_phone as they were written.
def _masked_email(address: str) -> str:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return MASK
    name, dot, top_level = domain.rpartition(".")
    host = f"{name[:1]}{MASK}.{top_level}" if dot and name else f"{domain[:1]}{MASK}"
    return f"{local[:1]}{MASK}@{host}"[:254]


def _masked_phone(number: str) -> str:
    digits = "".join(character for character in number if character.isdigit())
    if len(digits) < 6:
        return MASK
    if not number.strip().startswith("+"):
        return f"{MASK}{digits[-2:]}"
    country = digits[:1] if digits[0] in "17" else digits[:2] if digits[:2] in TWO_DIGIT_COUNTRY_CODES else digits[:3]
    return f"+{country}{MASK}{digits[-2:]}"


def _public_ids(text: str) -> set[uuid.UUID]:
    found = set()
    for public_id in REFERENCE.findall(text or ""):
        with contextlib.suppress(ValueError):
            found.add(uuid.UUID(public_id))
    return found


def links_sent_to(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    RecipientLink = apps.get_model("notifications", "RecipientLink")
    StatusLink = apps.get_model("portal", "StatusLink")
    fields = {"email": ("sent_by_email_to", _masked_email), "sms": ("sent_by_sms_to", _masked_phone)}
    sent: dict[int, dict[str, str]] = {}  # link id -> field -> masked address (the latest message's)
    messages = (
        Notification.objects.filter(channel__in=list(fields), status__in=SENT, body__contains="[status-link:")
        .exclude(address="")
        .order_by("pk")
        .values_list("pk", "channel", "address", "body", "contact_id")
    )
    batch = []
    for message in messages.iterator(chunk_size=BATCH):
        batch.append(message)
        if len(batch) == BATCH:
            _read(batch, sent, fields, Notification, RecipientLink)
            batch = []
    _read(batch, sent, fields, Notification, RecipientLink)
    link_ids = sorted(sent)
    for start in range(0, len(link_ids), BATCH):
        links = list(
            StatusLink.objects.filter(pk__in=link_ids[start : start + BATCH]).only(
                "pk", "sent_by_email_to", "sent_by_sms_to"
            )
        )
        for link in links:
            for field, masked in sent[link.pk].items():
                setattr(link, field, masked)
        StatusLink.objects.bulk_update(links, ["sent_by_email_to", "sent_by_sms_to"])


def _read(batch, sent, fields, Notification, RecipientLink) -> None:
    """Note the links each message of `batch` carried that our messages made for its recipients
    (its contact, and those of the messages folded into it)."""
    if not batch:
        return
    pks = [pk for pk, *_rest in batch]
    contacts = {pk: {contact_id} for pk, _channel, _address, _body, contact_id in batch}
    folded = Notification.objects.filter(folded_into_id__in=pks, contact__isnull=False)
    for into, contact_id in folded.values_list("folded_into_id", "contact_id"):
        contacts[into].add(contact_id)
    referred = {pk: _public_ids(body) for pk, _channel, _address, body, _contact in batch}
    public_ids = set().union(*referred.values())
    if not public_ids:
        return
    made = {}  # public id -> (link id, recipient contact id)
    rows = RecipientLink.objects.filter(link__public_id__in=public_ids).values_list(
        "link__public_id", "link_id", "contact_id"
    )
    for public_id, link_id, contact_id in rows:
        made[public_id] = (link_id, contact_id)
    for pk, channel, address, _body, _contact in batch:
        field, masked = fields[channel]
        for public_id in referred[pk]:
            if public_id in made and made[public_id][1] in contacts[pk]:
                sent.setdefault(made[public_id][0], {})[field] = masked(address)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_delivery_log_entries_plural"),
        ("portal", "0004_status_link_expiry_change_and_sent_to"),
    ]

    operations = [migrations.RunPython(links_sent_to, migrations.RunPython.noop, elidable=True)]
