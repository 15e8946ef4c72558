"""Existing outbox rows get their delivery rows: one delivered row per name of `delivered_to`,
and, for a row not dispatched yet, a pending row for every other handler registered for its
topic now (the handlers the old delivery would have called next), dead when the row had used
up its attempts (the old code gave such rows up silently; now a person sees and redelivers
them). The registry is read as the running code has it: that is what will deliver the rows."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

CHUNK = 2000


def deliveries_from_lists(apps, schema_editor):
    from orders.publication import handlers_for

    OutboxEvent = apps.get_model("orders", "OutboxEvent")
    OutboxDelivery = apps.get_model("orders", "OutboxDelivery")
    now = timezone.now()
    batch = []
    fields = ("id", "topic", "created_at", "dispatched_at", "delivered_to", "attempts", "next_attempt_at", "last_error")
    for event in OutboxEvent.objects.only(*fields).order_by("id").iterator(chunk_size=CHUNK):
        done = list(dict.fromkeys(event.delivered_to or []))
        for name in done:
            batch.append(
                OutboxDelivery(
                    event_id=event.pk,
                    handler=name,
                    state="delivered",
                    attempts=max(event.attempts, 1),
                    next_attempt_at=event.created_at,
                    delivered_at=event.dispatched_at or event.created_at,
                )
            )
        if event.dispatched_at is None:
            used_up = event.attempts >= settings.OUTBOX_MAX_ATTEMPTS
            for registration in handlers_for(event.topic):
                if registration.name in done:
                    continue
                batch.append(
                    OutboxDelivery(
                        event_id=event.pk,
                        handler=registration.name,
                        state="dead" if used_up else "pending",
                        attempts=event.attempts,
                        last_error=event.last_error,
                        next_attempt_at=event.next_attempt_at or event.created_at or now,
                    )
                )
        if len(batch) >= CHUNK:
            OutboxDelivery.objects.bulk_create(batch)
            batch = []
    OutboxDelivery.objects.bulk_create(batch)


def lists_from_deliveries(apps, schema_editor):
    OutboxEvent = apps.get_model("orders", "OutboxEvent")
    OutboxDelivery = apps.get_model("orders", "OutboxDelivery")
    delivered: dict[int, list[str]] = {}
    for event_id, handler in OutboxDelivery.objects.filter(state="delivered").values_list("event_id", "handler"):
        delivered.setdefault(event_id, []).append(handler)
    for event_id, names in delivered.items():
        OutboxEvent.objects.filter(pk=event_id).update(delivered_to=names, attempts=1)


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_outbox_deliveries")]

    operations = [migrations.RunPython(deliveries_from_lists, lists_from_deliveries)]
