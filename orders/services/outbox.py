"""Writing outbox rows with a change, and delivering them to the registered handlers."""

import random
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Order, OutboxEvent
from orders.publication import handlers_for


def outbox_publish(*, topic: str, order: Order | None, payload: dict) -> OutboxEvent:
    """Write the row in the caller's transaction; a task delivers it once that commits."""
    sequence = None
    if order is not None:
        sequence = order_sequence_next(order)
        payload = {**payload, "sequence": sequence}
    event = OutboxEvent.objects.create(topic=topic, order=order, order_sequence=sequence, payload=payload)
    outbox_dispatch_after_commit([event.pk])
    return event


def order_sequence_next(order: Order) -> int:
    """The order's next outbox sequence number, counted in the database in one statement (it
    locks the order row until commit, so two publishers of one order cannot take the same)."""
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET outbox_sequence = outbox_sequence + 1 WHERE id = %s RETURNING outbox_sequence",
            [order.pk],
        )
        (order.outbox_sequence,) = cursor.fetchone()
    return order.outbox_sequence


WAKE_SECONDS = 5
PENDING_CHUNK = 200


def outbox_dispatch_after_commit(event_ids: list[int]) -> None:
    """Once the caller commits, have the rows delivered (robust: a broker that is down fails
    nobody's write; the sweep delivers what a lost wake-up left)."""
    transaction.on_commit(lambda: outbox_wake(event_ids), robust=True)


def outbox_wake(event_ids: list[int]) -> None:
    """Ask a worker to deliver. Tasks that run where they are sent deliver these rows at once.
    With a broker, one task is queued at a time for every pending row: a Redis key says one is
    queued, and the task clears it before it looks for rows. So a surge of changes costs one
    Redis round trip each, not one task each, and no committed row is missed (it committed
    before its writer found the key, so the task, which clears the key first, sees it)."""
    from celery import current_app

    from orders.tasks import outbox_dispatch_many, outbox_dispatch_pending

    if current_app.conf.task_always_eager:
        outbox_dispatch_many.delay(event_ids)
    elif cache.add(_wake_key(), 1, timeout=WAKE_SECONDS):
        outbox_dispatch_pending.delay()


def outbox_deliver_pending(*, limit: int = PENDING_CHUNK) -> int:
    """Deliver rows never tried yet, oldest first, after clearing the wake-up key; more than one
    chunk queues another task so that other workers help. Returns how many were taken."""
    from orders.tasks import outbox_dispatch_pending

    cache.delete(_wake_key())
    ids = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, next_attempt_at__isnull=True, attempts=0)
        .order_by("id")
        .values_list("id", flat=True)[: limit + 1]
    )
    if len(ids) > limit and cache.add(_wake_key(), 1, timeout=WAKE_SECONDS):
        outbox_dispatch_pending.delay()
    outbox_deliver_many(event_ids=ids[:limit])
    return len(ids[:limit])


def _wake_key() -> str:
    # Runs that share one Redis (system tests, a benchmark) each have their own queue.
    return f"outbox-wake:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def outbox_deliver(*, event_id: int) -> bool:
    """Deliver one row to every handler that has not had it yet. True when nothing is left."""
    return outbox_deliver_many(event_ids=[event_id]) == 0


def outbox_deliver_many(*, event_ids: list[int]) -> int:
    """Deliver rows to every handler that has not had them yet, in one transaction. Returns how
    many rows still wait (a handler failed: retried later with backoff).

    Rows are locked (skip_locked) so the after-commit task and the sweep never deliver one at
    the same time; each handler call has its own savepoint.
    """
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_ids, dispatched_at__isnull=True)
            .order_by("pk")
        )
        now = timezone.now()
        for event in events:
            _deliver(event, now=now)
        for event in events:
            event.save(update_fields=["delivered_to", "attempts", "last_error", "next_attempt_at", "dispatched_at"])
        return sum(1 for event in events if event.dispatched_at is None)


def _deliver(event: OutboxEvent, *, now) -> None:
    errors = []
    for registration in handlers_for(event.topic):
        if registration.name in event.delivered_to:
            continue
        try:
            with transaction.atomic():
                registration.handler(event)
        except Exception as error:  # noqa: BLE001  (a handler's failure is recorded, then retried)
            errors.append(f"{registration.name}: {type(error).__name__}: {error}")
        else:
            event.delivered_to.append(registration.name)
    event.attempts += 1
    if errors:
        event.last_error = "\n".join(errors)
        event.next_attempt_at = now + _backoff(event.attempts)
    else:
        event.dispatched_at = now
        event.last_error = ""


def outbox_pending_ids(*, limit: int = 500) -> list[int]:
    """Rows a lost task left behind, and rows whose retry time has come."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    return list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, attempts__lt=settings.OUTBOX_MAX_ATTEMPTS)
        .filter(
            # never tried and old enough that its own task is lost, or due for a retry
            Q(next_attempt_at__isnull=True, created_at__lte=stale_before) | Q(next_attempt_at__lte=now)
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def _backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped at one hour."""
    ceiling = min(3600, 5 * 2**attempts)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))
