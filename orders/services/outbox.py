"""Writing outbox rows with a change, and delivering them to the registered handlers.

Every row gets one delivery row per handler registered for its topic, written with it (a topic
nobody wants is dispatched at once). Delivery is at least once, in three steps:
1. claim, in a short transaction: due deliveries (pending, due, no live lease) are locked with
   SKIP LOCKED, leased for OUTBOX_LEASE_SECONDS and their attempt counted; commit;
2. run each handler outside any transaction, holding no row lock (handlers do network I/O);
3. record, in another short transaction: delivered, or the error and the next attempt
   (exponential backoff with jitter), or dead after OUTBOX_MAX_ATTEMPTS; a row whose every
   delivery is done is marked dispatched.
A worker that dies leaves its leases to run out; the next claim (the wake-up task, the sweep)
takes them again, and a delivery whose last attempt died with its worker is dead. Dead
deliveries are counted in /health/ and delivered again from the admin (outbox_redeliver).
"""

import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from orders.models import DeliveryState, Order, OutboxDelivery, OutboxEvent
from orders.publication import handler_named, handlers_for


def outbox_publish(*, topic: str, order: Order | None, payload: dict) -> OutboxEvent:
    """Write the row and its deliveries in the caller's transaction; a task delivers them once
    that commits."""
    sequence = None
    if order is not None:
        sequence = order_sequence_next(order)
        payload = {**payload, "sequence": sequence}
    event = OutboxEvent(topic=topic, order=order, order_sequence=sequence, payload=payload)
    outbox_rows_create([event])
    return event


def outbox_rows_create(events: list[OutboxEvent]) -> None:
    """Insert outbox rows and their deliveries (one statement each), then have them delivered
    after commit. Rows of a topic no handler wants are dispatched as they are written."""
    now = timezone.now()
    for event in events:
        if not handlers_for(event.topic):
            event.dispatched_at = now
    OutboxEvent.objects.bulk_create(events)
    deliveries = [
        OutboxDelivery(event_id=event.pk, handler=registration.name, next_attempt_at=now)
        for event in events
        for registration in handlers_for(event.topic)
    ]
    OutboxDelivery.objects.bulk_create(deliveries)
    outbox_dispatch_after_commit(outbox_rows_to_deliver(events))


def outbox_rows_to_deliver(events: list[OutboxEvent]) -> list[int]:
    """Ids of the rows some handler wants (the others need no wake-up)."""
    return [event.pk for event in events if handlers_for(event.topic)]


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
    if not event_ids:
        return
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
    """Deliver due deliveries, oldest first, after clearing the wake-up key; a full chunk queues
    another task so that other workers help. Returns how many were taken."""
    from orders.tasks import outbox_dispatch_pending

    cache.delete(_wake_key())
    taken = _deliver(_claim(limit=limit))
    if taken == limit and cache.add(_wake_key(), 1, timeout=WAKE_SECONDS):
        outbox_dispatch_pending.delay()
    return taken


def _wake_key() -> str:
    # Runs that share one Redis (system tests, a benchmark) each have their own queue.
    return f"outbox-wake:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def outbox_deliver(*, event_id: int) -> bool:
    """Deliver one row to every handler that has not had it yet. True when nothing is left."""
    return outbox_deliver_many(event_ids=[event_id]) == 0


def outbox_deliver_many(*, event_ids: list[int]) -> int:
    """Deliver the due deliveries of these rows (those another worker holds are left to it).
    Returns how many of the rows still wait for a handler (retried later, or dead)."""
    if not event_ids:
        return 0
    _deliver(_claim(limit=None, event_ids=event_ids))
    return OutboxEvent.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).count()


def outbox_deliver_due(*, limit: int = 500, now: datetime | None = None) -> int:
    """The sweep: deliveries a lost wake-up left behind, due retries, and leases that ran out
    (their worker died). Returns how many were taken."""
    return _deliver(_claim(limit=limit, now=now))


def outbox_redeliver(*, delivery_ids: list[int]) -> int:
    """Deliver these again, from a first attempt (a person fixed what made them dead, or a
    receiver lost what it had). Returns how many were queued."""
    now = timezone.now()
    with transaction.atomic():
        deliveries = OutboxDelivery.objects.filter(pk__in=delivery_ids)
        event_ids = sorted(set(deliveries.values_list("event_id", flat=True)))
        count = deliveries.update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, leased_until=None, delivered_at=None
        )
        OutboxEvent.objects.filter(pk__in=event_ids).update(dispatched_at=None)
        if event_ids:
            outbox_dispatch_after_commit(event_ids)
    return count


