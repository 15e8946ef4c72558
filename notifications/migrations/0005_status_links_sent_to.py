"""The links our messages sent before links recorded it (portal.StatusLink.sent_by_email_to and
sent_by_sms_to): read from the messages' stored texts, which refer to each link they carry
(/s/[status-link:<public id>]/), so the portal's table says whom those links went to."""

import re

from django.db import migrations

REFERENCE = re.compile(r"/s/\[status-link:([0-9a-f-]{36})\](?=/)")
MASK = "•••"


# Frozen copies of portal.services.links.masked_email and masked_phone as they were written.
def _masked_email(address: str) -> str:
    local, at, domain = address.strip().rpartition("@")
    return f"{local[:1]}{MASK}@{domain}"[:254] if at else MASK


def _masked_phone(number: str) -> str:
    digits = "".join(character for character in number if character.isdigit())
    if len(digits) < 6:
        return MASK
    return f"{'+' if number.strip().startswith('+') else ''}{digits[:2]}{MASK}{digits[-2:]}"


def links_sent_to(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    StatusLink = apps.get_model("portal", "StatusLink")
    fields = {"email": ("sent_by_email_to", _masked_email), "sms": ("sent_by_sms_to", _masked_phone)}
    sent: dict[str, dict[str, str]] = {}
    messages = (
        Notification.objects.filter(channel__in=list(fields), body__contains="[status-link:")
        .exclude(address="")
        .order_by("pk")
        .values_list("channel", "address", "body")
    )
    for channel, address, body in messages.iterator(chunk_size=2000):
        field, masked = fields[channel]
        for public_id in set(REFERENCE.findall(body)):
            sent.setdefault(public_id, {})[field] = masked(address)  # the latest message's address
    for public_id, values in sent.items():
        StatusLink.objects.filter(public_id=public_id).update(**values)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_delivery_log_entries_plural"),
        ("portal", "0004_status_link_expiry_change_and_sent_to"),
    ]

    operations = [migrations.RunPython(links_sent_to, migrations.RunPython.noop, elidable=True)]