def _claim(*, limit: int | None, event_ids: list[int] | None = None, now=None) -> list[OutboxDelivery]:
    """Lease due deliveries in a short transaction of their own and count the attempt. A
    delivery whose lease ran out on its last attempt (its worker died) is dead, not retried."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    due = OutboxDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    )
    if event_ids is not None:
        due = due.filter(event_id__in=event_ids)
    with transaction.atomic():
        found = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .order_by("next_attempt_at", "id")[:limit]
        )
        died = [d.pk for d in found if d.leased_until is not None and d.attempts >= settings.OUTBOX_MAX_ATTEMPTS]
        if died:
            OutboxDelivery.objects.filter(pk__in=died).update(
                state=DeliveryState.DEAD,
                leased_until=None,
                last_error="The worker delivering it stopped before it finished (its lease ran out).",
            )
        claimed = [d for d in found if d.pk not in set(died)]
        if claimed:
            OutboxDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                leased_until=lease, attempts=F("attempts") + 1
            )
    for delivery in claimed:
        delivery.leased_until = lease
        delivery.attempts += 1
    return claimed


def _deliver(claimed: list[OutboxDelivery]) -> int:
    """Run the handlers of claimed deliveries, outside any transaction, then record the results.
    Deliveries not started while most of their lease remains are handed back untried. A worker
    stopped inside a handler (a BaseException) still records what was done before it; that
    handler's delivery keeps its lease, which runs out, and is taken again."""
    if not claimed:
        return 0
    deadline = time.monotonic() + settings.OUTBOX_LEASE_SECONDS / 2
    delivered, failed, waiting = [], [], list(claimed)
    finished = False
    try:
        while waiting and time.monotonic() <= deadline:
            delivery = waiting[0]
            registration = handler_named(delivery.handler)
            try:
                if registration is None:
                    raise LookupError(f"no handler named {delivery.handler!r} is registered in this worker")
                registration.handler(delivery.event)
            except Exception as error:  # noqa: BLE001  (a handler's failure is recorded, then retried)
                delivery.last_error = f"{type(error).__name__}: {error}"
                failed.append(delivery)
            else:
                delivered.append(delivery)
            waiting.pop(0)
        finished = True
    finally:
        untried = waiting if finished else waiting[1:]
        _record(delivered=delivered, failed=failed, untried=untried)
    return len(claimed) - len(untried)


def _record(*, delivered: list[OutboxDelivery], failed: list[OutboxDelivery], untried: list[OutboxDelivery]) -> None:
    now = timezone.now()
    with transaction.atomic():
        if delivered:
            # A success counts even if the lease ran out meanwhile: the handler has the row.
            OutboxDelivery.objects.filter(pk__in=[d.pk for d in delivered], state=DeliveryState.PENDING).update(
                state=DeliveryState.DELIVERED, delivered_at=now, leased_until=None, last_error=""
            )
        for delivery in failed:
            dead = delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS
            # Only while the lease is still ours: another worker may have taken it over since.
            OutboxDelivery.objects.filter(pk=delivery.pk, leased_until=delivery.leased_until).update(
                state=DeliveryState.DEAD if dead else DeliveryState.PENDING,
                last_error=delivery.last_error,
                next_attempt_at=now if dead else now + _backoff(delivery.attempts),
                leased_until=None,
            )
        if untried:
            for lease in {d.leased_until for d in untried}:
                OutboxDelivery.objects.filter(
                    pk__in=[d.pk for d in untried if d.leased_until == lease], leased_until=lease
                ).update(leased_until=None, attempts=F("attempts") - 1)
        if delivered:
            undone = OutboxDelivery.objects.filter(event=OuterRef("pk")).exclude(state=DeliveryState.DELIVERED)
            OutboxEvent.objects.filter(
                ~Exists(undone), pk__in={d.event_id for d in delivered}, dispatched_at__isnull=True
            ).update(dispatched_at=now)


def _backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter (between half and all of the step), capped at one hour."""
    ceiling = min(3600, 5 * 2**attempts)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))
